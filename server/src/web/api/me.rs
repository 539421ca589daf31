//! `/api/v1/me`: the signed-in user's own account.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{delete as delete_route, get, post},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    Empty, ErrorBody, UserBody,
    extract::{ApiJson, BearerUser, PathId},
};
use crate::{
    services::accounts::{CurrentSession, SessionInfo, rfc3339},
    web::AppState,
    web::error::ApiError,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(show).patch(update).delete(delete))
        .route("/me/password", post(change_password))
        .route("/me/email", post(change_email))
        .route("/me/verification", post(resend_verification))
        .route("/me/sessions", get(sessions))
        .route("/me/sessions/{id}", delete_route(end_session))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct EmailRequest {
    /// The new address; it becomes the account's email when the link sent to it is followed.
    email: String,
    current_password: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct SessionBody {
    id: String,
    /// `browser` (a signed-in browser) or `api` (an API login and its refresh tokens).
    kind: &'static str,
    created_at: String,
    last_seen_at: String,
    user_agent: Option<String>,
    /// The client IP as Parley saw it.
    ip: Option<String>,
    /// Whether this is the session making the request.
    current: bool,
}

#[derive(Serialize, ToSchema)]
pub(super) struct SessionList {
    sessions: Vec<SessionBody>,
}

impl From<SessionInfo> for SessionBody {
    fn from(s: SessionInfo) -> Self {
        SessionBody {
            id: s.id.to_string(),
            kind: s.kind.as_str(),
            created_at: rfc3339(s.created_at),
            last_seen_at: rfc3339(s.last_seen_at),
            user_agent: s.user_agent,
            ip: s.ip,
            current: s.current,
        }
    }
}

/// Either or both; what is left out stays as it is.
#[derive(Deserialize, ToSchema)]
pub(super) struct UpdateRequest {
    /// 1 to 80 characters after trimming.
    display_name: Option<String>,
    /// At most 4,000 characters; blank or `null` clears them.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    instructions: Option<Option<String>>,
}

/// A field that is present, even as `null`, is `Some`: PATCH tells "clear it" from "leave it".
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize, ToSchema)]
pub(super) struct PasswordRequest {
    current_password: String,
    new_password: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct DeleteRequest {
    password: String,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])), responses(
    (status = 200, body = UserBody), (status = 401, description = "`unauthorized`", body = ErrorBody),
))]
pub(super) async fn show(auth: BearerUser) -> Json<UserBody> {
    Json(auth.user.into())
}

#[utoipa::path(patch, path = "/api/v1/me", tag = "me", request_body = UpdateRequest, security(("bearer" = [])), responses(
    (status = 200, body = UserBody),
    (status = 400, description = "`validation_failed`: display name 1 to 80 characters, instructions at most 4,000", body = ErrorBody),
    (status = 401, description = "`unauthorized`", body = ErrorBody),
))]
pub(super) async fn update(
    State(state): State<AppState>,
    auth: BearerUser,
    ApiJson(body): ApiJson<UpdateRequest>,
) -> Result<Json<UserBody>, ApiError> {
    if body.display_name.is_none() && body.instructions.is_none() {
        return Err(ApiError::Malformed("Give display_name, instructions, or both."));
    }
    let instructions = body.instructions.map(|i| i.unwrap_or_default());
    let user =
        state.accounts.update_profile(auth.user.id, body.display_name.as_deref(), instructions.as_deref()).await?;
    Ok(Json(user.into()))
}

#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", request_body = PasswordRequest, security(("bearer" = [])), responses(
    (status = 204, description = "Changed; every other session and refresh token of the user is revoked"),
    (status = 400, description = "`validation_failed`", body = ErrorBody),
    (status = 401, description = "`invalid_credentials` (wrong current password) or `unauthorized`", body = ErrorBody),
))]
pub(super) async fn change_password(
    State(state): State<AppState>,
    auth: BearerUser,
    ApiJson(body): ApiJson<PasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .accounts
        .change_password(auth.user.id, &body.current_password, &body.new_password, auth.grant.login_id, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/me", tag = "me", request_body = DeleteRequest, security(("bearer" = [])), responses(
    (status = 204, description = "The user and everything they own are gone"),
    (status = 401, description = "`invalid_credentials` or `unauthorized`", body = ErrorBody),
))]
pub(super) async fn delete(
    State(state): State<AppState>,
    auth: BearerUser,
    ApiJson(body): ApiJson<DeleteRequest>,
) -> Result<StatusCode, ApiError> {
    state.accounts.delete_account(auth.user.id, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/me/email", tag = "me", request_body = EmailRequest, security(("bearer" = [])), responses(
    (status = 202, description = "A verification link is on its way to the new address; the email changes when it is followed", body = Empty),
    (status = 400, description = "`validation_failed` (`email`)", body = ErrorBody),
    (status = 401, description = "`invalid_credentials` (wrong current password) or `unauthorized`", body = ErrorBody),
    (status = 429, description = "`rate_limited`: too many emails asked for", body = ErrorBody),
))]
pub(super) async fn change_email(
    State(state): State<AppState>,
    auth: BearerUser,
    ApiJson(body): ApiJson<EmailRequest>,
) -> Result<impl IntoResponse, ApiError> {
    state.accounts.request_email_change(auth.user.id, &body.email, &body.current_password).await?;
    Ok((StatusCode::ACCEPTED, Json(Empty {})))
}

#[utoipa::path(post, path = "/api/v1/me/verification", tag = "me", security(("bearer" = [])), responses(
    (status = 202, description = "A new verification link is on its way to the account's email", body = Empty),
    (status = 429, description = "`rate_limited`: too many emails asked for", body = ErrorBody),
))]
pub(super) async fn resend_verification(
    State(state): State<AppState>,
    auth: BearerUser,
) -> Result<impl IntoResponse, ApiError> {
    state.accounts.send_verification(auth.user.id).await?;
    Ok((StatusCode::ACCEPTED, Json(Empty {})))
}

#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "me", security(("bearer" = [])), responses(
    (status = 200, description = "The user's browser sessions and API logins, this one first, then most recently seen", body = SessionList),
))]
pub(super) async fn sessions(State(state): State<AppState>, auth: BearerUser) -> Result<Json<SessionList>, ApiError> {
    let sessions = state.accounts.list_sessions(auth.user.id, CurrentSession::Api(auth.grant.login_id)).await?;
    Ok(Json(SessionList { sessions: sessions.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = String, Path, description = "A session id from the list")),
    responses(
        (status = 204, description = "That session or API login has ended"),
        (status = 404, description = "`not_found`: no such session of this user", body = ErrorBody),
))]
pub(super) async fn end_session(
    State(state): State<AppState>,
    auth: BearerUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    if state.accounts.end_session(auth.user.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
