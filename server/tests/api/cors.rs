//! CORS for the JSON API: an allowlist of origins, bearer tokens only, never credentials.

use reqwest::{Method, header};

use crate::helpers::{spawn_app, spawn_app_with};

const ALLOWED: &str = "https://app.example.com";

async fn preflight(app: &crate::helpers::TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url("/api/v1/me"))
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_allowed_origin_may_call_the_api_with_a_bearer_token_but_never_with_credentials() {
    let app = spawn_app_with(&[("PARLEY_CORS_ORIGINS", &format!("{ALLOWED}, http://localhost:5173"))]).await;
    let response = preflight(&app, ALLOWED).await;
    assert!(response.status().is_success(), "{}", response.status());
    let allowed = |name: header::HeaderName| response.headers().get(name).map(|v| v.to_str().unwrap().to_lowercase());
    assert_eq!(allowed(header::ACCESS_CONTROL_ALLOW_ORIGIN).as_deref(), Some(ALLOWED));
    assert!(allowed(header::ACCESS_CONTROL_ALLOW_HEADERS).unwrap().contains("authorization"));
    assert!(allowed(header::ACCESS_CONTROL_ALLOW_METHODS).unwrap().contains("get"));
    assert_eq!(allowed(header::ACCESS_CONTROL_ALLOW_CREDENTIALS), None, "credentials are never allowed");

    let token = app.new_user_token().await;
    let actual =
        app.client.get(app.url("/api/v1/me")).header(header::ORIGIN, ALLOWED).bearer_auth(&token).send().await.unwrap();
    assert_eq!(actual.status(), 200);
    assert_eq!(actual.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], ALLOWED);

    // A write from that origin's page, with the token and no cookie, is not mistaken for CSRF.
    let created = app
        .client
        .post(app.url("/api/v1/conversations"))
        .header(header::ORIGIN, ALLOWED)
        .header("sec-fetch-site", "cross-site")
        .bearer_auth(&token)
        .json(&serde_json::json!({ "title": "From the SPA" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], ALLOWED);
}

#[tokio::test]
async fn an_origin_not_on_the_list_is_refused() {
    let app = spawn_app_with(&[("PARLEY_CORS_ORIGINS", ALLOWED)]).await;
    // Its page cannot write with a token either: the CSRF guard refuses what the browser marks cross-site.
    let token = app.new_user_token().await;
    let write = app
        .client
        .post(app.url("/api/v1/conversations"))
        .header(header::ORIGIN, "https://evil.example.com")
        .header("sec-fetch-site", "cross-site")
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
    let response = preflight(&app, "https://evil.example.com").await;
    assert!(!response.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    // A look-alike is not the allowed origin either.
    let response = preflight(&app, "https://app.example.com.evil.example").await;
    assert!(!response.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

#[tokio::test]
async fn without_a_list_nothing_is_allowed() {
    let app = spawn_app().await;
    let response = preflight(&app, ALLOWED).await;
    assert!(!response.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    let token = app.new_user_token().await;
    let actual =
        app.client.get(app.url("/api/v1/me")).header(header::ORIGIN, ALLOWED).bearer_auth(&token).send().await.unwrap();
    assert!(!actual.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}
