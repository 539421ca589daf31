use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;

use crate::web::AppState;

/// `GET /health`: 200 when the database answers in time, otherwise 503. It never waits longer than the
/// configured timeout, so a hung database cannot hang the load balancer's probe.
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let database_ok = matches!(tokio::time::timeout(state.config.health_timeout, state.db.ping()).await, Ok(Ok(())));
    if database_ok {
        (StatusCode::OK, Json(json!({ "status": "ok", "database": "ok" })))
    } else {
        tracing::warn!("health check: database unavailable");
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "degraded", "database": "unavailable" })))
    }
}
