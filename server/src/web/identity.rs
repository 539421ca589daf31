//! Who a request's user is and where the request comes from, for every way in: the JSON API's extractors
//! ([`BearerUser`], [`ApiUser`], [`ClientIp`], [`Client`]), the pages' server functions and `/mcp` all ask
//! here, so a session cookie and a bearer token are read one way.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{header, request::Parts},
};
use tower_sessions::Session;
use uuid::Uuid;

use crate::{
    db::{SESSION_USER_KEY, SessionClient, User, signed_in_row},
    services::accounts::{AccountError, AccountService, tokens::AccessGrant},
    web::{AppState, error::ApiError},
};

/// Why a session's user could not be told.
#[derive(Debug)]
pub enum SessionLookupError {
    /// The session store failed.
    Store(tower_sessions::session::Error),
    /// Looking the user up failed.
    Account(AccountError),
}

/// The id of the user a browser session is signed in as, if any.
pub async fn session_user_id(session: &Session) -> Result<Option<Uuid>, tower_sessions::session::Error> {
    let id: Option<String> = session.get(SESSION_USER_KEY).await?;
    Ok(id.and_then(|id| id.parse().ok()))
}

/// The user a browser session is signed in as: `None` when signed out or when the account is gone. The
/// row read with the session (see `db::sessions`) saves a query when it is there.
pub async fn session_user(session: &Session, accounts: &AccountService) -> Result<Option<User>, SessionLookupError> {
    let Some(id) = session_user_id(session).await.map_err(SessionLookupError::Store)? else { return Ok(None) };
    match signed_in_row(session, id).await {
        Some(user) => Ok(Some(user)),
        None => accounts.find_user(id).await.map_err(SessionLookupError::Account),
    }
}

/// The client's IP address: the socket's peer, or, behind a trusted proxy, the last `X-Forwarded-For` hop.
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts, state.config.trust_proxy)))
    }
}

pub fn client_ip(parts: &Parts, trust_proxy: bool) -> String {
    if trust_proxy {
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty());
        if let Some(ip) = forwarded {
            return ip.to_owned();
        }
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |ConnectInfo(addr)| addr.ip().to_string())
}

/// Where a request comes from (client IP, user agent), for the sessions list.
pub struct Client(pub SessionClient);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Client(client_of(parts, state)))
    }
}

fn client_of(parts: &Parts, state: &AppState) -> SessionClient {
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    SessionClient::new(user_agent, &client_ip(parts, state.config.trust_proxy))
}

/// The user named by a valid bearer token whose login is still live.
pub struct BearerUser {
    pub user: User,
    pub grant: AccessGrant,
}

impl FromRequestParts<AppState> for BearerUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let (user, grant) = state.accounts.authenticate(token, || client_of(parts, state)).await?;
        Ok(BearerUser { user, grant })
    }
}

/// The caller of a conversation route: a bearer token (API clients) or the browser's session cookie (the
/// chat page streams replies from here; cookie-carrying writes pass the CSRF guard first).
pub struct ApiUser {
    pub id: Uuid,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let bearer = BearerUser::from_request_parts(parts, state).await?;
            return Ok(ApiUser { id: bearer.user.id });
        }
        let session = parts.extensions.get::<Session>().ok_or(ApiError::Unauthorized)?;
        let user = match session_user(session, &state.accounts).await {
            Ok(user) => user.ok_or(ApiError::Unauthorized)?,
            Err(SessionLookupError::Store(_)) => return Err(ApiError::Unavailable),
            Err(SessionLookupError::Account(error)) => return Err(error.into()),
        };
        Ok(ApiUser { id: user.id })
    }
}
