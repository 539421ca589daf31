//! Conversations: the one service behind the JSON API and the chat pages.

pub mod cursor;
pub mod markdown;
pub mod service;

pub use service::{Around, ChatDeps, ChatError, ChatService, NoReply, ReplyEvent, SearchResult, whole_reply};

/// The tool calls stored with a reply (none for a user's message, or an unreadable record).
pub fn tool_calls_of(message: &crate::db::Message) -> Vec<crate::services::assistant::ToolCall> {
    message.tool_calls.as_deref().and_then(|json| serde_json::from_str(json).ok()).unwrap_or_default()
}
