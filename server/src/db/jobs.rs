//! The durable job queue: rows every instance sees. One statement claims the next due job for a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so claimers never queue behind each other; SQLite's one writer
//! makes the same `UPDATE` atomic), so each job runs on one instance at a time; a job whose instance died
//! is claimed again when its lease runs out. Payloads are sealed like messages.

use uuid::Uuid;

use super::{Backend, Database, DbError, on_pool};

/// A claimed job: what to run, and how many attempts it has had (this one included).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub payload: String,
    pub attempts: i32,
    pub max_attempts: i32,
}

/// A job that gave up, as operators see it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FailedJob {
    pub id: Uuid,
    pub kind: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

pub(super) const INSERT_JOB: &str = "INSERT INTO jobs (id, kind, payload, max_attempts, run_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $5)";

macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = $1 + $2
             WHERE id = (SELECT id FROM jobs
                         WHERE (state = 'queued' AND run_at <= $1) OR (state = 'running' AND locked_until <= $1)
                         ORDER BY run_at, id LIMIT 1",
            $lock,
            ")
             RETURNING id, kind, payload, attempts, max_attempts"
        )
    };
}

/// Unix milliseconds: the queue's clock.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Database {
    /// Queues a job to run as soon as an instance is free.
    pub async fn enqueue_job(&self, kind: &str, payload: &str, max_attempts: i32) -> Result<Uuid, DbError> {
        let id = Uuid::now_v7();
        let sealed = self.at_rest().seal(payload);
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query(INSERT_JOB)
            .bind(id)
            .bind(kind)
            .bind(&sealed)
            .bind(max_attempts)
            .bind(now_millis())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(id)
    }

    /// Takes the next due job for `lease_millis`, if there is one.
    pub async fn claim_job(&self, lease_millis: i64) -> Result<Option<Job>, DbError> {
        let sql = match self.backend() {
            Backend::Sqlite => claim_sql!(""),
            Backend::Postgres => claim_sql!(" FOR UPDATE SKIP LOCKED"),
        };
        let _turn = self.write_turn().await?;
        let job = on_pool!(self, |pool| sqlx::query_as::<_, Job>(sql)
            .bind(now_millis())
            .bind(lease_millis)
            .fetch_optional(pool)
            .await)?;
        Ok(job.map(|job| Job { payload: self.at_rest().open(job.payload), ..job }))
    }

    /// The job is still running here: its lease runs `lease_millis` from now.
    pub async fn renew_job(&self, id: Uuid, lease_millis: i64) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query("UPDATE jobs SET locked_until = $2 WHERE id = $1 AND state = 'running'")
            .bind(id)
            .bind(now_millis() + lease_millis)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The job ran: it is gone.
    pub async fn complete_job(&self, id: Uuid) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The attempt failed: the job runs again at `run_at` (Unix milliseconds).
    pub async fn retry_job(&self, id: Uuid, error: &str, run_at: i64) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query(
            "UPDATE jobs SET state = 'queued', run_at = $2, locked_until = NULL, last_error = $3 WHERE id = $1"
        )
        .bind(id)
        .bind(run_at)
        .bind(error)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The job used up its attempts: it stays, `failed`, with its last error.
    pub async fn fail_job(&self, id: Uuid, error: &str) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query(
            "UPDATE jobs SET state = 'failed', locked_until = NULL, last_error = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(error)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The jobs that gave up, newest first.
    pub async fn failed_jobs(&self, limit: u32) -> Result<Vec<FailedJob>, DbError> {
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, FailedJob>(
            "SELECT id, kind, attempts, last_error FROM jobs WHERE state = 'failed' ORDER BY created_at DESC LIMIT $1"
        )
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await)?)
    }
}
