//! Fixed-window counters in the database, so every instance counts the same hits.

use super::{Database, DbError};

impl Database {
    /// Adds one hit to `subject`'s counter in the window starting at `window_start`; returns the new count.
    pub async fn add_rate_limit_hit(&self, bucket: &str, subject: &str, window_start: i64) -> Result<i64, DbError> {
        let (hits,): (i64,) = sqlx::query_as(
            "INSERT INTO rate_limit_hits (bucket, subject, window_start, hits) VALUES (?, ?, ?, 1)
             ON CONFLICT (bucket, subject, window_start) DO UPDATE SET hits = hits + 1
             RETURNING hits",
        )
        .bind(bucket)
        .bind(subject)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await?;
        Ok(hits)
    }

    /// The hits counted so far for `subject` in the window starting at `window_start`.
    pub async fn rate_limit_hits(&self, bucket: &str, subject: &str, window_start: i64) -> Result<i64, DbError> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT hits FROM rate_limit_hits WHERE bucket = ? AND subject = ? AND window_start = ?",
        )
        .bind(bucket)
        .bind(subject)
        .bind(window_start)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.map_or(0, |(hits,)| hits))
    }
}
