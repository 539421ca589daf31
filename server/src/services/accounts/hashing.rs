//! argon2id password hashing, off the async runtime and behind a semaphore, so a flood of logins queues
//! for the hashing threads instead of starving every other request of CPU.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString, rand_core::OsRng},
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

/// OWASP's recommended argon2id parameters: 19 MiB of memory, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("password hashing failed: {0}")]
    Argon2(String),
    #[error("the hashing task did not finish")]
    Task(#[from] tokio::task::JoinError),
    #[error("the hashing pool is closed")]
    Closed,
}

/// The result of checking a password against a stored hash.
pub enum Verified {
    No,
    /// The password is right; `rehashed` is set when the stored hash used older parameters.
    Yes {
        rehashed: Option<String>,
    },
}

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified against when the email is unknown so that both paths
    /// do the same work and take the same time.
    decoy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("constant parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<String, HashingError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashingError::Argon2(e.to_string()))
}

fn verify_blocking(password: &str, stored: &str) -> Result<Verified, HashingError> {
    let parsed = PasswordHash::new(stored).map_err(|e| HashingError::Argon2(e.to_string()))?;
    if argon2().verify_password(password.as_bytes(), &parsed).is_err() {
        return Ok(Verified::No);
    }
    let current = Params::try_from(&parsed).ok();
    let up_to_date = parsed.algorithm.as_str() == Algorithm::Argon2id.ident().as_str()
        && current.is_some_and(|p| p.m_cost() == MEMORY_KIB && p.t_cost() == ITERATIONS && p.p_cost() == PARALLELISM);
    let rehashed = if up_to_date { None } else { Some(hash_blocking(password)?) };
    Ok(Verified::Yes { rehashed })
}

impl PasswordHasher {
    /// `concurrency` is how many hashes may run at once; the rest wait their turn.
    pub fn new(concurrency: usize) -> Result<Self, HashingError> {
        let decoy = SecretString::from(uuid::Uuid::new_v4().to_string());
        Ok(PasswordHasher {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            decoy_hash: hash_blocking(decoy.expose_secret())?.into(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, HashingError> + Send + 'static,
    ) -> Result<T, HashingError> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| HashingError::Closed)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await?
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, HashingError> {
        self.run(move || hash_blocking(password.expose_secret())).await
    }

    /// Checks `password` against `stored`, or against the decoy when there is no stored hash (unknown
    /// email), which always answers [`Verified::No`] after the same amount of work.
    pub async fn verify(&self, password: SecretString, stored: Option<String>) -> Result<Verified, HashingError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.decoy_hash.to_string());
        let verified = self.run(move || verify_blocking(password.expose_secret(), &hash)).await?;
        Ok(if known { verified } else { Verified::No })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let hasher = PasswordHasher::new(1).unwrap();
        let hash = hasher.hash("Correct horse 1".to_owned().into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(matches!(
            hasher.verify("Correct horse 1".to_owned().into(), Some(hash.clone())).await.unwrap(),
            Verified::Yes { rehashed: None }
        ));
        assert!(matches!(hasher.verify("wrong".to_owned().into(), Some(hash)).await.unwrap(), Verified::No));
    }

    #[tokio::test]
    async fn an_unknown_user_is_never_verified() {
        let hasher = PasswordHasher::new(1).unwrap();
        assert!(matches!(hasher.verify("anything".to_owned().into(), None).await.unwrap(), Verified::No));
    }

    #[tokio::test]
    async fn a_hash_with_old_parameters_is_upgraded_on_successful_verification() {
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).unwrap());
        let old = weak.hash_password(b"Legacy pass 1", &SaltString::generate(&mut OsRng)).unwrap().to_string();
        let hasher = PasswordHasher::new(1).unwrap();
        match hasher.verify("Legacy pass 1".to_owned().into(), Some(old)).await.unwrap() {
            Verified::Yes { rehashed: Some(new) } => assert!(new.contains("m=19456,t=2,p=1"), "{new}"),
            _ => panic!("expected a rehash"),
        }
    }
}
