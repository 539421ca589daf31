//! `/api/v1/me/export`: everything the user owns, streamed, as JSON or as a zip of Markdown files.

use std::collections::HashMap;

use axum::{
    Router,
    body::Body,
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use futures_util::stream;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    ErrorBody, UserBody,
    conversations::{ConversationBody, MessageBody},
    extract::ApiUser,
    tasks::TaskBody,
};
use crate::{
    db::{Conversation, Message, Task, User},
    services::export::{ExportFormat, ExportShape},
    support::FieldErrors,
    web::AppState,
    web::error::ApiError,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/me/export", get(export))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(super) struct ExportParams {
    /// `json` (the default) or `markdown` (a zip of one Markdown file per conversation).
    format: Option<String>,
}

/// The JSON export (documentation of what the stream adds up to).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub(super) struct ExportDocument {
    user: UserBody,
    /// Most recently updated first; each with all its messages, oldest first.
    conversations: Vec<ExportedConversation>,
    /// Newest first.
    tasks: Vec<TaskBody>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub(super) struct ExportedConversation {
    id: String,
    title: String,
    created_at: String,
    updated_at: String,
    messages: Vec<MessageBody>,
}

/// The export in the API's own shapes.
struct ApiShape;

impl ExportShape for ApiShape {
    fn user(&self, user: &User) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&UserBody::from(user.clone()))
    }

    fn conversation(&self, conversation: &Conversation) -> Result<Vec<u8>, serde_json::Error> {
        let mut object = serde_json::to_vec(&ConversationBody::from(conversation.clone()))?;
        // Left open for `"messages": [...]` (compact serde_json output always ends with the brace).
        object.pop();
        Ok(object)
    }

    fn message(&self, message: &Message) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&MessageBody::from(message.clone()))
    }

    fn task(&self, task: &Task) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&TaskBody::from(task.clone()))
    }
}

#[utoipa::path(get, path = "/api/v1/me/export", tag = "me", params(ExportParams), security(("bearer" = [])), responses(
    (status = 200, description = "Everything the user owns, streamed as an attachment", content(
        (ExportDocument = "application/json"),
        (String = "application/zip"),
    )),
    (status = 400, description = "`validation_failed`: `format` is neither `json` nor `markdown`", body = ErrorBody),
))]
pub(super) async fn export(
    State(state): State<AppState>,
    caller: ApiUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let format = match query.get("format").map(String::as_str) {
        None | Some("json") => ExportFormat::Json,
        Some("markdown") => ExportFormat::MarkdownZip,
        Some(_) => {
            let fields = FieldErrors::from([("format".to_owned(), vec!["Choose json or markdown.".to_owned()])]);
            return Err(ApiError::Validation(fields));
        }
    };
    let user = state.accounts.find_user(caller.id).await?.ok_or(ApiError::Unauthorized)?;
    tracing::info!(user_id = %user.id, ?format, "export started");
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let (content_type, file_name) = match format {
        ExportFormat::Json => ("application/json", format!("parley-export-{date}.json")),
        ExportFormat::MarkdownZip => ("application/zip", format!("parley-export-{date}.zip")),
    };
    let chunks = state.export.start(user, format, ApiShape);
    let body = Body::from_stream(stream::unfold(chunks, |mut chunks| async move {
        chunks.recv().await.map(|chunk| (chunk, chunks))
    }));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}
