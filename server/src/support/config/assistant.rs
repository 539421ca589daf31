//! The assistant section: the offline demo, or an OpenAI-compatible server (`ASSISTANT_*`).

use std::time::Duration;

use secrecy::SecretString;

use super::reader::Reader;

/// Which assistant answers, and how.
#[derive(Clone, Debug)]
pub enum AssistantConfig {
    /// The offline demo assistant, with this pause between streamed pieces.
    Demo { chunk_delay: Duration },
    /// An OpenAI-compatible server.
    OpenAi {
        base_url: String,
        api_key: Option<SecretString>,
        model: String,
        connect_timeout: Duration,
        idle_timeout: Duration,
        history_chars: usize,
    },
}

pub(super) fn read(env: &mut Reader) -> AssistantConfig {
    let connect_timeout = Duration::from_secs(u64::from(env.number("ASSISTANT_CONNECT_TIMEOUT_SECS", 10, 1)));
    let idle_timeout = Duration::from_secs(u64::from(env.number("ASSISTANT_IDLE_TIMEOUT_SECS", 60, 1)));
    let history_chars = env.number("ASSISTANT_HISTORY_CHARS", 24_000, 1) as usize;
    let chunk_delay = Duration::from_millis(u64::from(env.number("PARLEY_DEMO_CHUNK_DELAY_MS", 30, 0)));
    match env.get("ASSISTANT_BASE_URL") {
        None => AssistantConfig::Demo { chunk_delay },
        Some(base_url) => {
            if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
                env.problem("ASSISTANT_BASE_URL must be an http:// or https:// URL");
            }
            let model = env.required("ASSISTANT_MODEL", "needed with ASSISTANT_BASE_URL");
            AssistantConfig::OpenAi {
                base_url,
                api_key: env.get("ASSISTANT_API_KEY").map(SecretString::from),
                model,
                connect_timeout,
                idle_timeout,
                history_chars,
            }
        }
    }
}
