//! Page redirects are real redirects, whatever the request's `Accept` says.
//!
//! Leptos's server-side `<Redirect>` sets `Location` on every request, but the 302 status only when
//! `Accept` names `text/html`: it assumes anything else is its own WASM client calling a server function.
//! A page is never fetched that way, so curl, link checkers and proxies sending `Accept: */*` got a 200
//! with a `Location` and an empty page. Here a successful page response that carries a `Location` becomes
//! the redirect it was meant to be.

use axum::{
    extract::Request,
    http::{HeaderName, Method, StatusCode, header},
    middleware::Next,
    response::Response,
};

/// The header Leptos sets instead of a redirect status for its own client.
const SERVER_FN_REDIRECT: HeaderName = HeaderName::from_static("serverfnredirect");

pub async fn real_redirects_for_pages(request: Request, next: Next) -> Response {
    let is_page = matches!(*request.method(), Method::GET | Method::HEAD) && !request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    if is_page && response.status().is_success() && response.headers().contains_key(header::LOCATION) {
        *response.status_mut() = StatusCode::FOUND;
        response.headers_mut().remove(SERVER_FN_REDIRECT);
    }
    response
}
