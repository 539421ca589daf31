//! Logging set-up: readable lines in development, JSON lines in production, one span per request that
//! carries its request id.

use axum::http::Request;
use tracing::Span;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::support::config::{Config, LogFormat};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Installs the global subscriber. Later calls (tests build many apps in one process) are ignored.
pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match config.log_format {
        LogFormat::Json => registry.with(fmt::layer().json().flatten_event(true).with_current_span(true)).try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
}

/// The span for one request. Only the method, the path (never the query string, which may carry tokens)
/// and the request id are recorded; headers are left out because they carry cookies and bearer tokens.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}
