//! Access tokens from an identity provider the team already runs (Supabase, Better Auth), accepted beside
//! Parley's own when configured: HS256 with a shared secret, or RS256/ES256/EdDSA checked against the
//! provider's JWKS. Issuer, audience and expiry are always checked; the algorithm must be one the key
//! source allows (a JWKS never verifies an HMAC token, and a symmetric JWK is ignored).
//!
//! The JWKS is fetched on first use and cached. A token naming an unknown `kid` refetches it (the provider
//! rotated its keys), all waiting requests sharing one fetch, and at most [`REFETCHES_PER_MINUTE`] times a
//! minute, so tokens with made-up key ids cannot turn Parley into a flood against the provider.

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

use jsonwebtoken::{
    jwk::{AlgorithmParameters, Jwk},
    Algorithm, DecodingKey, Validation,
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::{ExternalKeys, ExternalTokensConfig};

const REFETCHES_PER_MINUTE: usize = 10;
/// A JWKS older than this is fetched again on the next token, rotation or not.
const JWKS_MAX_AGE: Duration = Duration::from_secs(600);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The algorithms a JWKS may verify.
const ASYMMETRIC: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// Who a verified external token speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
}

pub struct ExternalTokens {
    issuer: String,
    audience: String,
    keys: Keys,
}

enum Keys {
    Secret(DecodingKey),
    Jwks(JwksCache),
}

struct JwksCache {
    url: String,
    client: reqwest::Client,
    /// Held while fetching, so concurrent requests with an unknown `kid` share one fetch.
    state: Mutex<JwksState>,
}

#[derive(Default)]
struct JwksState {
    keys: HashMap<String, (DecodingKey, Option<Algorithm>)>,
    fetched_at: Option<Instant>,
    recent_fetches: VecDeque<Instant>,
}

impl ExternalTokens {
    pub fn new(config: &ExternalTokensConfig) -> Self {
        let keys = match &config.keys {
            ExternalKeys::Secret(secret) => Keys::Secret(DecodingKey::from_secret(secret.expose_secret().as_bytes())),
            ExternalKeys::Jwks(url) => Keys::Jwks(JwksCache {
                url: url.clone(),
                client: reqwest::Client::builder().timeout(FETCH_TIMEOUT).build().unwrap_or_default(),
                state: Mutex::new(JwksState::default()),
            }),
        };
        ExternalTokens { issuer: config.issuer.clone(), audience: config.audience.clone(), keys }
    }

    /// The identity in a valid token of this provider, or `None` for anything refused.
    pub async fn verify(&self, token: &str) -> Option<ExternalIdentity> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let key = match &self.keys {
            Keys::Secret(key) if header.alg == Algorithm::HS256 => key.clone(),
            Keys::Secret(_) => return None,
            Keys::Jwks(cache) if ASYMMETRIC.contains(&header.alg) => cache.key(header.kid.as_deref()?, header.alg).await?,
            Keys::Jwks(_) => return None,
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation).ok()?.claims;
        if claims.sub.trim().is_empty() {
            return None;
        }
        Some(ExternalIdentity { issuer: self.issuer.clone(), subject: claims.sub, email: claims.email })
    }
}

impl JwksCache {
    /// The key with this id for `alg`, fetching the JWKS when it is unknown or the cache is old.
    async fn key(&self, kid: &str, alg: Algorithm) -> Option<DecodingKey> {
        let mut state = self.state.lock().await;
        let stale = state.fetched_at.is_none_or(|at| at.elapsed() > JWKS_MAX_AGE);
        if (stale || !state.keys.contains_key(kid)) && state.may_fetch() {
            match self.fetch().await {
                Ok(keys) => state.keys = keys,
                Err(error) => tracing::warn!(url = %self.url, %error, "could not fetch the identity provider's JWKS"),
            }
            state.fetched_at = Some(Instant::now());
        }
        let (key, key_alg) = state.keys.get(kid)?;
        // A key published for one algorithm verifies only that one.
        (key_alg.is_none_or(|a| a == alg)).then(|| key.clone())
    }

    async fn fetch(&self) -> Result<HashMap<String, (DecodingKey, Option<Algorithm>)>, String> {
        #[derive(Deserialize)]
        struct Set {
            keys: Vec<serde_json::Value>,
        }
        let response = self.client.get(&self.url).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let set: Set = response.json().await.map_err(|e| e.to_string())?;
        // Keys this library cannot read, and symmetric ones, are skipped rather than failing the whole set.
        Ok(set
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter(|jwk| !matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)))
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let alg = jwk.common.key_algorithm.and_then(|a| a.to_string().parse::<Algorithm>().ok());
                Some((kid, (DecodingKey::from_jwk(&jwk).ok()?, alg)))
            })
            .collect())
    }
}

impl JwksState {
    /// Counts a fetch if fewer than [`REFETCHES_PER_MINUTE`] happened in the last minute.
    fn may_fetch(&mut self) -> bool {
        let now = Instant::now();
        while self.recent_fetches.front().is_some_and(|at| now.duration_since(*at) > Duration::from_secs(60)) {
            self.recent_fetches.pop_front();
        }
        if self.recent_fetches.len() >= REFETCHES_PER_MINUTE {
            return false;
        }
        self.recent_fetches.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    fn provider() -> ExternalTokens {
        ExternalTokens::new(&ExternalTokensConfig {
            issuer: "https://example.supabase.co/auth/v1".to_owned(),
            audience: "authenticated".to_owned(),
            keys: ExternalKeys::Secret("s".repeat(32).into()),
        })
    }

    fn token(claims: serde_json::Value, alg: Algorithm) -> String {
        jsonwebtoken::encode(&Header::new(alg), &claims, &EncodingKey::from_secret("s".repeat(32).as_bytes())).unwrap()
    }

    fn claims() -> serde_json::Value {
        json!({"sub": "user-1", "email": "ada@example.com", "iss": "https://example.supabase.co/auth/v1",
               "aud": "authenticated", "exp": crate::db::unix_now() + 600})
    }

    #[tokio::test]
    async fn a_shared_secret_token_is_checked_for_issuer_audience_expiry_and_algorithm() {
        let provider = provider();
        let identity = provider.verify(&token(claims(), Algorithm::HS256)).await.expect("valid");
        assert_eq!(identity.subject, "user-1");
        assert_eq!(identity.email.as_deref(), Some("ada@example.com"));

        let mut wrong_issuer = claims();
        wrong_issuer["iss"] = json!("https://evil.example.com");
        assert_eq!(provider.verify(&token(wrong_issuer, Algorithm::HS256)).await, None);
        let mut wrong_audience = claims();
        wrong_audience["aud"] = json!("anon");
        assert_eq!(provider.verify(&token(wrong_audience, Algorithm::HS256)).await, None);
        let mut expired = claims();
        expired["exp"] = json!(crate::db::unix_now() - 3600);
        assert_eq!(provider.verify(&token(expired, Algorithm::HS256)).await, None);
        assert_eq!(provider.verify(&token(claims(), Algorithm::HS512)).await, None, "only HS256");
    }
}
