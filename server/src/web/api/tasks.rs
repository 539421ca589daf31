//! `/api/v1/tasks`: a user's task list.

use std::collections::HashMap;

use axum::{
    Json, Router,
    extract::{Query, State},
    http::StatusCode,
    routing::get,
};
use chrono::SecondsFormat;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    ErrorBody,
    extract::{ApiJson, ApiUser, PathId},
};
use crate::{db::Task, services::tasks::TaskEdit, web::AppState, web::error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new().route("/tasks", get(list).post(create)).route("/tasks/{id}", get(show).patch(update).delete(delete))
}

#[derive(Serialize, ToSchema)]
pub struct TaskBody {
    id: String,
    title: String,
    description: Option<String>,
    completed: bool,
    created_at: String,
    updated_at: String,
}

impl From<Task> for TaskBody {
    fn from(t: Task) -> Self {
        TaskBody {
            id: t.id.to_string(),
            title: t.title,
            description: t.description,
            completed: t.completed,
            created_at: t.created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            updated_at: t.updated_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(super) struct TaskPage {
    /// Newest first.
    tasks: Vec<TaskBody>,
    next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct CreateTaskRequest {
    /// 1 to 200 characters after trimming.
    title: String,
    /// At most 2,000 characters; blank means none.
    description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct UpdateTaskRequest {
    title: Option<String>,
    /// `null` clears it; leaving it out keeps it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    completed: Option<bool>,
}

/// A field that is present, even as `null`, is `Some`: PATCH tells "clear it" from "leave it".
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(super) struct TaskListParams {
    /// `true` for done tasks only, `false` for open ones only; all when absent.
    completed: Option<bool>,
    /// 1 to 100, default 20.
    limit: Option<u32>,
    /// `next_cursor` of the previous page (pass the same `completed`).
    cursor: Option<String>,
}

fn query_error(field: &str, message: &str) -> ApiError {
    ApiError::Validation([(field.to_owned(), vec![message.to_owned()])].into())
}

#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskListParams), security(("bearer" = [])), responses(
    (status = 200, description = "Newest first", body = TaskPage),
    (status = 400, description = "`validation_failed`: bad `completed`, `limit` or `cursor`", body = ErrorBody),
))]
pub(super) async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<TaskPage>, ApiError> {
    let completed = match query.get("completed").map(|v| v.trim()) {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(query_error("completed", "completed must be true or false.")),
    };
    let limit = match query.get("limit") {
        None => None,
        Some(raw) => {
            Some(raw.trim().parse::<u32>().map_err(|_| query_error("limit", "limit must be between 1 and 100."))?)
        }
    };
    let (tasks, next_cursor) =
        state.tasks.list(user.id, completed, limit, query.get("cursor").map(String::as_str)).await?;
    Ok(Json(TaskPage { tasks: tasks.into_iter().map(Into::into).collect(), next_cursor }))
}

#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = CreateTaskRequest, security(("bearer" = [])), responses(
    (status = 201, description = "Created, open", body = TaskBody),
    (status = 400, description = "`validation_failed` (title, description) or `malformed_request`", body = ErrorBody),
))]
pub(super) async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<CreateTaskRequest>,
) -> Result<(StatusCode, Json<TaskBody>), ApiError> {
    let task = state.tasks.create(user.id, &body.title, body.description.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(task.into())))
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = TaskBody), (status = 404, description = "`not_found`", body = ErrorBody),
))]
pub(super) async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
) -> Result<Json<TaskBody>, ApiError> {
    Ok(Json(state.tasks.get(user.id, id).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = String, Path)), request_body = UpdateTaskRequest, security(("bearer" = [])), responses(
    (status = 200, body = TaskBody),
    (status = 400, description = "`validation_failed` or `malformed_request`", body = ErrorBody),
    (status = 404, description = "`not_found`", body = ErrorBody),
))]
pub(super) async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
    body: Result<ApiJson<UpdateTaskRequest>, ApiError>,
) -> Result<Json<TaskBody>, ApiError> {
    let body = body_after_id(&state, user.id, id, body).await?;
    let edit = TaskEdit { title: body.title, description: body.description, completed: body.completed };
    Ok(Json(state.tasks.edit(user.id, id, edit).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Deleted"), (status = 404, description = "`not_found`", body = ErrorBody),
))]
pub(super) async fn delete(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    state.tasks.delete(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body, unless it is unusable and the id names none of the user's tasks: then the 404 comes first,
/// so a request about someone else's task learns nothing from its body's fate.
async fn body_after_id<T>(
    state: &AppState,
    user_id: Uuid,
    id: Uuid,
    body: Result<ApiJson<T>, ApiError>,
) -> Result<T, ApiError> {
    match body {
        Ok(ApiJson(body)) => Ok(body),
        Err(error) => {
            state.tasks.get(user_id, id).await?;
            Err(error)
        }
    }
}
