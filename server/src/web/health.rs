use axum::{
    Json,
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::web::{
    AppState,
    error::{ApiError, unavailable_page},
};

/// `GET /health`: 200 when the database answers in time, otherwise 503. It never waits longer than the
/// configured timeout, so a hung database cannot hang the load balancer's probe. Before the database was
/// first reached and migrated it answers 503 at once (the cause is in the log, retried in the background).
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let database_ok = state.ready.is_ready()
        && matches!(tokio::time::timeout(state.config.health_timeout, state.db.ping()).await, Ok(Ok(())));
    if database_ok {
        (StatusCode::OK, Json(json!({ "status": "ok", "database": "ok" })))
    } else {
        tracing::warn!("health check: database unavailable");
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "degraded", "database": "unavailable" })))
    }
}

/// Until the database has been reached and migrated, answers everything but `/health` and the static
/// bundle 503: the API in its error shape, pages with the short "temporarily unavailable" page. Nothing
/// behind this layer (sessions, identities, handlers) meets a database that is not there or not migrated.
pub async fn until_ready(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.ready.is_ready() {
        return next.run(request).await;
    }
    let path = request.uri().path();
    if path == "/health" || path.starts_with("/pkg/") {
        next.run(request).await
    } else if path.starts_with("/api/v1/") || path == "/mcp" || path.starts_with("/mcp/") {
        ApiError::Unavailable.into_response()
    } else {
        unavailable_page()
    }
}
