//! Rate limits on authentication, counted in the database so every instance agrees.
//!
//! The windows slide: a request is judged by the hits of the last 60 seconds (or 15 minutes), not of
//! the current clock minute, so a burst that straddles a minute boundary cannot get twice the limit.

use crate::{
    db::{Database, DbError, unix_now},
    support::config::RateLimits,
};

const AUTH_PER_IP_WINDOW: i64 = 60;
const LOGIN_FAILURE_WINDOW: i64 = 15 * 60;
/// Verification links per user allowed per hour.
const MAIL_PER_HOUR: i64 = 5;
const MAIL_WINDOW: i64 = 3600;
/// Reset links per address: anyone may ask for anyone's address, so the window is short (a stranger can
/// hold the owner off for at most five minutes) while the mail one address receives stays bounded (at
/// most 36 an hour).
const RESET_PER_ADDRESS: i64 = 3;
const RESET_WINDOW: i64 = 5 * 60;
const SEARCH_WINDOW: i64 = 60;

/// Over the limit: try again after this many seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// The hits per second within one sliding window that ends now.
struct Window<'a> {
    /// `(second, hits)`, oldest first, all within the window.
    hits: &'a [(i64, i64)],
    now: i64,
    length: i64,
}

impl Window<'_> {
    fn total(&self) -> i64 {
        self.hits.iter().map(|&(_, hits)| hits).sum()
    }

    /// Seconds until old hits have slid out far enough that one more request fits under `limit`.
    fn retry_after(&self, limit: i64) -> RetryAfter {
        let mut remaining = self.total();
        for &(second, hits) in self.hits {
            remaining -= hits;
            if remaining < limit {
                // The hits of `second` leave the window when `now` reaches `second + length`.
                return RetryAfter((second + self.length - self.now).max(1) as u64);
            }
        }
        RetryAfter(self.length as u64)
    }
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

    /// Counts one auth request from `ip`; refuses it when the IP is over its limit. Refused requests
    /// count too, so a client that keeps hammering stays refused.
    pub async fn hit_auth_ip(&self, ip: &str) -> Result<Result<(), RetryAfter>, DbError> {
        self.hit("auth_ip", ip, i64::from(self.limits.auth_per_ip), AUTH_PER_IP_WINDOW).await
    }

    /// Refuses a login attempt for `email` once it has failed too often, without counting this attempt.
    pub async fn check_login_failures(&self, email: &str) -> Result<Result<(), RetryAfter>, DbError> {
        let now = unix_now();
        let hits = self.db.rate_limit_hits_since("login_failure", email, now - LOGIN_FAILURE_WINDOW).await?;
        let window = Window { hits: &hits, now, length: LOGIN_FAILURE_WINDOW };
        let limit = i64::from(self.limits.login_failures_per_email);
        Ok(if window.total() >= limit { Err(window.retry_after(limit)) } else { Ok(()) })
    }

    /// Counts one reset link asked for `email`, whether or not it has an account.
    pub async fn hit_reset_email(&self, email: &str) -> Result<Result<(), RetryAfter>, DbError> {
        self.hit("reset_email", email, RESET_PER_ADDRESS, RESET_WINDOW).await
    }

    /// Counts one search by a user.
    pub async fn hit_search(&self, user_id: uuid::Uuid) -> Result<Result<(), RetryAfter>, DbError> {
        self.hit("search_user", &user_id.to_string(), i64::from(self.limits.search_per_user), SEARCH_WINDOW).await
    }

    /// Counts one verification link sent for a user.
    pub async fn hit_mail_per_user(&self, user_id: uuid::Uuid) -> Result<Result<(), RetryAfter>, DbError> {
        self.hit("mail_user", &user_id.to_string(), MAIL_PER_HOUR, MAIL_WINDOW).await
    }

    /// Counts one hit for `subject` and refuses it when the window now holds more than `limit`.
    async fn hit(
        &self,
        bucket: &str,
        subject: &str,
        limit: i64,
        length: i64,
    ) -> Result<Result<(), RetryAfter>, DbError> {
        let now = unix_now();
        self.db.add_rate_limit_hit(bucket, subject, now).await?;
        let hits = self.db.rate_limit_hits_since(bucket, subject, now - length).await?;
        let window = Window { hits: &hits, now, length };
        Ok(if window.total() > limit { Err(window.retry_after(limit)) } else { Ok(()) })
    }

    pub async fn record_login_failure(&self, email: &str) -> Result<(), DbError> {
        self.db.add_rate_limit_hit("login_failure", email, unix_now()).await
    }
}

#[cfg(test)]
mod tests {
    use super::{RetryAfter, Window};

    #[test]
    fn retry_after_waits_until_enough_old_hits_have_slid_out() {
        // 3 hits at second 100, 2 at 130, 1 at 150; now 155, window 60, limit 3.
        let hits = [(100, 3), (130, 2), (150, 1)];
        let window = Window { hits: &hits, now: 155, length: 60 };
        assert_eq!(window.total(), 6);
        // Dropping second 100 leaves 3 (not under 3); dropping 130 too leaves 1: wait until 190.
        assert_eq!(window.retry_after(3), RetryAfter(35));
        // With a limit of 4, dropping second 100 is enough: wait until 160.
        assert_eq!(window.retry_after(4), RetryAfter(5));
    }

    #[test]
    fn a_burst_across_a_minute_boundary_is_one_window() {
        // 20 hits in the last second of one clock minute and 11 in the first of the next.
        let hits = [(119, 20), (120, 11)];
        let window = Window { hits: &hits, now: 120, length: 60 };
        assert_eq!(window.total(), 31);
        assert_eq!(window.retry_after(30), RetryAfter(59));
    }

    #[test]
    fn retry_after_is_at_least_one_second() {
        let hits = [(100, 5)];
        let window = Window { hits: &hits, now: 160, length: 60 };
        assert_eq!(window.retry_after(1), RetryAfter(1));
    }
}
