//! Analyses (insights): `/api/v1/conversations/{id}/analyses` and `/api/v1/analyses/{id}`.

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    ErrorBody,
    extract::{ApiJson, ApiUser, PathId},
};
use crate::{
    services::insights::AnalysisView as AnalysisBody,
    web::{AppState, error::ApiError},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/conversations/{id}/analyses", get(list).post(request))
        .route("/analyses/{id}", get(show).patch(update).delete(delete))
}

#[derive(Serialize, ToSchema)]
pub(super) struct AnalysisList {
    /// Oldest first.
    analyses: Vec<AnalysisBody>,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct UpdateAnalysisRequest {
    /// 1 to 2,000 characters after trimming.
    summary: String,
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/analyses", tag = "analyses", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "Oldest first", body = AnalysisList),
    (status = 404, description = "`not_found`", body = ErrorBody),
))]
pub(super) async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
) -> Result<Json<AnalysisList>, ApiError> {
    let analyses = state.insights.list(user.id, id).await?;
    Ok(Json(AnalysisList { analyses: analyses.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/analyses", tag = "analyses", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 202, description = "Queued: the messages since the last analysis", body = AnalysisBody),
    (status = 400, description = "`validation_failed`: no new messages to analyse", body = ErrorBody),
    (status = 404, description = "`not_found`", body = ErrorBody),
))]
pub(super) async fn request(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
) -> Result<(StatusCode, Json<AnalysisBody>), ApiError> {
    let analysis = state.insights.request(user.id, id).await?;
    Ok((StatusCode::ACCEPTED, Json(analysis.into())))
}

#[utoipa::path(get, path = "/api/v1/analyses/{id}", tag = "analyses", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = AnalysisBody), (status = 404, description = "`not_found`", body = ErrorBody),
))]
pub(super) async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
) -> Result<Json<AnalysisBody>, ApiError> {
    Ok(Json(state.insights.get(user.id, id).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/analyses/{id}", tag = "analyses", params(("id" = String, Path)), request_body = UpdateAnalysisRequest, security(("bearer" = [])), responses(
    (status = 200, body = AnalysisBody),
    (status = 400, description = "`validation_failed` or `malformed_request`", body = ErrorBody),
    (status = 404, description = "`not_found`", body = ErrorBody),
))]
pub(super) async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
    body: Result<ApiJson<UpdateAnalysisRequest>, ApiError>,
) -> Result<Json<AnalysisBody>, ApiError> {
    // Someone else's analysis is 404 whatever the body.
    state.insights.get(user.id, id).await?;
    let ApiJson(body) = body?;
    Ok(Json(state.insights.update_summary(user.id, id, &body.summary).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/analyses/{id}", tag = "analyses", params(("id" = String, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Deleted"), (status = 404, description = "`not_found`", body = ErrorBody),
))]
pub(super) async fn delete(
    State(state): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    state.insights.delete(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
