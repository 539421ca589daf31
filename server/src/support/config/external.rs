//! The identity-provider section: accepting another provider's access tokens (`PARLEY_EXTERNAL_JWT_*`).

use secrecy::SecretString;

use super::{accounts::MIN_SECRET_BYTES, reader::Reader};

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

/// `None` when no provider is configured. `own_secrets` are Parley's own, which the provider's must differ from.
pub(super) fn read(env: &mut Reader, own_secrets: [&str; 2]) -> Option<ExternalTokensConfig> {
    let (secret, jwks) = (env.get("PARLEY_EXTERNAL_JWT_SECRET"), env.get("PARLEY_EXTERNAL_JWKS_URL"));
    if secret.is_none() && jwks.is_none() {
        return None;
    }
    let keys = match (secret, jwks) {
        (Some(_), Some(_)) => {
            env.problem("set PARLEY_EXTERNAL_JWT_SECRET or PARLEY_EXTERNAL_JWKS_URL, not both");
            None
        }
        (Some(secret), None) if secret.len() < MIN_SECRET_BYTES => {
            env.problem(format!("PARLEY_EXTERNAL_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long"));
            None
        }
        // With Parley's own secret, whoever holds it could mint Parley tokens that survive a logout.
        (Some(secret), None) if own_secrets.contains(&secret.as_str()) => {
            env.problem("PARLEY_EXTERNAL_JWT_SECRET must differ from JWT_SECRET and SESSION_SECRET");
            None
        }
        (Some(secret), None) => Some(ExternalKeys::Secret(secret.into())),
        (None, Some(url)) => match jwks_url_problem(&url, env.production) {
            None => Some(ExternalKeys::Jwks(url)),
            Some(problem) => {
                env.problem(problem);
                None
            }
        },
        (None, None) => None,
    };
    let why = "needed to accept an identity provider's tokens";
    let issuer = env.required("PARLEY_EXTERNAL_JWT_ISSUER", why);
    let audience = env.required("PARLEY_EXTERNAL_JWT_AUDIENCE", why);
    keys.map(|keys| ExternalTokensConfig { issuer, audience, keys })
}

/// What is wrong with a JWKS URL, if anything: keys that verify who people are must come over TLS in
/// production, unless the provider runs on this machine (loopback).
pub(super) fn jwks_url_problem(url: &str, production: bool) -> Option<String> {
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
