//! Extractors that turn a request into what handlers need, with failures already in the API's error shape.
//! Who the caller is (bearer token or session) and where they are comes from [`crate::web::identity`].

pub use crate::web::identity::{ApiUser, BearerUser, Client, ClientIp};

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Request, rejection::BytesRejection},
    http::{StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::web::error::ApiError;

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
