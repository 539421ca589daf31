//! Access tokens (JWT, HS256 pinned, 15 minutes) and refresh tokens (256 random bits, stored as a hash).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::{NewRefreshToken, unix_now};

pub const ISSUER: &str = "parley";
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
pub const REFRESH_TOKEN_SECONDS: i64 = 30 * 24 * 3600;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// The API login (refresh-token family) this token was issued for, so logout can end it at once.
    /// Every token Parley issues has one; API.md documents only `sub`, `iat`, `exp` and `iss`, so a token
    /// signed with `JWT_SECRET` without it is still honoured (for its user, until it expires).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

/// Who an access token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessGrant {
    pub user_id: Uuid,
    /// `None` only for a token minted elsewhere with the documented claims alone.
    pub login_id: Option<Uuid>,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &SecretString) -> Self {
        // Only HS256 is accepted; `alg: none` and every other algorithm fail before the signature is read.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 0;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret.expose_secret().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose_secret().as_bytes()),
            validation,
        }
    }

    pub fn issue_access_token(&self, grant: AccessGrant) -> Result<String, jsonwebtoken::errors::Error> {
        let now = unix_now();
        let claims = Claims {
            sub: grant.user_id.to_string(),
            sid: grant.login_id.map(|id| id.to_string()),
            iat: now,
            exp: now + ACCESS_TOKEN_SECONDS,
            iss: ISSUER.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The grant in a valid token, or `None` for anything refused (bad signature, algorithm, issuer,
    /// expiry, or a subject that is not a user id).
    pub fn verify_access_token(&self, token: &str) -> Option<AccessGrant> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?.claims;
        let login_id = match claims.sid {
            Some(sid) => Some(sid.parse().ok()?),
            None => None,
        };
        Some(AccessGrant { user_id: claims.sub.parse().ok()?, login_id })
    }
}

/// A fresh refresh token: what the client gets, and what the database keeps.
pub fn new_refresh_token() -> (SecretString, NewRefreshToken) {
    let token = random_token();
    let stored = NewRefreshToken { hash: hash_refresh_token(&token), expires_at: unix_now() + REFRESH_TOKEN_SECONDS };
    (token.into(), stored)
}

/// 256 random bits as unpadded base64url (43 characters): refresh tokens and the links sent by email.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Refresh tokens carry 256 bits of entropy, so a fast hash is enough: nobody can brute-force the input.
pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&SecretString::from("k".repeat(32)))
    }

    fn grant() -> AccessGrant {
        AccessGrant { user_id: Uuid::now_v7(), login_id: Some(Uuid::now_v7()) }
    }

    #[test]
    fn an_issued_token_verifies_to_its_grant() {
        let grant = grant();
        let token = keys().issue_access_token(grant).unwrap();
        assert_eq!(keys().verify_access_token(&token), Some(grant));
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, stored_a) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 43, "256 bits in unpadded base64url");
        assert_eq!(stored_a.hash, hash_refresh_token(a.expose_secret()));
        assert_ne!(stored_a.hash, a.expose_secret().as_bytes());
    }
}
