//! Rate limits on authentication, counted in the database so every instance agrees.

use crate::db::{unix_now, Database, DbError};

const AUTH_PER_IP_WINDOW: i64 = 60;
const LOGIN_FAILURE_WINDOW: i64 = 15 * 60;

#[derive(Clone, Copy, Debug)]
pub struct RateLimits {
    /// Auth requests (signup, login, refresh) per client IP per minute.
    pub auth_per_ip: u32,
    /// Failed logins per email per 15 minutes.
    pub login_failures_per_email: u32,
}

/// Over the limit: try again after this many seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

fn window(now: i64, length: i64) -> (i64, u64) {
    let start = now - now.rem_euclid(length);
    (start, (start + length - now).max(1) as u64)
}

#[derive(Clone)]
pub struct RateLimiter {
    db: Database,
    limits: RateLimits,
}

impl RateLimiter {
    pub fn new(db: Database, limits: RateLimits) -> Self {
        RateLimiter { db, limits }
    }

    /// Counts one auth request from `ip`; refuses it when the IP is over its limit.
    pub async fn hit_auth_ip(&self, ip: &str) -> Result<Result<(), RetryAfter>, DbError> {
        let (start, retry) = window(unix_now(), AUTH_PER_IP_WINDOW);
        let hits = self.db.add_rate_limit_hit("auth_ip", ip, start).await?;
        Ok(if hits > i64::from(self.limits.auth_per_ip) { Err(RetryAfter(retry)) } else { Ok(()) })
    }

    /// Refuses a login attempt for `email` once it has failed too often, without counting this attempt.
    pub async fn check_login_failures(&self, email: &str) -> Result<Result<(), RetryAfter>, DbError> {
        let (start, retry) = window(unix_now(), LOGIN_FAILURE_WINDOW);
        let hits = self.db.rate_limit_hits("login_failure", email, start).await?;
        Ok(if hits >= i64::from(self.limits.login_failures_per_email) { Err(RetryAfter(retry)) } else { Ok(()) })
    }

    pub async fn record_login_failure(&self, email: &str) -> Result<(), DbError> {
        let (start, _) = window(unix_now(), LOGIN_FAILURE_WINDOW);
        self.db.add_rate_limit_hit("login_failure", email, start).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::window;

    #[test]
    fn windows_are_aligned_and_retry_after_counts_to_their_end() {
        assert_eq!(window(120, 60), (120, 60));
        assert_eq!(window(179, 60), (120, 1));
        assert_eq!(window(150, 60), (120, 30));
    }
}
