//! The browser's side: the ports that the Leptos server functions call, backed by the services and by the
//! cookie session of the request being handled.

mod accounts;
mod chat;
pub mod imports;
mod tasks;

pub use accounts::BrowserAccounts;
pub use chat::{BrowserChat, ConversationListMemo};
pub use imports::BrowserImports;
pub use tasks::BrowserTasks;

use app::server_fns::accounts::FormError;
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use leptos::prelude::use_context;
use tower_sessions::Session;

use std::sync::Arc;

use crate::{
    db::{User, forget_signed_in_row},
    services::{
        accounts::{AccountError, AccountService},
        chat::ChatError,
        imports::ImportError,
        insights::InsightError,
        tasks::TaskError,
    },
    support::{Missing, Refusal, error_chain, outward_via_refusal},
    web::identity::{self, SessionLookupError, client_ip},
};

impl From<Refusal> for FormError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Validation(fields) => FormError::Fields(fields),
            Refusal::NotFound(Missing::Conversation | Missing::Analysis | Missing::Import) => FormError::NotFound,
            Refusal::NotFound(Missing::Task) => FormError::TaskNotFound,
            Refusal::EmailTaken => FormError::EmailTaken,
            Refusal::InvalidCredentials => FormError::InvalidCredentials,
            Refusal::Unauthorized => FormError::Unauthorized,
            Refusal::RateLimited { retry_after } => FormError::RateLimited { retry_after },
            Refusal::TooLarge { max_bytes } => FormError::Fields(crate::support::one_field_error(
                "file",
                format!("This file is larger than the {} MB Parley accepts.", max_bytes / (1024 * 1024)),
            )),
            Refusal::Unavailable => unavailable(),
            Refusal::Internal => FormError::Transport("please try again".to_owned()),
        }
    }
}

outward_via_refusal!(FormError: AccountError, ChatError, TaskError, InsightError, ImportError);

fn session_error(error: tower_sessions::session::Error) -> FormError {
    tracing::error!(error = %error_chain(&error), "session store error");
    unavailable()
}

/// The database could not be reached: the page being rendered (or the server function answering) gets
/// status 503 with a `Retry-After`, and the person reads that Parley is temporarily unavailable.
fn unavailable() -> FormError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(StatusCode::SERVICE_UNAVAILABLE);
        response
            .insert_header(header::RETRY_AFTER, HeaderValue::from_static(crate::web::error::RETRY_AFTER_UNAVAILABLE));
    }
    FormError::Unavailable
}

async fn session() -> Result<Session, FormError> {
    leptos_axum::extract::<Session>().await.map_err(|_| FormError::Transport("no session layer".to_owned()))
}

fn request_ip(trust_proxy: bool) -> String {
    use_context::<Parts>().map_or_else(|| "unknown".to_owned(), |parts| client_ip(&parts, trust_proxy))
}

/// The signed-in user, looked up once per request. One page render asks for it from the header, the
/// page's guard and each server function it calls; a fresh memo comes with every request's context.
#[derive(Clone, Default)]
pub struct SignedInMemo(Arc<tokio::sync::Mutex<Option<User>>>);

impl SignedInMemo {
    /// Forgets the user after a change to them, so the rest of the request reads the new version.
    async fn forget() {
        if let Some(memo) = use_context::<SignedInMemo>() {
            *memo.0.lock().await = None;
        }
        if let Ok(session) = session().await {
            forget_signed_in_row(&session).await;
        }
    }
}

/// The user this browser is signed in as: `None` when signed out or when the account is gone.
async fn signed_in_user(accounts: &AccountService, session: &Session) -> Result<Option<User>, FormError> {
    let Some(id) = identity::session_user_id(session).await.map_err(session_error)? else { return Ok(None) };
    let lookup = async || {
        identity::session_user(session, accounts).await.map_err(|error| match error {
            SessionLookupError::Store(error) => session_error(error),
            SessionLookupError::Account(error) => error.into(),
        })
    };
    let Some(memo) = use_context::<SignedInMemo>() else { return lookup().await };
    // Held across the lookup: concurrent server functions of one render wait for the first one's answer.
    let mut known = memo.0.lock().await;
    if let Some(user) = known.as_ref().filter(|user| user.id == id) {
        return Ok(Some(user.clone()));
    }
    let user = lookup().await?;
    known.clone_from(&user);
    Ok(user)
}
