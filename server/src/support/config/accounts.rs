//! The accounts section: the secrets that sign sessions and tokens, the rate limits, sessions' lifetime,
//! password hashing, and whom to believe about a client's address.

use super::reader::Reader;

/// Secrets shorter than this are refused: HMAC keys need at least 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone, Copy, Debug)]
pub struct RateLimits {
    /// Auth requests (signup, login, refresh) per client IP per minute.
    pub auth_per_ip: u32,
    /// Failed logins per email per 15 minutes.
    pub login_failures_per_email: u32,
    /// Searches per user per minute (each one reads the user's whole index).
    pub search_per_user: u32,
}

pub(super) struct Accounts {
    pub session_secret: String,
    pub jwt_secret: String,
    pub rate_limits: RateLimits,
    pub session_ttl_days: u32,
    pub hashing_concurrency: usize,
    pub trust_proxy: bool,
}

/// Argon2 hashes at once by default: every core but one, so that hashing never starves the server.
pub fn default_hashing_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

pub(super) fn read(env: &mut Reader) -> Accounts {
    let mut secret = |key: &str| match env.get(key) {
        Some(value) if value.len() >= MIN_SECRET_BYTES => value,
        Some(_) => {
            env.problem(format!("{key} must be at least {MIN_SECRET_BYTES} bytes long"));
            String::new()
        }
        None if env.production => {
            env.problem(format!("{key} is missing (at least {MIN_SECRET_BYTES} bytes)"));
            String::new()
        }
        None => String::new(),
    };
    let session_secret = secret("SESSION_SECRET");
    let jwt_secret = secret("JWT_SECRET");
    let rate_limits = RateLimits {
        auth_per_ip: env.number("PARLEY_RATE_LIMIT_AUTH_PER_IP", 30, 1),
        login_failures_per_email: env.number("PARLEY_RATE_LIMIT_LOGIN_FAILURES", 10, 1),
        search_per_user: env.number("PARLEY_RATE_LIMIT_SEARCH_PER_USER", 60, 1),
    };
    let session_ttl_days = env.number("PARLEY_SESSION_TTL_DAYS", 14, 1);
    let hashing_concurrency =
        env.number("PARLEY_HASHING_CONCURRENCY", default_hashing_concurrency() as u32, 1) as usize;
    let trust_proxy = match env.get("PARLEY_TRUST_PROXY").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            env.problem("PARLEY_TRUST_PROXY must be `true` or `false`");
            false
        }
    };
    Accounts { session_secret, jwt_secret, rate_limits, session_ttl_days, hashing_concurrency, trust_proxy }
}

/// Development secrets, kept in a file so that a restart (or `cargo leptos watch` rebuilding) keeps
/// everyone signed in.
pub(super) fn load_or_create_dev_secrets(path: &std::path::Path) -> (String, String) {
    let parse = |text: &str, key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
            .filter(|v| v.len() >= MIN_SECRET_BYTES)
    };
    if let Ok(text) = std::fs::read_to_string(path)
        && let (Some(session), Some(jwt)) = (parse(&text, "SESSION_SECRET"), parse(&text, "JWT_SECRET"))
    {
        return (session, jwt);
    }
    let (session, jwt) = (random_secret(), random_secret());
    // Failing to persist only costs sessions at the next restart; development must still start.
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(path, format!("SESSION_SECRET={session}\nJWT_SECRET={jwt}\n"));
    (session, jwt)
}

fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
