//! Rate-limit hits in the database, so every instance counts the same hits. Hits are kept per second
//! (one row per bucket, subject and second), which makes a sliding window exact to the second.

use super::{Database, DbError, on_pool};

impl Database {
    /// Counts one hit for `subject` in the second `at` (Unix seconds).
    pub async fn add_rate_limit_hit(&self, bucket: &str, subject: &str, at: i64) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO rate_limit_hits (bucket, subject, window_start, hits) VALUES ($1, $2, $3, 1)
             ON CONFLICT (bucket, subject, window_start) DO UPDATE SET hits = rate_limit_hits.hits + 1",
        )
        .bind(bucket)
        .bind(subject)
        .bind(at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// `subject`'s hits per second since `after` (exclusive), oldest first.
    pub async fn rate_limit_hits_since(
        &self,
        bucket: &str,
        subject: &str,
        after: i64,
    ) -> Result<Vec<(i64, i64)>, DbError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT window_start, hits FROM rate_limit_hits
             WHERE bucket = $1 AND subject = $2 AND window_start > $3
             ORDER BY window_start",
        )
        .bind(bucket)
        .bind(subject)
        .bind(after)
        .fetch_all(pool)
        .await)?)
    }
}
