//! The JSON API's one error type and its one mapping to responses (the shape is fixed by `API.md`).
//! Domain errors arrive through [`Refusal`], whose causes were logged where they were classified; bodies
//! carry only a code and a human sentence.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    services::{
        accounts::AccountError, chat::ChatError, imports::ImportError, insights::InsightError, tasks::TaskError,
    },
    support::{FieldErrors, Refusal, outward_via_refusal},
};
use axum::{
    Json,
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Seconds a client is asked to wait (`Retry-After`) when the database is unavailable.
pub const RETRY_AFTER_UNAVAILABLE: &str = "5";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    #[error("unauthorized")]
    Unauthorized,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("email taken")]
    EmailTaken,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("rate limited")]
    RateLimited { retry_after: u64 },
    #[error("service unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Validation(_) => (StatusCode::BAD_REQUEST, "validation_failed", "Some fields are invalid."),
            ApiError::Malformed(message) => (StatusCode::BAD_REQUEST, "malformed_request", message),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Sign in to continue."),
            ApiError::InvalidCredentials => {
                (StatusCode::UNAUTHORIZED, "invalid_credentials", "The email or password is incorrect.")
            }
            ApiError::Forbidden(message) => (StatusCode::FORBIDDEN, "forbidden", message),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", "Nothing was found here."),
            ApiError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "This method is not allowed here.")
            }
            ApiError::EmailTaken => (StatusCode::CONFLICT, "email_taken", "This email is already registered."),
            ApiError::PayloadTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large.")
            }
            ApiError::RateLimited { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many attempts. Try again later.")
            }
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "The service is temporarily unavailable. Try again shortly.",
            ),
            ApiError::Internal => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong on our side.")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let fields = match &self {
            ApiError::Validation(fields) => Some(fields.clone()),
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message: message.to_owned(), fields } };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            ApiError::Unavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_UNAVAILABLE));
            }
            ApiError::RateLimited { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            ApiError::Unauthorized | ApiError::InvalidCredentials => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Validation(fields) => ApiError::Validation(fields),
            Refusal::NotFound(_) => ApiError::NotFound,
            Refusal::EmailTaken => ApiError::EmailTaken,
            Refusal::InvalidCredentials => ApiError::InvalidCredentials,
            Refusal::Unauthorized => ApiError::Unauthorized,
            Refusal::RateLimited { retry_after } => ApiError::RateLimited { retry_after },
            Refusal::TooLarge { .. } => ApiError::PayloadTooLarge,
            Refusal::Unavailable => ApiError::Unavailable,
            Refusal::Internal => ApiError::Internal,
        }
    }
}

outward_via_refusal!(ApiError: AccountError, ChatError, TaskError, InsightError, ImportError);

/// Every error response: `{ "error": { "code", "message", "fields"? } }`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// e.g. `validation_failed`, `unauthorized`, `not_found`.
    pub code: String,
    pub message: String,
    /// Only with `validation_failed`: messages per field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, Vec<String>>>,
}

/// tower-sessions answers a bare, bodiless 500 when it cannot save the session after the handler ran (the
/// database went away mid-request). That is an outage, not a bug: answer it as one, a 503 in the API's
/// error shape or a short page for browsers. Every other response passes through untouched; our own 500s
/// always carry a body and a content type.
pub async fn session_store_outage(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let bare_500 = response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && !response.headers().contains_key(header::CONTENT_TYPE);
    if !bare_500 {
        return response;
    }
    if is_api {
        return ApiError::Unavailable.into_response();
    }
    unavailable_page()
}

/// The page a browser gets for a form whose text Parley refuses before any page could take it (a NUL
/// character, which no keyboard types): status 400, what was wrong with which field, and the way back,
/// where the form still holds what was typed.
pub fn refused_form_page(fields: &FieldErrors) -> Response {
    use app::pages::chat::escape_html as escape;
    let items: String = fields
        .iter()
        .flat_map(|(field, messages)| messages.iter().map(move |m| (field, m)))
        .map(|(field, message)| format!("<li><strong>{}</strong>: {}</li>", escape(field), escape(message)))
        .collect();
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
        <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
        <title>This form could not be sent · Parley</title></head><body>\
        <main><h1>This form could not be sent</h1><ul>{items}</ul>\
        <p>Nothing was saved. Go back, correct the field and send it again.</p></main></body></html>"
    );
    (StatusCode::BAD_REQUEST, axum::response::Html(html)).into_response()
}

/// The page a browser gets when Parley cannot reach its database outside a page render.
pub fn unavailable_page() -> Response {
    let html = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
        <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
        <title>Temporarily unavailable · Parley</title></head><body>\
        <main><h1>Parley is temporarily unavailable</h1>\
        <p>Nothing you saved is lost. Please try again in a moment.</p>\
        <p><a href=\"\">Try again</a></p></main></body></html>";
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::response::Html(html)).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_UNAVAILABLE));
    response
}
