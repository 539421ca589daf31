use app::server_fns::{
    accounts::FormError,
    chat::{
        ChatPort, ConversationList, ConversationSummary, ConversationView, InsightView, MessageView, SearchHitView,
        SearchResults, SnippetPart, ToolCallView, Window,
    },
};
use std::sync::Arc;

use chrono::SecondsFormat;
use leptos::prelude::use_context;
use uuid::Uuid;

use super::{session, signed_in_user};
use crate::{
    db::Message,
    services::accounts::AccountService,
    services::chat::{ChatError, ChatService, ReplyEvent, SearchResult, markdown, tool_calls_of, whole_reply},
    services::insights::InsightService,
};

/// How many conversations the sidebar shows per page, and messages a page shows at a time.
const SIDEBAR_PAGE: u32 = 50;
const MESSAGE_PAGE: u32 = 50;
/// A search result opens its conversation with this many messages on either side of it.
const AROUND: u32 = 25;
const SEARCH_PAGE: u32 = 20;

/// The sidebar's list, read once per request: a page render builds the sidebar more than once (each
/// enclosing `Suspense` renders its children again once what it waited for is there), and each build
/// asks for the list. A fresh memo comes with every request's context.
#[derive(Clone, Default)]
pub struct ConversationListMemo(Arc<tokio::sync::Mutex<Option<ListKey>>>);
type ListKey = ((Option<String>, Option<String>), ConversationList);

pub struct BrowserChat {
    pub chat: ChatService,
    pub accounts: AccountService,
    pub insights: InsightService,
}

fn view_of(message: Message) -> MessageView {
    let pretty = |value: &serde_json::Value| serde_json::to_string_pretty(value).unwrap_or_default();
    let tool_calls = tool_calls_of(&message)
        .into_iter()
        .map(|call| ToolCallView {
            failed: call.result.get("error").is_some(),
            arguments: pretty(&call.arguments),
            result: pretty(&call.result),
            name: call.name,
        })
        .collect();
    MessageView {
        tool_calls,
        id: message.id.to_string(),
        html: markdown::render_message(message.id, &message.content).to_string(),
        content: (message.role == "user").then(|| message.content.clone()),
        role: message.role,
        created_at: message.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// A search result with its snippet cut into matched and unmatched pieces.
fn hit_view(result: SearchResult) -> SearchHitView {
    let chars: Vec<char> = result.snippet.chars().collect();
    let mut snippet = Vec::new();
    let mut at = 0;
    let piece = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    for (start, end) in result.highlights {
        if start > at {
            snippet.push(SnippetPart { text: piece(at, start), matched: false });
        }
        snippet.push(SnippetPart { text: piece(start, end), matched: true });
        at = end;
    }
    if at < chars.len() {
        snippet.push(SnippetPart { text: piece(at, chars.len()), matched: false });
    }
    let hit = result.hit;
    SearchHitView {
        message_id: hit.id.to_string(),
        conversation_id: hit.conversation_id.to_string(),
        conversation_title: hit.conversation_title,
        role: hit.role,
        snippet,
        created_at: hit.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// A path id that is not a UUID names nothing.
fn conversation_id(raw: &str) -> Result<Uuid, FormError> {
    raw.parse().map_err(|_| FormError::NotFound)
}

/// The most messages one page render shows when "Load older" is followed without JavaScript.
const MAX_SHOWN: u32 = 5_000;

impl BrowserChat {
    /// The newest `show` messages, oldest first, read in pages of 100.
    async fn newest(&self, user: Uuid, id: Uuid, show: u32) -> Result<(Vec<Message>, Option<String>), ChatError> {
        let mut pages = Vec::new();
        let mut collected = 0;
        let mut cursor = None;
        loop {
            let want = (show - collected).min(100);
            let (page, next) = self.chat.messages(user, id, Some(want), cursor.as_deref()).await?;
            collected += page.len() as u32;
            pages.push(page);
            cursor = next;
            if collected >= show || cursor.is_none() {
                break;
            }
        }
        Ok((pages.into_iter().rev().flatten().collect(), cursor))
    }

    /// One page of the user's conversations, as the sidebar lists them.
    async fn list_page(&self, cursor: Option<String>, search: Option<String>) -> Result<ConversationList, FormError> {
        let user = self.user_id().await?;
        let (items, next_cursor) =
            self.chat.list_conversations(user, Some(SIDEBAR_PAGE), cursor.as_deref(), search.as_deref()).await?;
        Ok(ConversationList {
            items: items
                .into_iter()
                .map(|c| ConversationSummary {
                    id: c.id.to_string(),
                    title: c.title,
                    updated_at: c.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                })
                .collect(),
            next_cursor,
        })
    }

    async fn user_id(&self) -> Result<Uuid, FormError> {
        let user = signed_in_user(&self.accounts, &session().await?).await?;
        user.map(|u| u.id).ok_or(FormError::Unauthorized)
    }

    /// Waits for the reply to finish.
    async fn finish(events: tokio::sync::mpsc::Receiver<ReplyEvent>) -> Result<(), FormError> {
        whole_reply(events).await.map(|_| ()).map_err(|failure| {
            if failure.database { super::unavailable() } else { FormError::Assistant(failure.reason) }
        })
    }
}

#[async_trait::async_trait]
impl ChatPort for BrowserChat {
    async fn list(&self, cursor: Option<String>, search: Option<String>) -> Result<ConversationList, FormError> {
        let Some(memo) = use_context::<ConversationListMemo>() else { return self.list_page(cursor, search).await };
        // Held across the lookup: another render of the sidebar in this request waits for the first answer.
        let mut known = memo.0.lock().await;
        let key = (cursor, search);
        if let Some((_, list)) = known.as_ref().filter(|(known_key, _)| *known_key == key) {
            return Ok(list.clone());
        }
        let list = self.list_page(key.0.clone(), key.1.clone()).await?;
        *known = Some((key, list.clone()));
        Ok(list)
    }

    async fn load(&self, id: String, window: Window) -> Result<ConversationView, FormError> {
        let user = self.user_id().await?;
        let id = conversation_id(&id)?;
        let mut focus = None;
        let (conversation, messages, older_cursor, newer_cursor) = match window {
            Window::Newest { show: Some(show) } if show > MESSAGE_PAGE => {
                let conversation = self.chat.conversation(user, id).await?;
                let (messages, cursor) = self.newest(user, id, show.min(MAX_SHOWN)).await?;
                (conversation, messages, cursor, None)
            }
            Window::Newest { .. } => {
                let (conversation, messages, older) = self.chat.open(user, id, Some(MESSAGE_PAGE), None).await?;
                (conversation, messages, older, None)
            }
            Window::Before(cursor) => {
                let (conversation, messages, older) =
                    self.chat.open(user, id, Some(MESSAGE_PAGE), Some(&cursor)).await?;
                (conversation, messages, older, None)
            }
            Window::From(cursor) => {
                let conversation = self.chat.conversation(user, id).await?;
                let (messages, newer) = self.chat.newer_messages(user, id, Some(MESSAGE_PAGE), &cursor).await?;
                (conversation, messages, None, newer)
            }
            Window::Around(message) => {
                let message = message.parse().map_err(|_| FormError::NotFound)?;
                let (conversation, around) = self.chat.messages_around(user, id, message, AROUND, AROUND).await?;
                focus = Some(message.to_string());
                (conversation, around.messages, around.older, around.newer)
            }
        };
        let awaiting_reply = newer_cursor.is_none() && messages.last().is_some_and(|m| m.role == "user");
        Ok(ConversationView {
            id: conversation.id.to_string(),
            title: conversation.title,
            messages: messages.into_iter().map(view_of).collect(),
            older_cursor,
            newer_cursor,
            focus,
            awaiting_reply,
            insights: self
                .insights
                .list(user, id)
                .await?
                .into_iter()
                .map(|a| InsightView {
                    score: a.chat_score,
                    summary: a.summary,
                    state: a.state,
                    created_at: a.created_at.to_rfc3339(),
                })
                .collect(),
        })
    }

    async fn search(&self, q: String, cursor: Option<String>) -> Result<SearchResults, FormError> {
        let user = self.user_id().await?;
        let (_, results, next_cursor) = self.chat.search(user, Some(&q), Some(SEARCH_PAGE), cursor.as_deref()).await?;
        Ok(SearchResults { results: results.into_iter().map(hit_view).collect(), next_cursor })
    }

    async fn create(&self) -> Result<String, FormError> {
        let user = self.user_id().await?;
        Ok(self.chat.create_conversation(user, None).await?.id.to_string())
    }

    async fn send(&self, id: String, content: String) -> Result<(), FormError> {
        let user = self.user_id().await?;
        let (_, events) = self.chat.send(user, conversation_id(&id)?, &content).await?;
        Self::finish(events).await
    }

    async fn retry(&self, id: String) -> Result<(), FormError> {
        let user = self.user_id().await?;
        let (_, events) = self.chat.retry(user, conversation_id(&id)?).await?;
        Self::finish(events).await
    }

    async fn edit(&self, id: String, message_id: String, content: String) -> Result<(), FormError> {
        let user = self.user_id().await?;
        // A malformed message id names no message of this conversation.
        let message_id = message_id.parse().map_err(|_| FormError::NotFound)?;
        let (_, events) = self.chat.edit(user, conversation_id(&id)?, message_id, &content).await?;
        Self::finish(events).await
    }

    async fn rename(&self, id: String, title: String) -> Result<String, FormError> {
        let user = self.user_id().await?;
        Ok(self.chat.rename(user, conversation_id(&id)?, &title).await?.title)
    }

    async fn delete(&self, id: String) -> Result<(), FormError> {
        let user = self.user_id().await?;
        Ok(self.chat.delete(user, conversation_id(&id)?).await?)
    }
}
