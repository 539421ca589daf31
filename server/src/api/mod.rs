//! The JSON API under `/api/v1`, one module per resource.

mod auth;
pub mod conversations;
pub mod extract;
mod me;

use std::collections::BTreeMap;

use axum::{extract::DefaultBodyLimit, routing::get, Json, Router};
use chrono::SecondsFormat;
use serde::Serialize;
use utoipa::{
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
    Modify, OpenApi, ToSchema,
};

use crate::{db::User, error::ApiError, startup::AppState};

/// The JSON API; request bodies above `max_body_bytes` get `413 payload_too_large`.
pub fn router(max_body_bytes: usize) -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(me::router())
        .merge(conversations::router())
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(max_body_bytes))
}

/// The OpenAPI 3.1 document of this API, generated from the handlers and types above.
#[derive(OpenApi)]
#[openapi(
    info(title = "Parley API", version = "1", description = "Private conversations with an AI assistant."),
    paths(
        auth::signup, auth::login, auth::refresh, auth::logout,
        me::show, me::update, me::change_password, me::delete,
        conversations::list, conversations::create, conversations::show, conversations::rename,
        conversations::delete, conversations::messages, conversations::send, conversations::retry,
    ),
    modifiers(&BearerScheme),
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}

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

/// A user as the API shows them.
#[derive(Serialize, ToSchema)]
pub struct UserBody {
    pub id: String,
    pub email: String,
    pub display_name: Option<String>,
    pub created_at: String,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        UserBody {
            id: user.id.to_string(),
            email: user.email,
            display_name: user.display_name,
            created_at: user.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}
