//! Conversations for the browser: listing, reading, sending (the no-JavaScript path; hydrated pages
//! stream replies from the JSON API instead), renaming and deleting.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::accounts::FormError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub id: String,
    pub title: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationList {
    pub items: Vec<ConversationSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: String,
    /// `user` or `assistant`.
    pub role: String,
    // Empty fields are left out of the JSON: the chat page's island props carry fifty messages with most
    // fields emptied (`pages::chat::PaneConversation`).
    /// The content rendered from Markdown and sanitised on the server.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub html: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_at: String,
    /// The tools the assistant called for this reply, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallView>,
    /// The text as written, for the edit form: only on the user's own messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// A tool call as the chat shows it: the tool, and its arguments and result as indented JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallView {
    pub name: String,
    pub arguments: String,
    pub result: String,
    /// The result was an error.
    pub failed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    pub id: String,
    pub title: String,
    /// Oldest first.
    pub messages: Vec<MessageView>,
    /// Where "Load older" continues, if there is more.
    pub older_cursor: Option<String>,
    /// Where "Load newer" continues, when this is a window further back than the newest messages.
    pub newer_cursor: Option<String>,
    /// The message the page was opened at (a search result), shown highlighted and scrolled to.
    pub focus: Option<String>,
    /// The last message is the user's and has no reply (the assistant failed): offer a retry.
    pub awaiting_reply: bool,
    /// The conversation's analyses, oldest first. Rendered on the server only, so never serialised: the
    /// browser's code for this type (the pane's props) stays as small as before.
    #[serde(skip)]
    pub insights: Vec<InsightView>,
}

/// One analysis of a range of the conversation, as the chat page's chart shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InsightView {
    /// 0 to 100, once scored.
    pub score: Option<i32>,
    pub summary: Option<String>,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// RFC 3339.
    pub created_at: String,
}

/// Which messages of a conversation to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Window {
    /// The newest page; with `show`, the newest `show` messages ("Load older" without JavaScript).
    Newest { show: Option<u32> },
    /// One page older than this cursor.
    Before(String),
    /// One page from this cursor on ("Load newer").
    From(String),
    /// The messages around this message id, which is the page's focus.
    Around(String),
}

/// One piece of a search result's snippet: matched words or the text between them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetPart {
    pub text: String,
    pub matched: bool,
}

/// A message that matched a search, as the results page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHitView {
    pub message_id: String,
    pub conversation_id: String,
    pub conversation_title: String,
    /// `user` or `assistant`.
    pub role: String,
    pub snippet: Vec<SnippetPart>,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub results: Vec<SearchHitView>,
    pub next_cursor: Option<String>,
}

/// The server's side of these functions, provided as context by the server crate.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait ChatPort: Send + Sync + 'static {
    /// The newest conversations; with `search`, only those whose title or any message contains it.
    async fn list(&self, cursor: Option<String>, search: Option<String>) -> Result<ConversationList, FormError>;
    async fn load(&self, id: String, window: Window) -> Result<ConversationView, FormError>;
    /// The user's messages that match `q`, best first.
    async fn search(&self, q: String, cursor: Option<String>) -> Result<SearchResults, FormError>;
    async fn create(&self) -> Result<String, FormError>;
    /// Stores the message and waits for the whole reply.
    async fn send(&self, id: String, content: String) -> Result<(), FormError>;
    async fn retry(&self, id: String) -> Result<(), FormError>;
    /// Replaces one of the user's messages (and everything after it) and waits for the new reply.
    async fn edit(&self, id: String, message_id: String, content: String) -> Result<(), FormError>;
    /// Returns the title as stored (trimmed).
    async fn rename(&self, id: String, title: String) -> Result<String, FormError>;
    async fn delete(&self, id: String) -> Result<(), FormError>;
}

#[cfg(feature = "ssr")]
pub type Chat = std::sync::Arc<dyn ChatPort>;

#[cfg(feature = "ssr")]
fn chat() -> Result<Chat, FormError> {
    use_context::<Chat>().ok_or_else(|| FormError::Transport("chat is not configured".to_owned()))
}

#[server]
pub async fn list_conversations(cursor: Option<String>, search: Option<String>) -> Result<ConversationList, FormError> {
    chat()?.list(cursor, search).await
}

/// A page of the conversation: by default the newest; `before` and `after` continue older and newer from
/// a cursor; `around` centres on a message; `show` is how many of the newest.
#[server]
pub async fn load_conversation(
    id: String,
    before: Option<String>,
    show: Option<u32>,
    around: Option<String>,
    after: Option<String>,
) -> Result<ConversationView, FormError> {
    let window = match (before, after, around) {
        (Some(cursor), _, _) => Window::Before(cursor),
        (None, Some(cursor), _) => Window::From(cursor),
        (None, None, Some(message)) => Window::Around(message),
        (None, None, None) => Window::Newest { show },
    };
    let result = chat()?.load(id, window).await;
    if let (Err(FormError::NotFound), Some(response)) = (&result, use_context::<leptos_axum::ResponseOptions>()) {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    result
}

#[server]
pub async fn search_messages(q: String, cursor: Option<String>) -> Result<SearchResults, FormError> {
    chat()?.search(q, cursor).await
}

#[server]
pub async fn new_conversation() -> Result<(), FormError> {
    let id = chat()?.create().await?;
    leptos_axum::redirect(&format!("/chat/{id}"));
    Ok(())
}

/// Starts a conversation with its first message (the empty state's composer).
#[server]
pub async fn start_conversation(content: String) -> Result<(), FormError> {
    let chat = chat()?;
    if content.trim().is_empty() {
        return Err(FormError::field_error("content", "Write a message first."));
    }
    let id = chat.create().await?;
    let sent = chat.send(id.clone(), content).await;
    leptos_axum::redirect(&format!("/chat/{id}#latest"));
    // The conversation exists either way; a failed reply shows on its page with a retry.
    match sent {
        Ok(()) | Err(FormError::Assistant(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

#[server]
pub async fn send_message(conversation_id: String, content: String) -> Result<(), FormError> {
    chat()?.send(conversation_id.clone(), content).await?;
    leptos_axum::redirect(&format!("/chat/{conversation_id}#latest"));
    Ok(())
}

#[server]
pub async fn retry_reply(conversation_id: String) -> Result<(), FormError> {
    chat()?.retry(conversation_id.clone()).await?;
    leptos_axum::redirect(&format!("/chat/{conversation_id}#latest"));
    Ok(())
}

/// Edits one of the user's messages: every later message is replaced by a new reply. "Regenerate" is the
/// same, with the last message's text unchanged.
#[server]
pub async fn edit_message(conversation_id: String, message_id: String, content: String) -> Result<(), FormError> {
    chat()?.edit(conversation_id.clone(), message_id, content).await?;
    leptos_axum::redirect(&format!("/chat/{conversation_id}#latest"));
    Ok(())
}

#[server]
pub async fn rename_conversation(conversation_id: String, title: String) -> Result<String, FormError> {
    let title = chat()?.rename(conversation_id.clone(), title).await?;
    leptos_axum::redirect(&format!("/chat/{conversation_id}"));
    Ok(title)
}

#[server]
pub async fn delete_conversation(conversation_id: String) -> Result<(), FormError> {
    chat()?.delete(conversation_id).await?;
    leptos_axum::redirect("/chat");
    Ok(())
}
