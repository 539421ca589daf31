//! The chat service: conversations, paging, and replies from the assistant, for the JSON API and the
//! chat pages alike.
//!
//! Stored state when a reply goes wrong, by design:
//! - the user's message is stored before the assistant is asked, so it is never lost;
//! - if the assistant fails, no reply is stored and the failure is reported; the user can retry, which
//!   answers the last unanswered message;
//! - if the client goes away mid-stream (closed tab, Stop button), generation stops and the text produced
//!   so far is stored as the reply: history keeps what the user saw (and at most a few pieces more).

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::cursor;
use crate::{
    db::{Conversation, Database, DbError, Message, MessageHit, Position},
    services::{
        accounts::rate_limit::{RateLimiter, RetryAfter},
        assistant::{Assistant, AssistantError, ReplyPiece, Role, ToolCall, Turn},
        insights::InsightService,
        tasks::TaskService,
        tools::{ConversationSearch, UserTools},
    },
    support::{
        FieldErrors, Missing, Refusal, error_chain,
        search_text::{self, SearchQuery},
    },
};

pub const DEFAULT_TITLE: &str = "New chat";
pub const MAX_CONTENT_CHARS: usize = 32_000;
pub const DEFAULT_CONVERSATION_PAGE: u32 = 20;
pub const DEFAULT_MESSAGE_PAGE: u32 = 50;
pub const MAX_SEARCH_CHARS: usize = 200;
pub const DEFAULT_SEARCH_PAGE: u32 = 20;
/// The most earlier messages ever sent to the assistant, whatever the character budget.
const HISTORY_MESSAGES: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("some fields are invalid")]
    Validation(FieldErrors),
    #[error("no such conversation")]
    NotFound,
    #[error("too many searches")]
    RateLimited(RetryAfter),
    #[error("the database is unavailable")]
    Database(#[from] DbError),
}

impl From<ChatError> for Refusal {
    fn from(error: ChatError) -> Self {
        match error {
            ChatError::Validation(fields) => Refusal::Validation(fields),
            ChatError::NotFound => Refusal::NotFound(Missing::Conversation),
            ChatError::RateLimited(retry) => Refusal::RateLimited { retry_after: retry.0 },
            ChatError::Database(cause) => cause.into(),
        }
    }
}

/// A message that matched a search, and the piece of it to show.
#[derive(Clone, Debug)]
pub struct SearchResult {
    pub hit: MessageHit,
    /// About a line of the message around the first match.
    pub snippet: String,
    /// The matches in `snippet`, as character ranges `[start, end)`.
    pub highlights: Vec<(usize, usize)>,
}

/// A window of a conversation's messages, oldest first, and the cursors beyond its two ends.
#[derive(Clone, Debug)]
pub struct Around {
    pub messages: Vec<Message>,
    /// Continues with older messages (`before=`), if there are any.
    pub older: Option<String>,
    /// Continues with newer messages, if there are any.
    pub newer: Option<String>,
}

/// What happens to a reply, as it happens.
#[derive(Debug)]
pub enum ReplyEvent {
    Delta(String),
    /// The assistant called a tool (already run; its result is in the call).
    Tool(ToolCall),
    Done {
        message: Message,
        reply: Message,
    },
    /// No reply: the assistant failed, or (`database`) the reply could not be read for or stored.
    /// `message` (the user's) is stored either way.
    Failed {
        message: Message,
        reason: String,
        database: bool,
    },
}

#[derive(Clone)]
pub struct ChatService {
    db: Database,
    assistant: Arc<dyn Assistant>,
    history_chars: usize,
    /// Searches are counted per user: each one reads the user's whole index.
    limiter: RateLimiter,
    /// For the assistant's task tools.
    tasks: TaskService,
    /// Told of new messages, to queue an analysis every so many.
    insights: InsightService,
}

/// What the chat service needs besides the database.
pub struct ChatDeps {
    pub assistant: Arc<dyn Assistant>,
    /// Characters of recent history sent with each message.
    pub history_chars: usize,
    pub limiter: RateLimiter,
    pub tasks: TaskService,
    pub insights: InsightService,
}

#[async_trait::async_trait]
impl ConversationSearch for ChatService {
    async fn find_conversations(&self, user_id: Uuid, query: &str, limit: u32) -> Result<Vec<Conversation>, String> {
        match self.list_conversations(user_id, Some(limit), None, Some(query)).await {
            Ok((found, _)) => Ok(found),
            Err(ChatError::Validation(fields)) => Err(fields.into_values().flatten().collect::<Vec<_>>().join(" ")),
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "a tool's conversation search failed");
                Err("The conversations cannot be searched right now.".to_owned())
            }
        }
    }
}

fn invalid(field: &str, message: &str) -> ChatError {
    ChatError::Validation(FieldErrors::from([(field.to_owned(), vec![message.to_owned()])]))
}

fn page_limit(limit: Option<u32>, default: u32) -> Result<u32, ChatError> {
    cursor::page_limit(limit, default).map_err(ChatError::Validation)
}

/// A message's content: trimmed, 1 to 32,000 characters.
fn parse_content(raw: &str) -> Result<&str, ChatError> {
    let content = raw.trim();
    if content.is_empty() {
        return Err(invalid("content", "Message cannot be empty."));
    }
    if content.chars().count() > MAX_CONTENT_CHARS {
        return Err(invalid("content", "Message must be at most 32,000 characters."));
    }
    Ok(content)
}

fn parse_title(raw: &str) -> Result<String, ChatError> {
    crate::services::fields::title(raw).map_err(ChatError::Validation)
}

/// A title for a new chat from its first message: the first line with its Markdown marks removed,
/// shortened.
pub fn title_from(content: &str) -> String {
    let line = content
        .lines()
        .map(|l| l.trim().trim_start_matches(['#', '>', '-', ' ']).replace(['*', '_', '`'], ""))
        .map(|l| l.trim().to_owned())
        .find(|l| !l.is_empty())
        .unwrap_or_else(|| DEFAULT_TITLE.to_owned());
    if line.chars().count() > 60 {
        format!("{}…", line.chars().take(59).collect::<String>().trim_end())
    } else {
        line
    }
}

impl ChatService {
    pub fn new(db: Database, deps: ChatDeps) -> Self {
        let ChatDeps { assistant, history_chars, limiter, tasks, insights } = deps;
        ChatService { db, assistant, history_chars, limiter, tasks, insights }
    }

    /// The assistant's tools, bound to `user_id` (the chat's replies and `/mcp` use the same ones).
    pub fn tools_for(&self, user_id: Uuid) -> Arc<UserTools> {
        Arc::new(UserTools::new(self.tasks.clone(), Arc::new(self.clone()), user_id))
    }

    pub async fn list_conversations(
        &self,
        user_id: Uuid,
        limit: Option<u32>,
        cursor: Option<&str>,
        search: Option<&str>,
    ) -> Result<(Vec<Conversation>, Option<String>), ChatError> {
        let limit = page_limit(limit, DEFAULT_CONVERSATION_PAGE)?;
        let after = cursor::from_param(cursor, "cursor").map_err(ChatError::Validation)?;
        // A blank search is no search.
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > MAX_SEARCH_CHARS) {
            return Err(invalid("q", "Search for at most 200 characters."));
        }
        let search = search.map(SearchQuery::parse);
        let page = self.db.list_conversations(user_id, limit, after, search.as_ref()).await?;
        Ok((page.items, page.next.map(cursor::encode)))
    }

    /// The user's messages that match `q`, best first, each with a snippet around the match.
    pub async fn search(
        &self,
        user_id: Uuid,
        q: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<(SearchQuery, Vec<SearchResult>, Option<String>), ChatError> {
        let text = q.map(str::trim).unwrap_or_default();
        if text.is_empty() {
            return Err(invalid("q", "Type something to search for."));
        }
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(invalid("q", "Search for at most 200 characters."));
        }
        let limit = page_limit(limit, DEFAULT_SEARCH_PAGE)?;
        let offset = cursor::offset_from_param(cursor, "cursor").map_err(ChatError::Validation)?;
        self.limiter.hit_search(user_id).await?.map_err(ChatError::RateLimited)?;
        let query = SearchQuery::parse(text);
        let mut hits = self.db.search_messages(user_id, &query, limit + 1, offset).await?;
        let next = (hits.len() > limit as usize).then(|| cursor::encode_offset(offset + limit));
        hits.truncate(limit as usize);
        let results = hits
            .into_iter()
            .map(|hit| {
                let (snippet, highlights) = search_text::snippet(&query, &hit.content);
                SearchResult { hit, snippet, highlights }
            })
            .collect();
        Ok((query, results, next))
    }

    /// The messages around one of the conversation's messages, oldest first: up to `before` older ones,
    /// that message, and up to `after` newer ones; with the cursors that continue older and newer.
    pub async fn messages_around(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
        before: u32,
        after: u32,
    ) -> Result<(Conversation, Around), ChatError> {
        let conversation = self.conversation(user_id, conversation_id).await?;
        let target = self.db.find_message(user_id, conversation_id, message_id).await?.ok_or(ChatError::NotFound)?;
        let at = Position { at: target.created_at, id: target.id };
        let older = self.db.list_messages(user_id, conversation_id, before, Some(at)).await?;
        let newer = self.db.list_messages_from(user_id, conversation_id, after + 1, at).await?;
        let mut messages = older.items;
        messages.extend(newer.items);
        Ok((
            conversation,
            Around { messages, older: older.next.map(cursor::encode), newer: newer.next.map(cursor::encode) },
        ))
    }

    /// One page of messages from the `from` cursor (a "Load newer" cursor) on, oldest first.
    pub async fn newer_messages(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        limit: Option<u32>,
        from: &str,
    ) -> Result<(Vec<Message>, Option<String>), ChatError> {
        self.conversation(user_id, conversation_id).await?;
        let limit = page_limit(limit, DEFAULT_MESSAGE_PAGE)?;
        let from = cursor::from_param(Some(from), "after")
            .map_err(ChatError::Validation)?
            .ok_or_else(|| invalid("after", "This cursor is not valid."))?;
        let page = self.db.list_messages_from(user_id, conversation_id, limit, from).await?;
        Ok((page.items, page.next.map(cursor::encode)))
    }

    pub async fn create_conversation(&self, user_id: Uuid, title: Option<&str>) -> Result<Conversation, ChatError> {
        let title = match title.map(str::trim).filter(|t| !t.is_empty()) {
            None => DEFAULT_TITLE.to_owned(),
            Some(title) => parse_title(title)?,
        };
        let default_title = title == DEFAULT_TITLE;
        Ok(self.db.create_conversation(user_id, &title, default_title).await?)
    }

    pub async fn conversation(&self, user_id: Uuid, id: Uuid) -> Result<Conversation, ChatError> {
        self.db.find_conversation(user_id, id).await?.ok_or(ChatError::NotFound)
    }

    pub async fn rename(&self, user_id: Uuid, id: Uuid, title: &str) -> Result<Conversation, ChatError> {
        // Existence first: an unknown (or another user's) id is 404 whatever the body says.
        self.conversation(user_id, id).await?;
        let title = parse_title(title)?;
        self.db.rename_conversation(user_id, id, &title).await?.ok_or(ChatError::NotFound)
    }

    pub async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), ChatError> {
        if self.db.delete_conversation(user_id, id).await? { Ok(()) } else { Err(ChatError::NotFound) }
    }

    pub async fn messages(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        limit: Option<u32>,
        before: Option<&str>,
    ) -> Result<(Vec<Message>, Option<String>), ChatError> {
        let (_, messages, next) = self.open(user_id, conversation_id, limit, before).await?;
        Ok((messages, next))
    }

    /// A conversation and a page of its messages, read together (an empty page of an unknown conversation
    /// is `NotFound`).
    pub async fn open(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        limit: Option<u32>,
        before: Option<&str>,
    ) -> Result<(Conversation, Vec<Message>, Option<String>), ChatError> {
        let page_request = page_limit(limit, DEFAULT_MESSAGE_PAGE)
            .and_then(|limit| Ok((limit, cursor::from_param(before, "before").map_err(ChatError::Validation)?)));
        let (limit, before) = match page_request {
            Ok(request) => request,
            // An unknown conversation is 404 whatever the query says.
            Err(invalid) => {
                self.conversation(user_id, conversation_id).await?;
                return Err(invalid);
            }
        };
        let (conversation, page) =
            self.db.open_conversation(user_id, conversation_id, limit, before).await?.ok_or(ChatError::NotFound)?;
        Ok((conversation, page.items, page.next.map(cursor::encode)))
    }

    /// Stores the user's message, then starts the assistant's reply. The events end with `Done` or
    /// `Failed`; dropping the receiver stops the reply and stores what was produced so far.
    pub async fn send(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        content: &str,
    ) -> Result<(Message, mpsc::Receiver<ReplyEvent>), ChatError> {
        self.conversation(user_id, conversation_id).await?;
        let content = parse_content(content)?;
        let message = self.db.add_message(user_id, conversation_id, Role::User.as_str(), content, None, None).await?;
        self.db.set_title_if_default(user_id, conversation_id, &title_from(content)).await?;
        Ok((message.clone(), self.start_reply(user_id, message)))
    }

    /// Edits one of the user's messages: its content is replaced, every later message (the replies to it
    /// and what followed) is deleted, and the assistant answers it anew, as after a send.
    pub async fn edit(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
        content: &str,
    ) -> Result<(Message, mpsc::Receiver<ReplyEvent>), ChatError> {
        self.conversation(user_id, conversation_id).await?;
        let original = self.db.find_message(user_id, conversation_id, message_id).await?.ok_or(ChatError::NotFound)?;
        if original.role != Role::User.as_str() {
            return Err(invalid("message_id", "Only your own messages can be edited."));
        }
        let content = parse_content(content)?;
        let message =
            self.db.replace_from(user_id, conversation_id, message_id, content).await?.ok_or(ChatError::NotFound)?;
        Ok((message.clone(), self.start_reply(user_id, message)))
    }

    /// Answers the conversation's last message again when it has no reply (after a failure).
    pub async fn retry(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
    ) -> Result<(Message, mpsc::Receiver<ReplyEvent>), ChatError> {
        let (mut last, _) = self.messages(user_id, conversation_id, Some(1), None).await?;
        match last.pop() {
            Some(message) if message.role == Role::User.as_str() => {
                Ok((message.clone(), self.start_reply(user_id, message)))
            }
            _ => Err(invalid("conversation", "The last message already has a reply.")),
        }
    }

    /// What the assistant is given: the user's custom instructions as the system message (when they have
    /// any), then the conversation's recent messages, oldest first, within the character budget (the
    /// newest is always included, whole).
    async fn history(&self, conversation_id: Uuid) -> Result<Vec<Turn>, DbError> {
        let instructions = self.db.instructions_for_conversation(conversation_id).await?;
        let mut turns = self.recent_turns(conversation_id).await?;
        if let Some(instructions) = instructions {
            turns.insert(0, Turn { role: Role::System, content: instructions });
        }
        Ok(turns)
    }

    async fn recent_turns(&self, conversation_id: Uuid) -> Result<Vec<Turn>, DbError> {
        let mut used = 0;
        let mut turns = Vec::new();
        for message in self.db.recent_messages(conversation_id, HISTORY_MESSAGES).await? {
            used += message.content.chars().count();
            if used > self.history_chars && !turns.is_empty() {
                break;
            }
            let role = if message.role == Role::User.as_str() { Role::User } else { Role::Assistant };
            turns.push(Turn { role, content: message.content });
        }
        turns.reverse();
        Ok(turns)
    }

    fn start_reply(&self, user_id: Uuid, message: Message) -> mpsc::Receiver<ReplyEvent> {
        // Capacity 1: the generator runs barely ahead of the client, so a disconnect is noticed promptly.
        let (events, receiver) = mpsc::channel(1);
        let service = self.clone();
        tokio::spawn(async move { service.generate(user_id, message, events).await });
        receiver
    }

    /// The tools the assistant may use while answering `user_id`: theirs, and only theirs.
    async fn generate(self, user_id: Uuid, message: Message, events: mpsc::Sender<ReplyEvent>) {
        let failed = |reason: String| ReplyEvent::Failed { message: message.clone(), reason, database: false };
        let database_failed =
            |reason: &str| ReplyEvent::Failed { message: message.clone(), reason: reason.to_owned(), database: true };
        let stream = match self.history(message.conversation_id).await {
            Ok(history) => self.assistant.reply(history, self.tools_for(user_id)).await,
            Err(error) => {
                tracing::error!(error = %error_chain(&error), "could not read history");
                let _ = events.send(database_failed("The database is unavailable.")).await;
                return;
            }
        };
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(error = %error, "assistant failed to start a reply");
                let _ = events.send(failed(user_facing(&error))).await;
                return;
            }
        };
        let mut text = String::new();
        let mut calls: Vec<ToolCall> = Vec::new();
        let mut client_gone = false;
        while let Some(piece) = stream.next().await {
            let event = match piece {
                Ok(ReplyPiece::Text(piece)) => {
                    text.push_str(&piece);
                    ReplyEvent::Delta(piece)
                }
                Ok(ReplyPiece::Tool(call)) => {
                    calls.push(call.clone());
                    ReplyEvent::Tool(call)
                }
                Err(error) => {
                    tracing::warn!(error = %error, "assistant failed mid-reply");
                    let _ = events.send(failed(user_facing(&error))).await;
                    return;
                }
            };
            if events.send(event).await.is_err() {
                client_gone = true;
                break;
            }
        }
        // A reply that is only tool calls still says what was done.
        if text.trim().is_empty() && !calls.is_empty() {
            text = format!("(Called {}.)", calls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "));
        }
        if text.trim().is_empty() {
            let _ = events.send(failed("The assistant sent an empty reply.".to_owned())).await;
            return;
        }
        let stored_calls =
            (!calls.is_empty()).then(|| serde_json::to_string(&calls).unwrap_or_else(|_| "[]".to_owned()));
        let reply = self
            .db
            .add_message(
                user_id,
                message.conversation_id,
                Role::Assistant.as_str(),
                &text,
                Some(message.created_at),
                stored_calls.as_deref(),
            )
            .await;
        if reply.is_ok() {
            self.insights.after_new_messages(user_id, message.conversation_id).await;
        }
        match reply {
            Ok(reply) if !client_gone => {
                let _ = events.send(ReplyEvent::Done { message, reply }).await;
            }
            Ok(_) => tracing::info!("client left mid-reply; the partial reply was stored"),
            Err(error) => {
                tracing::error!(error = %error_chain(&error), "could not store the reply");
                let _ = events.send(database_failed("The reply could not be saved.")).await;
            }
        }
    }
}

/// Why a whole reply did not arrive: the sentence to show, and whether the database (not the assistant)
/// was at fault.
#[derive(Debug)]
pub struct NoReply {
    pub reason: String,
    pub database: bool,
}

/// Waits for a reply to finish: the stored message and reply, or why there is no reply.
pub async fn whole_reply(mut events: mpsc::Receiver<ReplyEvent>) -> Result<(Message, Message), NoReply> {
    while let Some(event) = events.recv().await {
        match event {
            ReplyEvent::Delta(_) | ReplyEvent::Tool(_) => {}
            ReplyEvent::Done { message, reply } => return Ok((message, reply)),
            ReplyEvent::Failed { reason, database, .. } => return Err(NoReply { reason, database }),
        }
    }
    Err(NoReply { reason: "The reply was interrupted.".to_owned(), database: false })
}

fn user_facing(error: &AssistantError) -> String {
    match error {
        AssistantError::Timeout(_) => "The assistant took too long to answer.".to_owned(),
        AssistantError::Status(status) => format!("The assistant's service answered with an error ({status})."),
        AssistantError::Unreachable(_) => "The assistant's service could not be reached.".to_owned(),
        AssistantError::Malformed(_) => "The assistant sent a reply Parley could not read.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::title_from;

    #[test]
    fn titles_come_from_the_first_line() {
        assert_eq!(title_from("  \nHello world\nmore"), "Hello world");
        assert_eq!(title_from("## How do I **paginate** a `list`?"), "How do I paginate a list?");
        assert_eq!(title_from("```\ncode"), "code");
        let long = "x".repeat(100);
        assert_eq!(title_from(&long).chars().count(), 60);
        assert!(title_from(&long).ends_with('…'));
    }
}
