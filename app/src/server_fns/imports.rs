//! Imports for the browser: how an uploaded export is getting on, and the account's recent imports. The
//! upload itself is a plain multipart form posted to `/account/import` (a server route, not a server
//! function: the file is streamed, never held whole).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::accounts::FormError;

/// An import as the pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportView {
    pub id: String,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// `chatgpt`, `openwebui` or `parley`, once the file has been read.
    pub format: Option<String>,
    pub conversations: i32,
    pub messages: i32,
    pub total_messages: Option<i32>,
    pub skipped: i32,
    pub error: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

impl ImportView {
    /// Whether the import is still on its way (the page keeps looking).
    pub fn in_progress(&self) -> bool {
        matches!(self.state.as_str(), "queued" | "running")
    }

    /// The product the file came from, as people call it.
    pub fn source(&self) -> &'static str {
        match self.format.as_deref() {
            Some("chatgpt") => "ChatGPT",
            Some("openwebui") => "Open WebUI",
            Some("parley") => "Parley",
            _ => "an export",
        }
    }

    /// One sentence on where it stands.
    pub fn summary(&self) -> String {
        let plural = |n: i32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        match self.state.as_str() {
            "queued" => "Waiting to start…".to_owned(),
            "running" => format!(
                "Importing from {}: {} of {} so far.",
                self.source(),
                plural(self.messages, "message", "messages"),
                self.total_messages.unwrap_or(0)
            ),
            "done" if self.conversations == 0 && self.messages == 0 => {
                "Done: everything in this file was already here, so nothing was added.".to_owned()
            }
            "done" => format!(
                "Done: {} and {} added from {}.",
                plural(self.conversations, "conversation", "conversations"),
                plural(self.messages, "message", "messages"),
                self.source()
            ),
            _ => format!("This import failed: {}.", self.error.as_deref().unwrap_or("for an unknown reason")),
        }
    }
}

/// The server's side of these functions, provided as context by the server crate.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait ImportsPort: Send + Sync + 'static {
    async fn status(&self, id: String) -> Result<ImportView, FormError>;
    async fn recent(&self) -> Result<Vec<ImportView>, FormError>;
}

#[cfg(feature = "ssr")]
pub type Imports = std::sync::Arc<dyn ImportsPort>;

#[cfg(feature = "ssr")]
fn imports() -> Result<Imports, FormError> {
    use_context::<Imports>().ok_or_else(|| FormError::Transport("imports are not configured".to_owned()))
}

#[server]
pub async fn import_status(id: String) -> Result<ImportView, FormError> {
    imports()?.status(id).await
}

#[server]
pub async fn recent_imports() -> Result<Vec<ImportView>, FormError> {
    imports()?.recent().await
}
