//! `/api/v1/auth/*`: signup, login, refresh and logout for API clients.

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    Empty, ErrorBody, UserBody,
    extract::{ApiJson, BearerUser, Client, ClientIp, OptionalJson},
};
use crate::{
    services::accounts::{Signup, service::IssuedTokens},
    web::AppState,
    web::error::ApiError,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/signup", post(signup))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/password-reset", post(password_reset))
        .route("/auth/password-reset/confirm", post(password_reset_confirm))
        .route("/auth/verify-email", post(verify_email))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct PasswordResetRequest {
    email: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct PasswordResetConfirmRequest {
    /// The token from the link in the email.
    token: String,
    /// The new password (the same rules as at signup).
    password: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct VerifyEmailRequest {
    /// The token from the link in the email.
    token: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct SignupRequest {
    email: String,
    password: String,
    display_name: Option<String>,
    /// What the person wants from Parley (at most 4,000 characters): their first custom instructions.
    goals: Option<String>,
    /// Required `true` when the server has terms to accept (`PARLEY_TERMS_URL`).
    #[serde(default)]
    accept_terms: bool,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct RefreshRequest {
    refresh_token: String,
}

#[derive(Deserialize, Default, ToSchema)]
pub(super) struct LogoutRequest {
    refresh_token: Option<String>,
}

/// What signup, login and refresh return.
#[derive(Serialize, ToSchema)]
pub(super) struct TokenBody {
    user: UserBody,
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    refresh_token: String,
}

impl From<IssuedTokens> for TokenBody {
    fn from(issued: IssuedTokens) -> Self {
        TokenBody {
            refresh_token: issued.refresh_token().to_owned(),
            user: issued.user.into(),
            access_token: issued.access_token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupRequest, responses(
    (status = 201, description = "Account created and signed in", body = TokenBody),
    (status = 400, description = "`validation_failed` (with `fields`) or `malformed_request`", body = ErrorBody),
    (status = 409, description = "`email_taken`", body = ErrorBody),
    (status = 413, description = "`payload_too_large`", body = ErrorBody),
    (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
))]
pub(super) async fn signup(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<SignupRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let ip = client.ip.clone().unwrap_or_default();
    let signup = Signup {
        email: &body.email,
        password: &body.password,
        display_name: body.display_name.as_deref(),
        goals: body.goals.as_deref(),
        accept_terms: body.accept_terms,
    };
    let user = state.accounts.signup(&ip, signup).await?;
    let issued = state.accounts.start_api_login(user, &client).await?;
    Ok((StatusCode::CREATED, Json(TokenBody::from(issued))))
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, description = "Signed in", body = TokenBody),
    (status = 400, description = "`malformed_request`", body = ErrorBody),
    (status = 401, description = "`invalid_credentials`: unknown email or wrong password, alike", body = ErrorBody),
    (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
))]
pub(super) async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let ip = client.ip.clone().unwrap_or_default();
    let user = state.accounts.login(&ip, &body.email, &body.password).await?;
    let issued = state.accounts.start_api_login(user, &client).await?;
    Ok(Json(TokenBody::from(issued)))
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, description = "A new token pair; the presented refresh token stops working", body = TokenBody),
    (status = 401, description = "`unauthorized`: unknown, expired or reused (reuse revokes the whole login)", body = ErrorBody),
    (status = 429, description = "`rate_limited`", body = ErrorBody),
))]
pub(super) async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let issued = state.accounts.refresh(&ip, &body.refresh_token).await?;
    Ok(Json(TokenBody::from(issued)))
}

/// The body is optional here: empty means "no refresh token given".
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body(content = Option<LogoutRequest>), security(("bearer" = [])), responses(
    (status = 204, description = "That login's refresh tokens are revoked"),
    (status = 401, description = "`unauthorized`", body = ErrorBody),
))]
pub(super) async fn logout(
    State(state): State<AppState>,
    auth: BearerUser,
    OptionalJson(body): OptionalJson<LogoutRequest>,
) -> Result<StatusCode, ApiError> {
    let request = body.unwrap_or_default();
    state.accounts.logout_api(auth.grant, request.refresh_token.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = PasswordResetRequest, responses(
    (status = 202, description = "Accepted: if the address has an account, a reset link is on its way. The answer is the same either way", body = Empty),
    (status = 400, description = "`validation_failed`: not an email address", body = ErrorBody),
    (status = 429, description = "`rate_limited`: too many requests from this IP or for this address", body = ErrorBody),
))]
pub(super) async fn password_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> Result<impl IntoResponse, ApiError> {
    state.accounts.request_password_reset(&ip, &body.email).await?;
    Ok((StatusCode::ACCEPTED, Json(Empty {})))
}

#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = PasswordResetConfirmRequest, responses(
    (status = 204, description = "The password is changed; every session and refresh token of the account has ended"),
    (status = 400, description = "`validation_failed`: `token` unknown, used or expired, or `password` too weak", body = ErrorBody),
))]
pub(super) async fn password_reset_confirm(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PasswordResetConfirmRequest>,
) -> Result<StatusCode, ApiError> {
    state.accounts.confirm_password_reset(&body.token, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = VerifyEmailRequest, responses(
    (status = 204, description = "Verified; after an email change, the account's email is now the new address"),
    (status = 400, description = "`validation_failed`: `token` unknown, used or expired", body = ErrorBody),
    (status = 409, description = "`email_taken`: the new address was registered by another account meanwhile", body = ErrorBody),
))]
pub(super) async fn verify_email(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<VerifyEmailRequest>,
) -> Result<StatusCode, ApiError> {
    state.accounts.verify_email(&body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}
