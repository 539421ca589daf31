//! The background worker: every instance runs one, claiming due jobs from the database queue
//! (`db::jobs`) and running each with the handler registered for its kind. A job that fails is retried with
//! exponential backoff (`base`, 2 × base, 4 × base, … at most ten minutes apart) until it has had its
//! attempts; then it stays in the table as `failed`, and the error is logged. A running job's lease is renewed
//! while it runs, so only an instance that died loses it. Whoever queues a job wakes this
//! instance's worker at once; other instances find it on their next poll.

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::{
    db::{Database, DbError, Job, now_millis},
    support::error_chain,
};

/// Runs one kind of job. An `Err` is the reason the attempt failed, logged and kept with the job.
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn run(&self, payload: &str) -> Result<(), String>;

    /// Called once when the job has failed its last attempt, to record that where people see it.
    async fn give_up(&self, _payload: &str, _error: &str) {}
}

/// How the queue retries.
#[derive(Clone, Copy, Debug)]
pub struct JobSettings {
    /// The pause before the second attempt; each later pause doubles it.
    pub retry_base: Duration,
    /// How long a claimed job is this instance's; an instance that dies leaves it to another after this.
    pub lease: Duration,
    /// How often an idle worker looks for jobs other instances queued.
    pub poll: Duration,
}

const LONGEST_PAUSE: Duration = Duration::from_secs(600);

/// Queues jobs: cheap to clone, shared by every service that has work for the background.
#[derive(Clone)]
pub struct JobQueue {
    db: Database,
    wake: Arc<Notify>,
}

impl JobQueue {
    pub fn new(db: Database) -> Self {
        JobQueue { db, wake: Arc::new(Notify::new()) }
    }

    pub async fn enqueue(&self, kind: &str, payload: &str, max_attempts: i32) -> Result<(), DbError> {
        self.db.enqueue_job(kind, payload, max_attempts).await?;
        self.wake();
        Ok(())
    }

    /// Tells this instance's worker there is work (after a job was queued some other way).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// The worker, with its handlers.
pub struct Worker {
    queue: JobQueue,
    settings: JobSettings,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl Worker {
    pub fn new(queue: JobQueue, settings: JobSettings) -> Self {
        Worker { queue, settings, handlers: HashMap::new() }
    }

    pub fn handle(mut self, kind: &'static str, handler: Arc<dyn JobHandler>) -> Self {
        self.handlers.insert(kind, handler);
        self
    }

    /// Runs jobs until the database closes (the server shutting down).
    pub fn spawn(self) {
        tokio::spawn(async move {
            loop {
                if self.queue.db.is_closed() {
                    break;
                }
                match self.queue.db.claim_job(self.settings.lease.as_millis() as i64).await {
                    Ok(Some(job)) => self.run(job).await,
                    Ok(None) => {
                        let _ = tokio::time::timeout(self.settings.poll, self.queue.wake.notified()).await;
                    }
                    Err(error) => {
                        tracing::warn!(error = %error_chain(&error), "could not claim a job");
                        tokio::time::sleep(self.settings.poll).await;
                    }
                }
            }
        });
    }

    /// Runs the handler, renewing the job's lease every third of it while it runs, so that a long job (an
    /// import of a large export) stays this instance's for as long as this instance is alive.
    async fn run_renewing(&self, job: &Job, handler: &dyn JobHandler) -> Result<(), String> {
        let lease = self.settings.lease;
        let running = handler.run(&job.payload);
        tokio::pin!(running);
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + lease / 3, lease / 3);
        loop {
            tokio::select! {
                outcome = &mut running => return outcome,
                _ = renew.tick() => {
                    if let Err(error) = self.queue.db.renew_job(job.id, lease.as_millis() as i64).await {
                        tracing::warn!(kind = %job.kind, error = %error_chain(&error), "could not renew a job's lease");
                    }
                }
            }
        }
    }

    async fn run(&self, job: Job) {
        let outcome = match self.handlers.get(job.kind.as_str()) {
            // A job can outlive an instance that died mid-run more times than it has attempts.
            _ if job.attempts > job.max_attempts => Err("the job was interrupted on every attempt".to_owned()),
            Some(handler) => self.run_renewing(&job, handler.as_ref()).await,
            None => Err(format!("no handler for jobs of kind {}", job.kind)),
        };
        let db = &self.queue.db;
        let recorded = match outcome {
            Ok(()) => db.complete_job(job.id).await,
            Err(error) if job.attempts >= job.max_attempts => {
                tracing::error!(kind = %job.kind, attempts = job.attempts, %error, "a job failed on every attempt; giving up");
                if let Some(handler) = self.handlers.get(job.kind.as_str()) {
                    handler.give_up(&job.payload, &error).await;
                }
                db.fail_job(job.id, &error).await
            }
            Err(error) => {
                let pause =
                    self.settings.retry_base.saturating_mul(1 << (job.attempts - 1).clamp(0, 20)).min(LONGEST_PAUSE);
                tracing::warn!(kind = %job.kind, attempt = job.attempts, %error, retry_in_ms = pause.as_millis() as u64, "a job failed; retrying");
                db.retry_job(job.id, &error, now_millis() + pause.as_millis() as i64).await
            }
        };
        if let Err(error) = recorded {
            // The lease runs out and the job runs again: at least once, never lost.
            tracing::warn!(error = %error_chain(&error), "could not record a job's outcome");
        }
    }
}
