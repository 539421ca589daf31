//! Extractors that turn a request into what handlers need, with failures already in the API's error shape.

use std::net::SocketAddr;

use axum::{
    body::Bytes,
    extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request, rejection::BytesRejection},
    http::{StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::{auth::tokens::AccessGrant, db::User, error::ApiError, startup::AppState};

/// `Json<T>` whose rejections use the API's error shape. Messages never echo the body back, since it may
/// hold a password.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.to_ascii_lowercase().ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::Malformed("The body must be JSON, sent with Content-Type: application/json."));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        // Only a JSON object is a request body here; serde would otherwise accept an array for a struct.
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| ApiError::Malformed("The body is not valid JSON."))?;
        if !value.is_object() {
            return Err(ApiError::Malformed("The body must be a JSON object."));
        }
        T::deserialize(value)
            .map(ApiJson)
            .map_err(|_| ApiError::Malformed("The body is missing a required field or has a field of the wrong type."))
    }
}

/// A body that may be absent: empty means `None`; anything else must be a JSON object of the shape.
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        optional_json(&bytes).map(OptionalJson)
    }
}

/// A resource id from the path. Anything that is not a UUID (including a path that does not even
/// decode) names no resource: `404 not_found`, as for an id that does not exist.
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await.map_err(|_| ApiError::NotFound)?;
        raw.parse().map(PathId).map_err(|_| ApiError::NotFound)
    }
}

/// Two UUIDs from the path (a conversation and one of its messages); either malformed is `404`.
pub struct PathIds(pub Uuid, pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path((first, second)) =
            Path::<(String, String)>::from_request_parts(parts, state).await.map_err(|_| ApiError::NotFound)?;
        match (first.parse(), second.parse()) {
            (Ok(first), Ok(second)) => Ok(PathIds(first, second)),
            _ => Err(ApiError::NotFound),
        }
    }
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::Malformed("The body could not be read.")
    }
}

fn optional_json<T: DeserializeOwned>(body: &[u8]) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| ApiError::Malformed("The body is not valid JSON."))?;
    if !value.is_object() {
        return Err(ApiError::Malformed("The body must be a JSON object."));
    }
    T::deserialize(value)
        .map(Some)
        .map_err(|_| ApiError::Malformed("The body is missing a required field or has a field of the wrong type."))
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
pub struct Client(pub crate::db::SessionClient);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Client(client_of(parts, state)))
    }
}

fn client_of(parts: &Parts, state: &AppState) -> crate::db::SessionClient {
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    crate::db::SessionClient::new(user_agent, &client_ip(parts, state.config.trust_proxy))
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
    pub id: uuid::Uuid,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let bearer = BearerUser::from_request_parts(parts, state).await?;
            return Ok(ApiUser { id: bearer.user.id });
        }
        let session = parts.extensions.get::<tower_sessions::Session>().ok_or(ApiError::Unauthorized)?;
        let id: Option<String> = session.get(crate::db::SESSION_USER_KEY).await.map_err(|_| ApiError::Unavailable)?;
        let id: uuid::Uuid = id.and_then(|id| id.parse().ok()).ok_or(ApiError::Unauthorized)?;
        let user = match crate::db::signed_in_row(session, id).await {
            Some(user) => user,
            None => state.accounts.find_user(id).await?.ok_or(ApiError::Unauthorized)?,
        };
        Ok(ApiUser { id: user.id })
    }
}
