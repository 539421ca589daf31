//! The insights section: how often analyses queue by themselves, what score is flagged, where events go
//! (`PARLEY_WEBHOOK_URL`, signed with `PARLEY_WEBHOOK_SECRET`), and the job queue's timings.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::SecretString;

use super::reader::Reader;

#[derive(Clone, Debug)]
pub struct InsightsConfig {
    /// An analysis queues by itself every this many new messages; 0: only on request.
    pub every: u32,
    /// Scores below this are announced as `analysis.flagged`.
    pub flag_below: i32,
    pub webhook: Option<WebhookConfig>,
    /// The pause before a failed job's second attempt; each later one doubles.
    pub job_retry_base: Duration,
    /// How long a running job belongs to its instance before another may take it over.
    pub job_lease: Duration,
    /// Whether this instance runs background jobs (`PARLEY_RUN_JOBS=off`: it only queues them, for
    /// instances that should serve requests alone).
    pub run_jobs: bool,
}

#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pub url: String,
    /// `whsec_` and base64, as the Standard Webhooks specification writes secrets.
    pub secret: SecretString,
}

pub(super) fn read(env: &mut Reader) -> InsightsConfig {
    let every = env.number("PARLEY_ANALYSIS_EVERY", 20, 0);
    let flag_below = env.number("PARLEY_ANALYSIS_FLAG_BELOW", 30, 0).min(101) as i32;
    let webhook = match (env.get("PARLEY_WEBHOOK_URL"), env.get("PARLEY_WEBHOOK_SECRET")) {
        (None, None) => None,
        (Some(url), Some(secret)) => {
            if url::Url::parse(&url).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
                env.problem("PARLEY_WEBHOOK_URL must be an http:// or https:// URL");
            }
            let decoded = secret.strip_prefix("whsec_").and_then(|key| STANDARD.decode(key).ok());
            if decoded.is_none_or(|key| key.len() < 24) {
                env.problem("PARLEY_WEBHOOK_SECRET must be `whsec_` followed by base64 of at least 24 bytes");
            }
            Some(WebhookConfig { url, secret: secret.into() })
        }
        (Some(_), None) => {
            env.problem("PARLEY_WEBHOOK_SECRET is missing (webhooks are signed; `whsec_` and base64)");
            None
        }
        (None, Some(_)) => {
            env.problem("PARLEY_WEBHOOK_URL is missing (where PARLEY_WEBHOOK_SECRET's events go)");
            None
        }
    };
    let job_retry_base = Duration::from_millis(u64::from(env.number("PARLEY_JOB_RETRY_BASE_MS", 2_000, 1)));
    let job_lease = Duration::from_secs(u64::from(env.number("PARLEY_JOB_LEASE_SECS", 300, 1)));
    let run_jobs = env.on_off("PARLEY_RUN_JOBS", true);
    InsightsConfig { every, flag_below, webhook, job_retry_base, job_lease, run_jobs }
}
