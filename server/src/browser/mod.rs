//! The browser's side: the ports that the Leptos server functions call, backed by the services and by the
//! cookie session of the request being handled.

mod accounts;
mod chat;

pub use accounts::BrowserAccounts;
pub use chat::BrowserChat;

use app::server_fns::accounts::FormError;
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use leptos::prelude::use_context;
use tower_sessions::Session;
use uuid::Uuid;

use crate::{api::extract::client_ip, db::SESSION_USER_KEY, error::error_chain};

fn session_error(error: tower_sessions::session::Error) -> FormError {
    tracing::error!(error = %error_chain(&error), "session store error");
    unavailable()
}

/// The database could not be reached: the page being rendered (or the server function answering) gets
/// status 503 with a `Retry-After`, and the person reads that Parley is temporarily unavailable.
fn unavailable() -> FormError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(StatusCode::SERVICE_UNAVAILABLE);
        response.insert_header(header::RETRY_AFTER, HeaderValue::from_static(crate::error::RETRY_AFTER_UNAVAILABLE));
    }
    FormError::Unavailable
}

async fn session() -> Result<Session, FormError> {
    leptos_axum::extract::<Session>().await.map_err(|_| FormError::Transport("no session layer".to_owned()))
}

fn request_ip(trust_proxy: bool) -> String {
    use_context::<Parts>().map_or_else(|| "unknown".to_owned(), |parts| client_ip(&parts, trust_proxy))
}

async fn session_user_id(session: &Session) -> Result<Option<Uuid>, FormError> {
    let id: Option<String> = session.get(SESSION_USER_KEY).await.map_err(session_error)?;
    Ok(id.and_then(|id| id.parse().ok()))
}
