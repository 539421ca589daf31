//! `/api/v1/search`: the user's messages that match a query, best match first, with a snippet each.

use std::collections::HashMap;

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ErrorBody, conversations::limit_param, extract::ApiUser};
use crate::{services::chat::SearchResult, web::AppState, web::error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new().route("/search", get(search))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(super) struct SearchParams {
    /// Words to find (1 to 200 characters after trimming). Every word must occur; the last one also
    /// matches as a prefix; "quoted words" match as a phrase. Case and diacritics are ignored.
    q: String,
    /// 1 to 100, default 20.
    limit: Option<u32>,
    /// `next_cursor` of the previous page (with the same `q`).
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct SearchResultBody {
    message_id: String,
    conversation_id: String,
    conversation_title: String,
    /// `user` or `assistant`.
    role: String,
    /// A piece of the message around the first match, on one line.
    snippet: String,
    /// The matched words in `snippet`, as `[start, end)` character offsets.
    #[schema(value_type = Vec<Vec<u32>>)]
    highlights: Vec<[usize; 2]>,
    created_at: String,
}

impl From<SearchResult> for SearchResultBody {
    fn from(result: SearchResult) -> Self {
        let hit = result.hit;
        SearchResultBody {
            message_id: hit.id.to_string(),
            conversation_id: hit.conversation_id.to_string(),
            conversation_title: hit.conversation_title,
            role: hit.role,
            snippet: result.snippet,
            highlights: result.highlights.into_iter().map(|(start, end)| [start, end]).collect(),
            created_at: hit.created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(super) struct SearchPage {
    /// Best match first (ties: newer first).
    results: Vec<SearchResultBody>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchParams), security(("bearer" = [])), responses(
    (status = 200, description = "The user's matching messages, best match first", body = SearchPage),
    (status = 400, description = "`validation_failed`: q empty or over 200 characters, bad limit or cursor", body = ErrorBody),
))]
pub(super) async fn search(
    State(state): State<AppState>,
    user: ApiUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<SearchPage>, ApiError> {
    let (_, results, next_cursor) = state
        .chat
        .search(
            user.id,
            query.get("q").map(String::as_str),
            limit_param(&query)?,
            query.get("cursor").map(String::as_str),
        )
        .await?;
    Ok(Json(SearchPage { results: results.into_iter().map(Into::into).collect(), next_cursor }))
}
