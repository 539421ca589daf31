//! Imports: `POST /api/v1/imports` (the body is the export file) and `GET /api/v1/imports/{id}`.

use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};
use chrono::SecondsFormat;
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    ErrorBody,
    extract::{ApiUser, PathId},
};
use crate::{
    db::Import,
    web::{AppState, error::ApiError},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/imports", post(create).get(list)).route("/imports/{id}", get(show))
}

/// An import as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct ImportBody {
    id: String,
    /// `queued`, `running`, `done` or `failed`.
    state: String,
    /// `chatgpt`, `openwebui` or `parley`, once the file has been read.
    format: Option<String>,
    /// Conversations added so far.
    conversations: i32,
    /// Messages added so far.
    messages: i32,
    /// Messages the file holds (known once it has been checked): the end of the progress bar.
    total_messages: Option<i32>,
    /// Parts that could not be kept (images, files and other non-text content).
    skipped: i32,
    /// Why the import failed, in words meant for the person who uploaded it.
    error: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<Import> for ImportBody {
    fn from(import: Import) -> Self {
        ImportBody {
            id: import.id.to_string(),
            state: import.state,
            format: import.format,
            conversations: import.conversations,
            messages: import.messages,
            total_messages: import.total_messages,
            skipped: import.skipped,
            error: import.error,
            created_at: import.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            updated_at: import.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(super) struct ImportList {
    /// The ten most recent, newest first.
    imports: Vec<ImportBody>,
}

#[utoipa::path(post, path = "/api/v1/imports", tag = "imports", security(("bearer" = [])),
    request_body(content = String, description = "The export file itself: ChatGPT's conversations.json or its zip, \
        Open WebUI's chat export, or Parley's JSON export", content_type = "application/octet-stream"),
    responses(
        (status = 202, description = "Received and queued; follow it at `GET /api/v1/imports/{id}`", body = ImportBody),
        (status = 400, description = "`validation_failed`: the body is empty", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: larger than `PARLEY_MAX_IMPORT_BYTES`", body = ErrorBody),
    ))]
pub(super) async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    body: Body,
) -> Result<(StatusCode, Json<ImportBody>), ApiError> {
    // A declared length over the limit was refused before this (`security::limit_body_size`); the import
    // counts what actually arrives.
    let import = state.imports.receive(user.id, body.into_data_stream()).await?;
    Ok((StatusCode::ACCEPTED, Json(import.into())))
}

#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "imports", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = ImportBody), (status = 404, description = "`not_found`", body = ErrorBody),
))]
pub(super) async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
) -> Result<Json<ImportBody>, ApiError> {
    Ok(Json(state.imports.get(user.id, id).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/imports", tag = "imports", security(("bearer" = [])), responses(
    (status = 200, body = ImportList),
))]
pub(super) async fn list(State(state): State<AppState>, user: ApiUser) -> Result<Json<ImportList>, ApiError> {
    let imports = state.imports.recent(user.id).await?;
    Ok(Json(ImportList { imports: imports.into_iter().map(Into::into).collect() }))
}
