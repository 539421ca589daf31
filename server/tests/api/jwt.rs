//! Access tokens that must be refused with 401.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TEST_SECRET, error_code, spawn_app, unique_email};

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn sign(claims: &Value, algorithm: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT" }).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

#[tokio::test]
async fn forged_expired_and_malformed_tokens_are_refused() {
    let app = spawn_app().await;
    let login = app.signup(&unique_email(), PASSWORD).await;
    let good = login["access_token"].as_str().unwrap().to_owned();
    let claims = claims_of(&good);
    assert_eq!(claims["iss"], "parley");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    assert_eq!(
        app.get_authed("/api/v1/me", &sign(&claims, Algorithm::HS256, TEST_SECRET)).await.status(),
        200,
        "control: a re-signed copy works"
    );

    let with = |key: &str, value: Value| {
        let mut changed = claims.clone();
        changed[key] = value;
        changed
    };
    let without = |key: &str| {
        let mut changed = claims.clone();
        changed.as_object_mut().unwrap().remove(key);
        changed
    };
    let now = chrono::Utc::now().timestamp();
    let documented_only = sign(&without("sid"), Algorithm::HS256, TEST_SECRET);
    assert_eq!(
        app.get_authed("/api/v1/me", &documented_only).await.status(),
        200,
        "control: API.md's claims alone are enough"
    );
    let mut tampered = good.clone();
    tampered.pop();
    tampered.push(if good.ends_with('A') { 'B' } else { 'A' });

    let cases: Vec<(String, &str)> = vec![
        (tampered, "tampered signature"),
        (
            sign(
                &with("sub", json!(uuid::Uuid::now_v7().to_string())),
                Algorithm::HS256,
                "another-secret-of-at-least-32-bytes!!",
            ),
            "signed with another key",
        ),
        (unsigned(&claims), "alg: none"),
        (sign(&claims, Algorithm::HS512, TEST_SECRET), "another algorithm (HS512)"),
        (sign(&with("exp", json!(now - 5)), Algorithm::HS256, TEST_SECRET), "expired"),
        (sign(&with("iss", json!("someone-else")), Algorithm::HS256, TEST_SECRET), "wrong issuer"),
        (sign(&without("iss"), Algorithm::HS256, TEST_SECRET), "no issuer"),
        (sign(&without("sub"), Algorithm::HS256, TEST_SECRET), "missing sub"),
        (sign(&with("sub", json!("")), Algorithm::HS256, TEST_SECRET), "empty sub"),
        (sign(&with("sub", json!("not-a-uuid")), Algorithm::HS256, TEST_SECRET), "sub is not a user id"),
        (sign(&with("sub", json!(uuid::Uuid::now_v7().to_string())), Algorithm::HS256, TEST_SECRET), "sub of nobody"),
        (sign(&without("exp"), Algorithm::HS256, TEST_SECRET), "no expiry"),
        (sign(&with("sid", json!("not-a-login")), Algorithm::HS256, TEST_SECRET), "sid is not a login id"),
        (sign(&with("sid", json!(uuid::Uuid::now_v7().to_string())), Algorithm::HS256, TEST_SECRET), "sid of no login"),
        ("".to_owned(), "empty token"),
    ];
    for (token, why) in cases {
        let response = app.get_authed("/api/v1/me", &token).await;
        assert_eq!(error_code(response, 401).await, "unauthorized", "{why}");
    }
}

#[tokio::test]
async fn a_token_of_a_deleted_user_is_refused() {
    let app = spawn_app().await;
    let email = unique_email();
    let first = app.signup(&email, PASSWORD).await;
    let second: Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    let token = first["access_token"].as_str().unwrap();
    let deleted = app.send_authed(Method::DELETE, "/api/v1/me", token, Some(&json!({ "password": PASSWORD }))).await;
    assert_eq!(deleted.status(), 204);

    let response = app.get_authed("/api/v1/me", second["access_token"].as_str().unwrap()).await;

    assert_eq!(error_code(response, 401).await, "unauthorized");
}
