//! `/api/v1/me`: the signed-in user's own account.

use axum::{extract::State, http::StatusCode, routing::{get, post}, Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    extract::{ApiJson, BearerUser},
    ErrorBody, UserBody,
};
use crate::{error::ApiError, startup::AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(show).patch(update).delete(delete))
        .route("/me/password", post(change_password))
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
    let user = state.accounts.update_profile(auth.user.id, body.display_name.as_deref(), instructions.as_deref()).await?;
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
