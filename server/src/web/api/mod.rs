//! The JSON API under `/api/v1`, one module per resource.

mod analyses;
mod auth;
pub mod conversations;
mod export;
pub mod extract;
mod imports;
mod me;
mod search;
pub mod tasks;

use axum::{Json, Router, extract::DefaultBodyLimit, routing::get};
use chrono::SecondsFormat;
use serde::Serialize;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};

pub use crate::web::error::{ErrorBody, ErrorDetail};
use crate::{
    db::User,
    web::{AppState, error::ApiError},
};

/// The JSON API; request bodies above `max_body_bytes` get `413 payload_too_large`.
pub fn router(max_body_bytes: usize, cors_origins: &[String]) -> Router<AppState> {
    let router = Router::new()
        .merge(auth::router())
        .merge(me::router())
        .merge(conversations::router())
        .merge(tasks::router())
        .merge(analyses::router())
        .merge(search::router())
        .merge(export::router())
        .merge(imports::router())
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(max_body_bytes));
    match cors(cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// Cross-origin access for the allowed origins' pages: bearer tokens only. Credentials (the session
/// cookie) are never allowed, so another site can call the API only with a token its user gave it.
/// Without origins, no CORS headers at all: browsers refuse every cross-origin call.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, HeaderValue, Method, header};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("last-event-id"),
            ])
            .expose_headers([header::RETRY_AFTER, header::WWW_AUTHENTICATE, header::CONTENT_DISPOSITION])
            .allow_credentials(false)
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// The OpenAPI 3.1 document of this API, generated from the handlers and types above.
#[derive(OpenApi)]
#[openapi(
    info(title = "Parley API", version = "1", description = "Private conversations with an AI assistant."),
    paths(
        auth::signup, auth::login, auth::refresh, auth::logout,
        auth::password_reset, auth::password_reset_confirm, auth::verify_email,
        me::show, me::update, me::change_password, me::delete,
        me::change_email, me::resend_verification, me::sessions, me::end_session, export::export,
        conversations::list, conversations::create, conversations::show, conversations::rename,
        conversations::delete, conversations::messages, conversations::send, conversations::edit, conversations::retry,
        tasks::list, tasks::create, tasks::show, tasks::update, tasks::delete,
        analyses::list, analyses::request, analyses::show, analyses::update, analyses::delete,
        search::search,
        imports::create, imports::show, imports::list,
    ),
    modifiers(&BearerScheme, &CommonResponses),
)]
pub struct ApiDoc;

/// The answers any operation can give besides its own, documented once here rather than on every handler
/// (the fuzzer in `scripts/fuzz-api.sh` checks every status against the document): `503` when the database
/// is out of reach; `401` where a bearer token is required; `400` and `413` where there is a body or a
/// query to get wrong; `429` where sign-in attempts are rate limited.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, path::HttpMethod};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let methods = [HttpMethod::Get, HttpMethod::Post, HttpMethod::Patch, HttpMethod::Put, HttpMethod::Delete];
            for method in methods {
                let operation = match method {
                    HttpMethod::Get => item.get.as_mut(),
                    HttpMethod::Post => item.post.as_mut(),
                    HttpMethod::Patch => item.patch.as_mut(),
                    HttpMethod::Put => item.put.as_mut(),
                    HttpMethod::Delete => item.delete.as_mut(),
                    _ => None,
                };
                let Some(operation) = operation else { continue };
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let has_input =
                    operation.request_body.is_some() || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let rate_limited = path.starts_with("/api/v1/auth/") && !path.ends_with("/logout");
                let mut add = |status: &str, description: &str| {
                    operation.responses.responses.entry(status.to_owned()).or_insert_with(|| error(description).into());
                };
                if secured {
                    add("401", "`unauthorized`: no bearer token, or one that is expired, revoked or not valid");
                }
                if has_input {
                    add("400", "`malformed_request` or `validation_failed` (with `fields`)");
                }
                if operation.request_body.is_some() {
                    add("413", "`payload_too_large`");
                }
                if rate_limited {
                    add("429", "`rate_limited`, with `Retry-After`");
                }
                add("503", "`service_unavailable`: the database is out of reach; retry after `Retry-After` seconds");
            }
        }
    }
}

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}

/// An empty JSON object: the body of a `202` that has nothing more to say.
#[derive(Serialize, ToSchema)]
pub struct Empty {}

/// A user as the API shows them.
#[derive(Serialize, ToSchema)]
pub struct UserBody {
    pub id: String,
    pub email: String,
    pub display_name: Option<String>,
    /// What the assistant should know about the user (custom instructions), sent as the system message of
    /// every conversation.
    pub instructions: Option<String>,
    /// Whether the user has followed a verification link sent to `email`.
    pub email_verified: bool,
    pub created_at: String,
    /// When the terms were accepted at signup; null when none were asked for.
    pub terms_accepted_at: Option<String>,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        UserBody {
            id: user.id.to_string(),
            email: user.email,
            display_name: user.display_name,
            instructions: user.instructions,
            email_verified: user.email_verified_at.is_some(),
            created_at: user.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            terms_accepted_at: user.terms_accepted_at.map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        }
    }
}
