//! Events to `PARLEY_WEBHOOK_URL`, signed as the Standard Webhooks specification says (standardwebhooks.com):
//! headers `webhook-id` (the same on every retry of one event), `webhook-timestamp` (Unix seconds, of the
//! attempt) and `webhook-signature` (`v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`, keyed with the
//! bytes of `PARLEY_WEBHOOK_SECRET` after its `whsec_` prefix). Delivered by the job queue: any answer but a
//! 2xx, or none within ten seconds, is a failed attempt, retried with backoff.

use std::{sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    db::DbError,
    services::jobs::{JobHandler, JobQueue},
};

pub const WEBHOOK_JOB: &str = "webhook";
const WEBHOOK_ATTEMPTS: i32 = 8;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Queues events for delivery.
#[derive(Clone)]
pub struct Webhooks {
    queue: JobQueue,
}

impl Webhooks {
    pub fn new(queue: JobQueue) -> Self {
        Webhooks { queue }
    }

    /// Queues one event: `{type, timestamp, data}`, with an id of its own.
    pub async fn announce(&self, kind: &str, data: Value) -> Result<(), DbError> {
        let body = json!({
            "type": kind,
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": data,
        });
        let payload = json!({ "id": format!("msg_{}", uuid::Uuid::now_v7().simple()), "body": body.to_string() });
        self.queue.enqueue(WEBHOOK_JOB, &payload.to_string(), WEBHOOK_ATTEMPTS).await
    }
}

/// Delivers queued events: the job handler.
pub struct WebhookSender {
    url: String,
    key: Arc<Vec<u8>>,
    client: reqwest::Client,
}

impl WebhookSender {
    /// `secret` as configured, `whsec_` and base64 (checked when the configuration was read).
    pub fn new(url: &str, secret: &str) -> Option<Self> {
        let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
        let client = reqwest::Client::builder().timeout(ATTEMPT_TIMEOUT).build().ok()?;
        Some(WebhookSender { url: url.to_owned(), key: Arc::new(key), client })
    }
}

/// The `webhook-signature` header's value for one attempt.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[async_trait::async_trait]
impl JobHandler for WebhookSender {
    async fn run(&self, payload: &str) -> Result<(), String> {
        let event: Value = serde_json::from_str(payload).map_err(|e| format!("a queued event is not readable: {e}"))?;
        let (Some(id), Some(body)) = (event["id"].as_str(), event["body"].as_str()) else {
            return Err("a queued event without id or body".to_owned());
        };
        let timestamp = chrono::Utc::now().timestamp();
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature(&self.key, id, timestamp, body))
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| format!("the webhook could not be reached: {}", e.without_url()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the webhook answered {}", response.status().as_u16()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_specification_example() {
        // The example in the Standard Webhooks specification.
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
