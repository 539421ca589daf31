//! Access tokens from an identity provider the team already runs (Supabase, Better Auth), accepted beside
//! Parley's own when configured: HS256 with a shared secret, or RS256/ES256/EdDSA checked against the
//! provider's JWKS. Issuer, audience, expiry and not-before are always checked; the algorithm must be one
//! the key source allows (a JWKS never verifies an HMAC token, and a symmetric JWK is ignored).
//!
//! The JWKS is fetched on first use and cached. Verifying with a cached key never waits for a fetch: the
//! keys are read from a snapshot, and an old snapshot is refreshed in the background. A token naming an
//! unknown `kid` refetches the set (the provider rotated its keys), one fetch at a time and at most once
//! per [`REFETCH_INTERVAL`] for everyone, so tokens with made-up key ids can neither stall other users nor
//! turn Parley into a flood against the provider. Redirects are followed only on the JWKS URL's own host.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex as SyncMutex, RwLock},
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    jwk::{AlgorithmParameters, Jwk},
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::support::config::{ExternalKeys, ExternalTokensConfig};

/// Unknown key ids make Parley look again at most this often.
const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// A JWKS older than this is fetched again (in the background) on the next token.
const JWKS_MAX_AGE: Duration = Duration::from_secs(600);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The algorithms a JWKS may verify.
const ASYMMETRIC: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];
/// The longest subject kept (the column is part of a primary key; PostgreSQL indexes only so much).
pub const MAX_SUBJECT_CHARS: usize = 255;

/// Who a verified external token speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// Whether the provider says it checked that the person receives mail at `email`.
    pub email_verified: bool,
    /// When the provider issued the token (`iat`), if it says.
    pub issued_at: Option<i64>,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    /// Better Auth names the user here when `sub` is absent.
    #[serde(default, rename = "userId")]
    user_id: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// `true` (or, from some providers, `"true"`) only.
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    #[serde(default)]
    iat: Option<i64>,
}

pub struct ExternalTokens {
    issuer: String,
    audience: String,
    keys: Keys,
}

enum Keys {
    Secret(DecodingKey),
    Jwks(Arc<JwksCache>),
}

type KeySet = HashMap<String, (DecodingKey, Option<Algorithm>)>;

struct JwksCache {
    url: String,
    client: reqwest::Client,
    /// The keys as last fetched. Only ever locked to read or swap the snapshot, never across a fetch.
    snapshot: RwLock<Snapshot>,
    /// Held by the one fetch in flight; requests that need a fetch too wait for it and then look again.
    fetching: Mutex<()>,
    /// When the last refetch for an unknown key id started.
    last_refetch: SyncMutex<Option<Instant>>,
}

#[derive(Default)]
struct Snapshot {
    keys: Arc<KeySet>,
    fetched_at: Option<Instant>,
}

impl ExternalTokens {
    pub fn new(config: &ExternalTokensConfig) -> Self {
        let keys = match &config.keys {
            ExternalKeys::Secret(secret) => Keys::Secret(DecodingKey::from_secret(secret.expose_secret().as_bytes())),
            ExternalKeys::Jwks(url) => Keys::Jwks(Arc::new(JwksCache::new(url))),
        };
        ExternalTokens { issuer: config.issuer.clone(), audience: config.audience.clone(), keys }
    }

    /// The identity in a valid token of this provider, or `None` for anything refused.
    pub async fn verify(&self, token: &str) -> Option<ExternalIdentity> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let key = match &self.keys {
            Keys::Secret(key) if header.alg == Algorithm::HS256 => key.clone(),
            Keys::Secret(_) => return None,
            Keys::Jwks(cache) if ASYMMETRIC.contains(&header.alg) => {
                cache.key(header.kid.as_deref()?, header.alg).await?
            }
            Keys::Jwks(_) => return None,
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation).ok()?.claims;
        let subject = claims.sub.or(claims.user_id)?;
        if subject.trim().is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS {
            return None;
        }
        let email_verified = claims.email_verified.is_some_and(|v| {
            v == serde_json::Value::Bool(true) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
        });
        Some(ExternalIdentity {
            issuer: self.issuer.clone(),
            subject,
            email: claims.email,
            email_verified,
            issued_at: claims.iat,
        })
    }
}

impl JwksCache {
    fn new(url: &str) -> Self {
        let host = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned));
        // A redirect to another host could hand the keys that decide who people are to someone else.
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 3 || attempt.url().host_str() != host.as_deref() {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        JwksCache {
            url: url.to_owned(),
            client: reqwest::Client::builder().timeout(FETCH_TIMEOUT).redirect(redirects).build().unwrap_or_default(),
            snapshot: RwLock::new(Snapshot::default()),
            fetching: Mutex::new(()),
            last_refetch: SyncMutex::new(None),
        }
    }

    /// The key with this id for `alg`. A cached key answers at once (an old set is refreshed behind it);
    /// an unknown id waits for one fetch, if one may happen now.
    async fn key(self: &Arc<Self>, kid: &str, alg: Algorithm) -> Option<DecodingKey> {
        let (keys, fetched_at) = self.current();
        if let Some(found) = keys.get(kid) {
            if fetched_at.is_some_and(|at| at.elapsed() > JWKS_MAX_AGE) {
                let cache = Arc::clone(self);
                tokio::spawn(async move {
                    if let Ok(_only) = cache.fetching.try_lock() {
                        cache.fetch_and_store().await;
                    }
                });
            }
            return usable(found, alg);
        }
        let _only = self.fetching.lock().await;
        // Whoever held the lock may have fetched the key meanwhile.
        let (keys, fetched_at) = self.current();
        if let Some(found) = keys.get(kid) {
            return usable(found, alg);
        }
        // The very first fetch is not a refetch; after it, unknown ids are looked up at most once per interval.
        if fetched_at.is_some() && !self.may_refetch() {
            return None;
        }
        self.fetch_and_store().await;
        usable(self.current().0.get(kid)?, alg)
    }

    fn current(&self) -> (Arc<KeySet>, Option<Instant>) {
        let snapshot = self.snapshot.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        (Arc::clone(&snapshot.keys), snapshot.fetched_at)
    }

    fn may_refetch(&self) -> bool {
        let mut last = self.last_refetch.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// Fetches the set and swaps it in; a failed fetch keeps the old keys (and counts as fetched, so a
    /// provider that is down is not asked again on every token).
    async fn fetch_and_store(&self) {
        let fetched = self.fetch().await;
        let mut snapshot = self.snapshot.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        match fetched {
            Ok(keys) => snapshot.keys = Arc::new(keys),
            Err(error) => tracing::warn!(url = %self.url, %error, "could not fetch the identity provider's JWKS"),
        }
        snapshot.fetched_at = Some(Instant::now());
    }

    async fn fetch(&self) -> Result<KeySet, String> {
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

/// A key published for one algorithm verifies only that one.
fn usable((key, key_alg): &(DecodingKey, Option<Algorithm>), alg: Algorithm) -> Option<DecodingKey> {
    key_alg.is_none_or(|a| a == alg).then(|| key.clone())
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
        let mut not_yet = claims();
        not_yet["nbf"] = json!(crate::db::unix_now() + 3600);
        assert_eq!(provider.verify(&token(not_yet, Algorithm::HS256)).await, None, "nbf is honoured");
    }

    #[tokio::test]
    async fn the_subject_is_bounded_and_may_come_from_user_id() {
        let provider = provider();
        let mut long = claims();
        long["sub"] = json!("x".repeat(MAX_SUBJECT_CHARS + 1));
        assert_eq!(provider.verify(&token(long, Algorithm::HS256)).await, None);
        let mut longest = claims();
        longest["sub"] = json!("x".repeat(MAX_SUBJECT_CHARS));
        assert!(provider.verify(&token(longest, Algorithm::HS256)).await.is_some());
        let mut better_auth = claims();
        better_auth.as_object_mut().unwrap().remove("sub");
        better_auth["userId"] = json!("ba-user");
        assert_eq!(provider.verify(&token(better_auth, Algorithm::HS256)).await.unwrap().subject, "ba-user");
    }

    #[tokio::test]
    async fn an_email_counts_as_verified_only_when_the_token_says_so() {
        let provider = provider();
        assert!(!provider.verify(&token(claims(), Algorithm::HS256)).await.unwrap().email_verified);
        for (value, verified) in [(json!(true), true), (json!("true"), true), (json!(false), false), (json!(1), false)]
        {
            let mut with = claims();
            with["email_verified"] = value.clone();
            assert_eq!(
                provider.verify(&token(with, Algorithm::HS256)).await.unwrap().email_verified,
                verified,
                "{value}"
            );
        }
    }
}
