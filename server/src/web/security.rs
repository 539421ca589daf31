//! Cross-cutting protections: CSRF checks for cookie-authenticated writes, and security headers.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use tower_sessions::cookie::Cookie;

use crate::{
    support::{FieldErrors, field_error},
    web::{AppState, error::ApiError},
};

pub const SESSION_COOKIE: &str = "parley_session";

/// The policy for pages Leptos renders: scripts only from this origin or carrying this response's nonce
/// (the hydration script), WASM compilation allowed, nothing inline otherwise, no framing.
pub fn page_csp(nonce: &str, reload_port: Option<u32>) -> String {
    let reload = reload_port.map(|port| format!(" ws://127.0.0.1:{port} ws://localhost:{port}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'{reload}; font-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// For everything that is not a page (JSON, assets): nothing may run, nothing may frame it.
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Whether the session layer would find a session cookie in these headers. It must be asked exactly as
/// the session layer (tower-cookies) reads them: every `Cookie` header as UTF-8, split at `;`, each piece
/// parsed with percent-decoding and trimming. A guard with its own reading would let `parley%5Fsession`
/// or `parley_session =` through while the session layer signs the request in.
fn carries_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|piece| Cookie::parse_encoded(piece.to_owned()).ok())
        .any(|cookie| cookie.name() == SESSION_COOKIE)
}

/// Same-origin when the browser says so (`Sec-Fetch-Site`) or the `Origin` names the host addressed.
fn is_same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => {
            origin.split_once("://").is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
        }
        _ => false,
    }
}

/// Whether a browser says the request comes from a page of another origin. API clients send neither
/// header and are not judged here.
fn announces_another_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site != "same-origin" && site != "none";
    }
    headers.contains_key(header::ORIGIN) && !is_same_origin(headers)
}

/// Refuses state-changing requests that carry the session cookie but cannot show they come from our own
/// pages, and any that a browser says come from another site, cookie or not: without the cookie such a
/// form could still sign the visitor in to an account of the attacker's (login CSRF). API clients with
/// bearer tokens send neither cookie nor Origin and pass. So do cookieless calls to the JSON API from the
/// pages of an origin on the CORS allowlist (`PARLEY_CORS_ORIGINS`): the allowlist is exactly the sites
/// trusted to call it, and only with a bearer token their user gave them.
pub async fn csrf_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let headers = request.headers();
    let with_cookie = carries_session_cookie(headers);
    let allowed_cross_origin_api = !with_cookie
        && request.uri().path().starts_with("/api/v1/")
        && headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|origin| state.config.cors_origins.iter().any(|allowed| allowed == origin));
    if !safe
        && ((with_cookie && !is_same_origin(headers))
            || (!allowed_cross_origin_api && announces_another_origin(headers)))
    {
        tracing::warn!("cross-site request with a session cookie refused");
        return ApiError::Forbidden("Cross-site requests are not allowed.").into_response();
    }
    next.run(request).await
}

/// The one rule for hostile text, applied here once for every way in that takes a body (the JSON API and
/// the pages' forms; `/mcp` answers in its own protocol's shape): no text may hold a NUL character.
/// PostgreSQL cannot store one and no person types one, so storing it on SQLite only would make the two
/// backends differ. The answer is `400 validation_failed` naming each field; the body is passed on
/// untouched otherwise. Only bodies that spell a NUL (`\u0000` in JSON, `%00` in a form) are parsed here.
pub async fn refuse_nul_text(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let is_json = mime == "application/json" || mime.ends_with("+json");
    let is_form = mime == "application/x-www-form-urlencoded";
    let skip = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || request.uri().path().starts_with("/mcp")
        || is_upload(request.uri().path())
        || !(is_json || is_form);
    if skip {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, state.config.max_body_bytes).await else {
        return ApiError::PayloadTooLarge.into_response();
    };
    let fields = if is_json { nul_fields_in_json(&bytes) } else { nul_fields_in_form(&bytes) };
    if !fields.is_empty() {
        // A page's form posted by a browser (no script yet, or none at all) gets a page a person can read.
        let from_a_page = is_form
            && !parts.uri.path().starts_with("/api/v1/")
            && parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
        if from_a_page {
            return crate::web::error::refused_form_page(&fields);
        }
        return ApiError::Validation(fields).into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

const NUL_MESSAGE: &str = "This text cannot contain a NUL character.";

/// The fields of a JSON body whose text holds a NUL, by their path (`title`, `items.0.name`).
fn nul_fields_in_json(body: &[u8]) -> FieldErrors {
    fn walk(value: &serde_json::Value, path: &str, found: &mut FieldErrors) {
        match value {
            serde_json::Value::String(text) if text.contains('\0') => field_error(found, path, NUL_MESSAGE),
            serde_json::Value::Array(items) => {
                items.iter().enumerate().for_each(|(i, item)| walk(item, &join(path, &i.to_string()), found))
            }
            serde_json::Value::Object(map) => map.iter().for_each(|(key, item)| {
                let key = key.replace('\0', "\u{fffd}");
                walk(item, &join(path, &key), found)
            }),
            _ => {}
        }
    }
    fn join(path: &str, key: &str) -> String {
        if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
    }
    let mut found = FieldErrors::new();
    let spelled = body.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"));
    if spelled && let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        walk(&value, "", &mut found);
    }
    found
}

/// The fields of a form body whose text holds a NUL.
fn nul_fields_in_form(body: &[u8]) -> FieldErrors {
    let mut found = FieldErrors::new();
    // Spelled `%00`, or sent as the raw byte (which the form decoder passes through).
    if body.contains(&0) || body.windows(3).any(|w| w == b"%00") {
        for (key, value) in url::form_urlencoded::parse(body) {
            if value.contains('\0') || key.contains('\0') {
                field_error(&mut found, &key.replace('\0', "\u{fffd}"), NUL_MESSAGE);
            }
        }
    }
    found
}

/// The routes whose body is a whole file (an export to import): they take up to
/// `PARLEY_MAX_IMPORT_BYTES`, read as a stream and counted by the import itself, and their text is not
/// checked for NUL here (an import replaces NUL with U+FFFD, as `copy-from-sqlite` does).
pub const UPLOAD_PATHS: [&str; 2] = ["/api/v1/imports", "/account/import"];

fn is_upload(path: &str) -> bool {
    UPLOAD_PATHS.contains(&path)
}

/// Refuses bodies that announce more than the limit before reading them, for every route (the JSON
/// extractors also enforce it on bodies sent without a length; uploads count theirs as they arrive).
pub async fn limit_body_size(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let limit = if is_upload(request.uri().path()) {
        state.config.max_import_bytes
    } else {
        state.config.max_body_bytes as u64
    };
    if declared.is_some_and(|length| length > limit) {
        return ApiError::PayloadTooLarge.into_response();
    }
    next.run(request).await
}

pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DEFAULT_CSP));
    }
    if state.config.is_production() {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn same_origin_is_recognised_from_fetch_metadata_or_origin() {
        assert!(is_same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!is_same_origin(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://a:1"),
            ("host", "a:1")
        ])));
        assert!(is_same_origin(&headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")])));
        assert!(!is_same_origin(&headers(&[("origin", "https://evil.example"), ("host", "127.0.0.1:3000")])));
        assert!(!is_same_origin(&headers(&[("origin", "null"), ("host", "127.0.0.1:3000")])));
        assert!(!is_same_origin(&headers(&[("host", "127.0.0.1:3000")])));
    }

    #[test]
    fn a_nul_is_found_in_every_field_that_holds_one_and_nowhere_else() {
        let json = br#"{"title": "a\u0000b", "ok": "fine", "nested": {"items": ["x", "\u0000"]}, "n": 1}"#;
        let found = nul_fields_in_json(json);
        assert_eq!(found.keys().collect::<Vec<_>>(), ["nested.items.1", "title"]);
        assert!(nul_fields_in_json(br#"{"title": "a\\u0000 is how you write it"}"#).is_empty(), "an escaped backslash");
        assert!(nul_fields_in_json(br#"{"title": "plain"}"#).is_empty());
        let form = nul_fields_in_form(b"title=a%00b&content=fine");
        assert_eq!(form.keys().collect::<Vec<_>>(), ["title"]);
        assert!(nul_fields_in_form(b"title=100%25").is_empty());
        assert_eq!(nul_fields_in_form(b"title=a\0b").keys().collect::<Vec<_>>(), ["title"], "a raw NUL byte");
    }

    #[test]
    fn only_our_session_cookie_counts() {
        assert!(carries_session_cookie(&headers(&[("cookie", "a=b; parley_session=xyz")])));
        assert!(!carries_session_cookie(&headers(&[("cookie", "not_parley_session=xyz")])));
        assert!(!carries_session_cookie(&headers(&[("cookie", "parley_session_x=xyz; a=parley_session=")])));
    }

    #[test]
    fn every_spelling_the_session_layer_reads_counts() {
        for spelling in [
            "parley%5Fsession=xyz",
            "parley%5fsession=xyz",
            "%70arley_session=xyz",
            "parley_session =xyz",
            " parley_session= xyz ",
            "a=b;parley%5Fsession=xyz",
            "parley_session=%78yz",
        ] {
            assert!(carries_session_cookie(&headers(&[("cookie", spelling)])), "{spelling}");
        }
        // A second Cookie header counts as well.
        let mut two = headers(&[("cookie", "a=b")]);
        two.append(header::COOKIE, HeaderValue::from_static("parley%5Fsession=xyz"));
        assert!(carries_session_cookie(&two));
    }
}
