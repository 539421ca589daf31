//! All runtime configuration in one struct, read once at start from the environment.
//!
//! Development starts with no variables at all; production refuses to start unless every secret and the
//! database are given, and names every problem in one message so an operator fixes them in one go.

use std::{fmt, net::SocketAddr, path::Path, time::Duration};

use leptos::config::{Env, LeptosOptions};

use crate::{
    auth::{hashing::PasswordHasher, rate_limit::RateLimits},
    db::{DatabaseSettings, DbTarget},
    mail::{MailConfig, MailTransport},
};
use secrecy::{ExposeSecret, SecretString};

/// Secrets shorter than this are refused: HMAC keys need at least 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;
const DEV_DATABASE_URL: &str = "sqlite://data/parley.db";
const DEV_SECRETS_FILE: &str = "data/dev-secrets.env";
const DEV_OUTBOX: &str = "data/outbox";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured lines.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Clone)]
pub struct Config {
    pub environment: Environment,
    pub database_url: SecretString,
    pub listen_addr: SocketAddr,
    pub session_secret: SecretString,
    pub jwt_secret: SecretString,
    pub log_format: LogFormat,
    pub log_filter: String,
    /// How long `/health` waits for the database before answering 503.
    pub health_timeout: Duration,
    /// Where the built site (WASM, JS, CSS, public assets) is served from.
    pub site_root: String,
    /// The port `cargo leptos watch` listens on for live reload.
    pub reload_port: u32,
    pub rate_limits: RateLimits,
    /// Browser sessions end after this much inactivity.
    pub session_ttl_days: u32,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_proxy: bool,
    /// How many argon2 hashes may run at once.
    pub hashing_concurrency: usize,
    /// Request bodies larger than this get `413 payload_too_large`.
    pub max_body_bytes: usize,
    /// The database pool's size and time limits.
    pub database: DatabaseSettings,
    pub assistant: AssistantConfig,
    /// How email leaves (SMTP, or the development outbox folder) and whom it is from.
    pub mail: MailConfig,
    /// The address people reach Parley at, for the links in emails (no trailing slash).
    pub public_url: String,
    /// Origins whose pages may call the JSON API with bearer tokens (CORS); empty allows none.
    pub cors_origins: Vec<String>,
    /// Access tokens from an existing identity provider, when configured.
    pub external_tokens: Option<ExternalTokensConfig>,
}

/// An identity provider (Supabase, Better Auth) whose access tokens Parley accepts beside its own.
#[derive(Clone, Debug)]
pub struct ExternalTokensConfig {
    /// The `iss` its tokens carry.
    pub issuer: String,
    /// The `aud` its tokens must carry.
    pub audience: String,
    pub keys: ExternalKeys,
}

#[derive(Clone, Debug)]
pub enum ExternalKeys {
    /// HS256 with a shared secret (Supabase's legacy JWT secret).
    Secret(SecretString),
    /// RS256, ES256 or EdDSA, with the keys published at this JWKS URL.
    Jwks(String),
}

/// Which assistant answers, and how.
#[derive(Clone, Debug)]
pub enum AssistantConfig {
    /// The offline demo assistant, with this pause between streamed pieces.
    Demo { chunk_delay: Duration },
    /// An OpenAI-compatible server.
    OpenAi {
        base_url: String,
        api_key: Option<SecretString>,
        model: String,
        connect_timeout: Duration,
        idle_timeout: Duration,
        history_chars: usize,
    },
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets are `SecretString`, which prints as redacted; the database URL may hold a password too.
        f.debug_struct("Config")
            .field("environment", &self.environment)
            .field("database_url", &"<redacted>")
            .field("listen_addr", &self.listen_addr)
            .field("log_format", &self.log_format)
            .field("log_filter", &self.log_filter)
            .field("site_root", &self.site_root)
            .finish_non_exhaustive()
    }
}

/// Every problem found in the environment, reported together.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Config {
    /// Reads the process environment (and, in development, a `.env` file if there is one).
    pub fn from_env() -> Result<Self, ConfigError> {
        let is_production = std::env::var("PARLEY_ENV").is_ok_and(|v| v.trim() == "production");
        if !is_production {
            // A missing .env is normal; a malformed one should not stop development either.
            let _ = dotenvy::dotenv();
        }
        let mut config = Self::from_lookup(|key| std::env::var(key).ok())?;
        if config.environment == Environment::Development {
            config.fill_development_secrets();
        }
        Ok(config)
    }

    /// Builds the configuration from any key → value lookup, so tests never touch the process environment.
    /// Development secrets left empty here are filled in by [`Config::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| lookup(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut problems = Vec::new();

        let environment = match get("PARLEY_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                problems.push(format!("PARLEY_ENV must be `development` or `production`, not `{other}`"));
                Environment::Development
            }
        };
        let production = environment == Environment::Production;

        let database_url = match get("DATABASE_URL") {
            Some(url) => match DbTarget::parse(&url) {
                Ok(_) => url,
                Err(error) => {
                    problems.push(format!("DATABASE_URL: {error}"));
                    String::new()
                }
            },
            None if production => {
                problems.push("DATABASE_URL is missing".to_owned());
                String::new()
            }
            None => DEV_DATABASE_URL.to_owned(),
        };

        let listen_addr = match get("LEPTOS_SITE_ADDR").as_deref().unwrap_or("127.0.0.1:3000").parse() {
            Ok(addr) => addr,
            Err(_) => {
                problems.push("LEPTOS_SITE_ADDR must be an address like 127.0.0.1:3000".to_owned());
                SocketAddr::from(([127, 0, 0, 1], 3000))
            }
        };

        let mut secret = |key: &str| match get(key) {
            Some(value) if value.len() >= MIN_SECRET_BYTES => value,
            Some(_) => {
                problems.push(format!("{key} must be at least {MIN_SECRET_BYTES} bytes long"));
                String::new()
            }
            None if production => {
                problems.push(format!("{key} is missing (at least {MIN_SECRET_BYTES} bytes)"));
                String::new()
            }
            None => String::new(),
        };
        let session_secret = secret("SESSION_SECRET");
        let jwt_secret = secret("JWT_SECRET");

        let log_format = match get("PARLEY_LOG_FORMAT").as_deref() {
            None if production => LogFormat::Json,
            None => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                problems.push(format!("PARLEY_LOG_FORMAT must be `pretty` or `json`, not `{other}`"));
                LogFormat::Pretty
            }
        };

        let reload_port = match get("LEPTOS_RELOAD_PORT").as_deref().unwrap_or("3001").parse() {
            Ok(port) => port,
            Err(_) => {
                problems.push("LEPTOS_RELOAD_PORT must be a port number".to_owned());
                3001
            }
        };

        let mut number = |key: &str, default: u32, min: u32| match get(key) {
            None => default,
            Some(raw) => match raw.parse::<u32>() {
                Ok(value) if value >= min => value,
                _ => {
                    problems.push(format!("{key} must be a whole number of at least {min}"));
                    default
                }
            },
        };
        let rate_limits = RateLimits {
            auth_per_ip: number("PARLEY_RATE_LIMIT_AUTH_PER_IP", 30, 1),
            login_failures_per_email: number("PARLEY_RATE_LIMIT_LOGIN_FAILURES", 10, 1),
            search_per_user: number("PARLEY_RATE_LIMIT_SEARCH_PER_USER", 60, 1),
        };
        let session_ttl_days = number("PARLEY_SESSION_TTL_DAYS", 14, 1);
        let connect_timeout = Duration::from_secs(u64::from(number("ASSISTANT_CONNECT_TIMEOUT_SECS", 10, 1)));
        let idle_timeout = Duration::from_secs(u64::from(number("ASSISTANT_IDLE_TIMEOUT_SECS", 60, 1)));
        let history_chars = number("ASSISTANT_HISTORY_CHARS", 24_000, 1) as usize;
        let chunk_delay = Duration::from_millis(u64::from(number("PARLEY_DEMO_CHUNK_DELAY_MS", 30, 0)));
        let hashing_concurrency =
            number("PARLEY_HASHING_CONCURRENCY", PasswordHasher::default_concurrency() as u32, 1) as usize;
        let max_body_bytes = number("PARLEY_MAX_BODY_BYTES", 64 * 1024, 1024) as usize;
        let defaults = DatabaseSettings::default();
        let millis = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
        let database = DatabaseSettings {
            max_connections: number("PARLEY_DB_MAX_CONNECTIONS", defaults.max_connections, 1),
            acquire_timeout: Duration::from_millis(u64::from(number(
                "PARLEY_DB_ACQUIRE_TIMEOUT_MS",
                millis(defaults.acquire_timeout),
                100,
            ))),
            statement_timeout: Duration::from_millis(u64::from(number(
                "PARLEY_DB_STATEMENT_TIMEOUT_MS",
                millis(defaults.statement_timeout),
                100,
            ))),
            connect_retry: Duration::from_secs(u64::from(number(
                "PARLEY_DB_CONNECT_RETRY_SECS",
                defaults.connect_retry.as_secs() as u32,
                0,
            ))),
        };
        let trust_proxy = match get("PARLEY_TRUST_PROXY").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                problems.push("PARLEY_TRUST_PROXY must be `true` or `false`".to_owned());
                false
            }
        };

        let assistant = match get("ASSISTANT_BASE_URL") {
            None => AssistantConfig::Demo { chunk_delay },
            Some(base_url) => {
                if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
                    problems.push("ASSISTANT_BASE_URL must be an http:// or https:// URL".to_owned());
                }
                let model = get("ASSISTANT_MODEL").unwrap_or_else(|| {
                    problems.push("ASSISTANT_MODEL is missing (needed with ASSISTANT_BASE_URL)".to_owned());
                    String::new()
                });
                AssistantConfig::OpenAi {
                    base_url,
                    api_key: get("ASSISTANT_API_KEY").map(SecretString::from),
                    model,
                    connect_timeout,
                    idle_timeout,
                    history_chars,
                }
            }
        };

        let mail = MailConfig {
            from: match get("PARLEY_MAIL_FROM") {
                Some(from) => from,
                None if production => {
                    problems.push("PARLEY_MAIL_FROM is missing (the sender of account emails)".to_owned());
                    String::new()
                }
                None => "Parley <parley@localhost>".to_owned(),
            },
            transport: match get("PARLEY_SMTP_URL") {
                Some(url) if url.starts_with("smtp://") || url.starts_with("smtps://") => {
                    MailTransport::Smtp(url.into())
                }
                Some(_) => {
                    problems.push("PARLEY_SMTP_URL must be an smtp:// or smtps:// URL".to_owned());
                    MailTransport::Outbox(DEV_OUTBOX.into())
                }
                // A folder instead of a mail server, also in production when chosen explicitly (a relay
                // that picks the files up, or a test harness reading them).
                None => match get("PARLEY_MAIL_OUTBOX") {
                    Some(dir) => MailTransport::Outbox(dir.into()),
                    None if production => {
                        problems.push(
                            "PARLEY_SMTP_URL is missing (the mail server for account emails; or PARLEY_MAIL_OUTBOX, a folder for them)"
                                .to_owned(),
                        );
                        MailTransport::Outbox(DEV_OUTBOX.into())
                    }
                    None => MailTransport::Outbox(DEV_OUTBOX.into()),
                },
            },
        };
        let public_url = match get("PARLEY_PUBLIC_URL") {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                url.trim_end_matches('/').to_owned()
            }
            Some(_) => {
                problems.push("PARLEY_PUBLIC_URL must be an http:// or https:// URL".to_owned());
                String::new()
            }
            None => format!("http://{listen_addr}"),
        };
        let cors_origins = get("PARLEY_CORS_ORIGINS")
            .map(|list| {
                list.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                    .filter(|o| !o.is_empty())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for origin in &cors_origins {
            let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
                && url::Url::parse(origin).is_ok_and(|u| u.path() == "/" && u.query().is_none());
            if !valid {
                problems.push(format!("PARLEY_CORS_ORIGINS: `{origin}` is not an origin like https://app.example.com"));
            }
        }
        let external_tokens = match (get("PARLEY_EXTERNAL_JWT_SECRET"), get("PARLEY_EXTERNAL_JWKS_URL")) {
            (None, None) => None,
            (secret, jwks) => {
                let keys = match (secret, jwks) {
                    (Some(_), Some(_)) => {
                        problems
                            .push("set PARLEY_EXTERNAL_JWT_SECRET or PARLEY_EXTERNAL_JWKS_URL, not both".to_owned());
                        None
                    }
                    (Some(secret), None) if secret.len() < MIN_SECRET_BYTES => {
                        problems
                            .push(format!("PARLEY_EXTERNAL_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long"));
                        None
                    }
                    // With Parley's own secret, whoever holds it could mint Parley tokens that survive a logout.
                    (Some(secret), None) if secret == jwt_secret || secret == session_secret => {
                        problems.push(
                            "PARLEY_EXTERNAL_JWT_SECRET must differ from JWT_SECRET and SESSION_SECRET".to_owned(),
                        );
                        None
                    }
                    (Some(secret), None) => Some(ExternalKeys::Secret(secret.into())),
                    (None, Some(url)) => match jwks_url_problem(&url, production) {
                        None => Some(ExternalKeys::Jwks(url)),
                        Some(problem) => {
                            problems.push(problem);
                            None
                        }
                    },
                    (None, None) => None,
                };
                let mut required = |key: &str| {
                    get(key).unwrap_or_else(|| {
                        problems.push(format!("{key} is missing (needed to accept an identity provider's tokens)"));
                        String::new()
                    })
                };
                let issuer = required("PARLEY_EXTERNAL_JWT_ISSUER");
                let audience = required("PARLEY_EXTERNAL_JWT_AUDIENCE");
                keys.map(|keys| ExternalTokensConfig { issuer, audience, keys })
            }
        };

        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config {
            environment,
            database_url: database_url.into(),
            listen_addr,
            session_secret: session_secret.into(),
            jwt_secret: jwt_secret.into(),
            log_format,
            log_filter: get("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
            health_timeout: Duration::from_millis(800),
            site_root: get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".to_owned()),
            reload_port,
            rate_limits,
            session_ttl_days,
            trust_proxy,
            hashing_concurrency,
            max_body_bytes,
            database,
            assistant,
            mail,
            public_url,
            cors_origins,
            external_tokens,
        })
    }

    /// The options Leptos needs to render pages and link the hydration scripts.
    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    pub fn leptos_options(&self) -> LeptosOptions {
        LeptosOptions::builder()
            .output_name("parley")
            .site_root(self.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(self.listen_addr)
            .reload_port(self.reload_port)
            .env(match self.environment {
                Environment::Development => Env::DEV,
                Environment::Production => Env::PROD,
            })
            .build()
    }

    /// In development, unset secrets come from `data/dev-secrets.env`, generated on first use, so that a
    /// restart (or `cargo leptos watch` rebuilding) keeps everyone signed in.
    fn fill_development_secrets(&mut self) {
        if !self.session_secret.expose_secret().is_empty() && !self.jwt_secret.expose_secret().is_empty() {
            return;
        }
        let stored = load_or_create_dev_secrets(Path::new(DEV_SECRETS_FILE));
        if self.session_secret.expose_secret().is_empty() {
            self.session_secret = stored.0.into();
        }
        if self.jwt_secret.expose_secret().is_empty() {
            self.jwt_secret = stored.1.into();
        }
    }
}

/// What is wrong with a JWKS URL, if anything: keys that verify who people are must come over TLS in
/// production, unless the provider runs on this machine (loopback).
fn jwks_url_problem(url: &str, production: bool) -> Option<String> {
    let parsed = url::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    let Some(parsed) = parsed else {
        return Some("PARLEY_EXTERNAL_JWKS_URL must be an http:// or https:// URL".to_owned());
    };
    let loopback = match parsed.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    (production && parsed.scheme() != "https" && !loopback)
        .then(|| "PARLEY_EXTERNAL_JWKS_URL must be an https:// URL in production (http:// only on loopback)".to_owned())
}

fn load_or_create_dev_secrets(path: &Path) -> (String, String) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config_from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|key| vars.get(key).cloned())
    }

    const GOOD_SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_jwks_must_come_over_tls_in_production_unless_on_loopback() {
        assert_eq!(jwks_url_problem("http://idp.example.com/jwks", false), None);
        assert!(jwks_url_problem("http://idp.example.com/jwks", true).is_some());
        assert_eq!(jwks_url_problem("https://idp.example.com/jwks", true), None);
        for loopback in ["http://127.0.0.1:9/jwks", "http://localhost:9/jwks", "http://[::1]:9/jwks"] {
            assert_eq!(jwks_url_problem(loopback, true), None, "{loopback}");
        }
        assert!(jwks_url_problem("ftp://idp.example.com/jwks", false).is_some());
        assert!(jwks_url_problem("not a url", false).is_some());
    }

    #[test]
    fn development_starts_with_nothing_set() {
        let config = config_from(&[]).expect("development needs no variables");
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.database_url.expose_secret(), DEV_DATABASE_URL);
        assert_eq!(config.listen_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.log_format, LogFormat::Pretty);
    }

    #[test]
    fn production_with_nothing_set_names_every_missing_variable() {
        let error = config_from(&[("PARLEY_ENV", "production")]).expect_err("must refuse");
        let message = error.to_string();
        for variable in ["DATABASE_URL", "SESSION_SECRET", "JWT_SECRET", "PARLEY_SMTP_URL", "PARLEY_MAIL_FROM"] {
            assert!(message.contains(variable), "{variable} not named in: {message}");
        }
        assert_eq!(error.problems.len(), 5, "{message}");
    }

    #[test]
    fn production_refuses_short_secrets() {
        let error = config_from(&[
            ("PARLEY_ENV", "production"),
            ("DATABASE_URL", "sqlite://prod.db"),
            ("SESSION_SECRET", "too-short"),
            ("JWT_SECRET", GOOD_SECRET),
            ("PARLEY_SMTP_URL", "smtp://mail.internal:587"),
            ("PARLEY_MAIL_FROM", "Parley <noreply@example.com>"),
        ])
        .expect_err("a short secret must be refused");
        assert_eq!(error.problems, vec!["SESSION_SECRET must be at least 32 bytes long"]);
    }

    #[test]
    fn production_with_everything_set_uses_json_logs() {
        let config = config_from(&[
            ("PARLEY_ENV", "production"),
            ("DATABASE_URL", "sqlite://prod.db"),
            ("SESSION_SECRET", GOOD_SECRET),
            ("JWT_SECRET", GOOD_SECRET),
            ("LEPTOS_SITE_ADDR", "0.0.0.0:8080"),
            ("PARLEY_SMTP_URL", "smtps://user:pass@mail.example.com:465"),
            ("PARLEY_MAIL_FROM", "Parley <noreply@example.com>"),
        ])
        .expect("complete production configuration");
        assert!(matches!(config.mail.transport, MailTransport::Smtp(_)));
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.listen_addr.to_string(), "0.0.0.0:8080");
    }

    #[test]
    fn malformed_values_are_named() {
        let error = config_from(&[
            ("PARLEY_ENV", "staging"),
            ("DATABASE_URL", "mysql://x"),
            ("LEPTOS_SITE_ADDR", "not an address"),
        ])
        .expect_err("malformed values");
        let message = error.to_string();
        for fragment in ["PARLEY_ENV", "DATABASE_URL", "LEPTOS_SITE_ADDR"] {
            assert!(message.contains(fragment), "{fragment} not named in: {message}");
        }
    }

    #[test]
    fn database_limits_have_defaults_and_can_be_set() {
        let config = config_from(&[]).expect("defaults");
        assert_eq!(config.database, DatabaseSettings::default());
        let config = config_from(&[
            ("PARLEY_DB_MAX_CONNECTIONS", "25"),
            ("PARLEY_DB_ACQUIRE_TIMEOUT_MS", "1500"),
            ("PARLEY_DB_STATEMENT_TIMEOUT_MS", "20000"),
            ("PARLEY_DB_CONNECT_RETRY_SECS", "0"),
        ])
        .expect("valid limits");
        assert_eq!(config.database.max_connections, 25);
        assert_eq!(config.database.acquire_timeout, Duration::from_millis(1500));
        assert_eq!(config.database.statement_timeout, Duration::from_secs(20));
        assert_eq!(config.database.connect_retry, Duration::ZERO);
        let error = config_from(&[("PARLEY_DB_MAX_CONNECTIONS", "0"), ("PARLEY_DB_ACQUIRE_TIMEOUT_MS", "soon")])
            .expect_err("invalid limits");
        assert_eq!(error.problems.len(), 2, "{error}");
    }

    #[test]
    fn a_postgres_url_is_accepted_and_a_malformed_one_is_named_without_its_password() {
        let config = config_from(&[("DATABASE_URL", "postgres://parley:hunter2@db.internal:5432/parley")])
            .expect("a PostgreSQL URL is a valid DATABASE_URL");
        assert!(config.database_url.expose_secret().starts_with("postgres://"));
        let error = config_from(&[("DATABASE_URL", "postgres://parley:hunter2@db.internal:port/parley")])
            .expect_err("malformed");
        let message = error.to_string();
        assert!(message.contains("DATABASE_URL") && !message.contains("hunter2"), "{message}");
    }

    #[test]
    fn development_mail_goes_to_the_outbox_and_cors_allows_nothing_by_default() {
        let config = config_from(&[]).expect("defaults");
        assert!(matches!(&config.mail.transport, MailTransport::Outbox(dir) if dir.ends_with("outbox")));
        assert!(config.cors_origins.is_empty());
        assert!(config.external_tokens.is_none());
        assert_eq!(config.public_url, "http://127.0.0.1:3000");
        let config = config_from(&[("PARLEY_CORS_ORIGINS", "https://a.example.com, http://localhost:5173/")]).unwrap();
        assert_eq!(config.cors_origins, ["https://a.example.com", "http://localhost:5173"]);
        let error = config_from(&[("PARLEY_CORS_ORIGINS", "*,https://x.example.com/path")]).expect_err("not origins");
        assert_eq!(error.problems.len(), 2, "{error}");
    }

    #[test]
    fn an_identity_provider_needs_its_issuer_and_audience() {
        let error = config_from(&[("PARLEY_EXTERNAL_JWKS_URL", "http://127.0.0.1:9/jwks")]).expect_err("incomplete");
        let message = error.to_string();
        assert!(
            message.contains("PARLEY_EXTERNAL_JWT_ISSUER") && message.contains("PARLEY_EXTERNAL_JWT_AUDIENCE"),
            "{message}"
        );
        let config = config_from(&[
            ("PARLEY_EXTERNAL_JWT_SECRET", GOOD_SECRET),
            ("PARLEY_EXTERNAL_JWT_ISSUER", "https://project.supabase.co/auth/v1"),
            ("PARLEY_EXTERNAL_JWT_AUDIENCE", "authenticated"),
        ])
        .unwrap();
        assert!(matches!(config.external_tokens, Some(ExternalTokensConfig { keys: ExternalKeys::Secret(_), .. })));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let config = config_from(&[("SESSION_SECRET", GOOD_SECRET), ("JWT_SECRET", GOOD_SECRET)]).expect("valid");
        assert!(!format!("{config:?}").contains(GOOD_SECRET));
    }
}
