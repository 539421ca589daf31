//! `/api/v1/conversations`: a user's conversations and their messages, with replies as JSON or as
//! server-sent events.

use std::{collections::HashMap, convert::Infallible};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::{get, patch, post},
};
use chrono::SecondsFormat;
use futures_util::stream;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    ErrorBody,
    extract::{ApiJson, ApiUser, OptionalJson, PathId, PathIds},
};
use crate::{
    db::{Conversation, Message},
    services::assistant::ToolCall,
    services::chat::{NoReply, ReplyEvent, tool_calls_of, whole_reply},
    web::AppState,
    web::error::ApiError,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/conversations", get(list).post(create))
        .route("/conversations/{id}", get(show).patch(rename).delete(delete))
        .route("/conversations/{id}/messages", get(messages).post(send))
        .route("/conversations/{id}/messages/{message_id}", patch(edit))
        .route("/conversations/{id}/reply", post(retry))
}

#[derive(Serialize, ToSchema)]
pub struct ConversationBody {
    id: String,
    title: String,
    created_at: String,
    updated_at: String,
}

impl From<Conversation> for ConversationBody {
    fn from(c: Conversation) -> Self {
        ConversationBody {
            id: c.id.to_string(),
            title: c.title,
            created_at: c.created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            updated_at: c.updated_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessageBody {
    id: String,
    conversation_id: String,
    /// `user` or `assistant`.
    role: String,
    /// The text; tool calls are beside it, in `tool_calls`.
    content: String,
    created_at: String,
    /// The tools the assistant called while writing this reply, in order (empty for a user's message).
    tool_calls: Vec<ToolCallBody>,
}

/// One tool call: which tool, with what, and what it answered (`{"error": …}` when it could not).
#[derive(Serialize, ToSchema)]
pub struct ToolCallBody {
    name: String,
    #[schema(value_type = Object)]
    arguments: serde_json::Value,
    #[schema(value_type = Object)]
    result: serde_json::Value,
}

impl From<ToolCall> for ToolCallBody {
    fn from(call: ToolCall) -> Self {
        ToolCallBody { name: call.name, arguments: call.arguments, result: call.result }
    }
}

impl From<Message> for MessageBody {
    fn from(m: Message) -> Self {
        let tool_calls = tool_calls_of(&m).into_iter().map(Into::into).collect();
        MessageBody {
            id: m.id.to_string(),
            conversation_id: m.conversation_id.to_string(),
            role: m.role,
            content: m.content,
            created_at: m.created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            tool_calls,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub(super) struct CreateRequest {
    title: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct RenameRequest {
    title: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct SendRequest {
    content: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct ConversationPage {
    conversations: Vec<ConversationBody>,
    next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct MessagePage {
    /// Oldest first.
    messages: Vec<MessageBody>,
    next_cursor: Option<String>,
}

/// The stored user message and the stored assistant reply.
#[derive(Serialize, ToSchema)]
pub(super) struct Exchange {
    message: MessageBody,
    reply: MessageBody,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(super) struct ListParams {
    /// 1 to 100, default 20.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Only conversations whose title or any message contains this text (at most 200 characters; an
    /// addition to API.md). Pass the same `q` with `cursor` when paging.
    q: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(super) struct MessageParams {
    /// 1 to 100, default 50.
    limit: Option<u32>,
    /// `next_cursor` of the previous page: messages older than it.
    before: Option<String>,
}

/// The request body, unless it is unusable *and* the id names none of the user's conversations: then the
/// 404 comes first, so a request about someone else's conversation learns nothing from its body's fate.
/// (With a usable body the service checks the id itself, before judging the body's content.)
async fn body_after_id<T>(
    state: &AppState,
    user_id: Uuid,
    id: Uuid,
    body: Result<ApiJson<T>, ApiError>,
) -> Result<T, ApiError> {
    match body {
        Ok(ApiJson(body)) => Ok(body),
        Err(error) => {
            state.chat.conversation(user_id, id).await?;
            Err(error)
        }
    }
}

pub(super) fn limit_param(query: &HashMap<String, String>) -> Result<Option<u32>, ApiError> {
    match query.get("limit") {
        None => Ok(None),
        Some(raw) => raw.trim().parse::<u32>().map(Some).map_err(|_| {
            ApiError::Validation([("limit".to_owned(), vec!["limit must be between 1 and 100.".to_owned()])].into())
        }),
    }
}

#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", params(ListParams), security(("bearer" = [])), responses(
    (status = 200, description = "Most recently updated first", body = ConversationPage),
    (status = 400, description = "`validation_failed`: bad limit or cursor", body = ErrorBody),
    (status = 401, description = "`unauthorized`", body = ErrorBody),
))]
pub(super) async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<ConversationPage>, ApiError> {
    let (conversations, next_cursor) = state
        .chat
        .list_conversations(
            user.id,
            limit_param(&query)?,
            query.get("cursor").map(String::as_str),
            query.get("q").map(String::as_str),
        )
        .await?;
    Ok(Json(ConversationPage { conversations: conversations.into_iter().map(Into::into).collect(), next_cursor }))
}

#[utoipa::path(post, path = "/api/v1/conversations", tag = "conversations", request_body(content = Option<CreateRequest>), security(("bearer" = [])), responses(
    (status = 201, description = "Created (default title \"New chat\")", body = ConversationBody),
    (status = 400, description = "`validation_failed`: title over 200 characters", body = ErrorBody),
))]
pub(super) async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    OptionalJson(body): OptionalJson<CreateRequest>,
) -> Result<(StatusCode, Json<ConversationBody>), ApiError> {
    let title = body.and_then(|b| b.title);
    let conversation = state.chat.create_conversation(user.id, title.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(conversation.into())))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = ConversationBody), (status = 404, description = "`not_found`", body = ErrorBody),
))]
pub(super) async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
) -> Result<Json<ConversationBody>, ApiError> {
    Ok(Json(state.chat.conversation(user.id, id).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = String, Path)), request_body = RenameRequest, security(("bearer" = [])), responses(
    (status = 200, body = ConversationBody),
    (status = 400, description = "`validation_failed`", body = ErrorBody),
    (status = 404, description = "`not_found`", body = ErrorBody),
))]
pub(super) async fn rename(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
    body: Result<ApiJson<RenameRequest>, ApiError>,
) -> Result<Json<ConversationBody>, ApiError> {
    let body = body_after_id(&state, user.id, id, body).await?;
    Ok(Json(state.chat.rename(user.id, id, &body.title).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Deleted with its messages"), (status = 404, description = "`not_found`", body = ErrorBody),
))]
pub(super) async fn delete(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    state.chat.delete(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "conversations", params(("id" = String, Path), MessageParams), security(("bearer" = [])), responses(
    (status = 200, description = "The newest `limit` messages older than `before`, oldest first", body = MessagePage),
    (status = 400, description = "`validation_failed`", body = ErrorBody),
    (status = 404, description = "`not_found`", body = ErrorBody),
))]
pub(super) async fn messages(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<MessagePage>, ApiError> {
    let (messages, next_cursor) =
        state.chat.messages(user.id, id, limit_param(&query)?, query.get("before").map(String::as_str)).await?;
    Ok(Json(MessagePage { messages: messages.into_iter().map(Into::into).collect(), next_cursor }))
}

/// With `Accept: text/event-stream` the reply streams as server-sent events: `delta` events `{"text"}` and
/// `tool` events `{name, arguments, result}` as the assistant calls tools,
/// then `done` with `{message, reply}` (or `error` with the error body).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations", params(("id" = String, Path)), request_body = SendRequest, security(("bearer" = [])), responses(
    (status = 201, description = "The stored message and reply (or an event stream)", body = Exchange),
    (status = 400, description = "`validation_failed`: content 1 to 32,000 characters", body = ErrorBody),
    (status = 404, description = "`not_found`", body = ErrorBody),
    (status = 502, description = "`assistant_unavailable`: the message is saved, no reply is", body = ErrorBody),
))]
pub(super) async fn send(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
    headers: HeaderMap,
    body: Result<ApiJson<SendRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let body = body_after_id(&state, user.id, id, body).await?;
    let (_, events) = state.chat.send(user.id, id, &body.content).await?;
    reply_response(&headers, events).await
}

/// Edits one of the user's messages: every later message is replaced by a new reply to the edited one,
/// which answers like a send (JSON, or server-sent events with `Accept: text/event-stream`).
#[utoipa::path(patch, path = "/api/v1/conversations/{id}/messages/{message_id}", tag = "conversations", params(("id" = String, Path), ("message_id" = String, Path)), request_body = SendRequest, security(("bearer" = [])), responses(
    (status = 201, description = "The edited message and its new reply (or an event stream)", body = Exchange),
    (status = 400, description = "`validation_failed`: content 1 to 32,000 characters, or not a user message", body = ErrorBody),
    (status = 404, description = "`not_found`", body = ErrorBody),
    (status = 502, description = "`assistant_unavailable`: the edit is saved, no reply is", body = ErrorBody),
))]
pub(super) async fn edit(
    State(state): State<AppState>,
    user: ApiUser,
    PathIds(id, message_id): PathIds,
    headers: HeaderMap,
    body: Result<ApiJson<SendRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let body = body_after_id(&state, user.id, id, body).await?;
    let (_, events) = state.chat.edit(user.id, id, message_id, &body.content).await?;
    reply_response(&headers, events).await
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/reply", tag = "conversations", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 201, description = "The last message and its new reply (or an event stream)", body = Exchange),
    (status = 400, description = "`validation_failed`: the last message already has a reply", body = ErrorBody),
    (status = 404, description = "`not_found`", body = ErrorBody),
    (status = 502, description = "`assistant_unavailable`", body = ErrorBody),
))]
pub(super) async fn retry(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, events) = state.chat.retry(user.id, id).await?;
    reply_response(&headers, events).await
}

fn wants_event_stream(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/event-stream"))
}

fn assistant_failed(reason: &str) -> ErrorBody {
    ErrorBody {
        error: super::ErrorDetail {
            code: "assistant_unavailable".to_owned(),
            message: format!("{reason} Your message was saved; you can try again."),
            fields: None,
        },
    }
}

/// Streams the reply as server-sent events, or waits for it and answers `201 {message, reply}`.
async fn reply_response(headers: &HeaderMap, events: mpsc::Receiver<ReplyEvent>) -> Result<Response, ApiError> {
    if wants_event_stream(headers) {
        // Dropping this stream (the client left) drops the receiver, which stops the generation.
        let sse = stream::unfold(Some(events), |state| async move {
            let mut events = state?;
            let event = match events.recv().await? {
                ReplyEvent::Delta(text) => {
                    (Event::default().event("delta").json_data(json!({ "text": text })), Some(events))
                }
                ReplyEvent::Tool(call) => {
                    (Event::default().event("tool").json_data(ToolCallBody::from(call)), Some(events))
                }
                ReplyEvent::Done { message, reply } => (
                    Event::default().event("done").json_data(Exchange { message: message.into(), reply: reply.into() }),
                    None,
                ),
                ReplyEvent::Failed { reason, .. } => {
                    (Event::default().event("error").json_data(assistant_failed(&reason)), None)
                }
            };
            let (event, next) = event;
            Some((Ok::<_, Infallible>(event.unwrap_or_default()), next))
        });
        // `X-Accel-Buffering: no` tells nginx (and proxies that honour it) to pass each event on at once.
        let unbuffered = [(HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"))];
        return Ok((StatusCode::CREATED, unbuffered, Sse::new(sse).keep_alive(KeepAlive::default())).into_response());
    }
    Ok(match whole_reply(events).await {
        Ok((message, reply)) => {
            (StatusCode::CREATED, Json(Exchange { message: message.into(), reply: reply.into() })).into_response()
        }
        Err(NoReply { database: true, .. }) => ApiError::Unavailable.into_response(),
        Err(NoReply { reason, .. }) => (StatusCode::BAD_GATEWAY, Json(assistant_failed(&reason))).into_response(),
    })
}
