//! `/api/v1/auth/*`: signup, login, refresh and logout, against every row of the contract's error table.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, error_code, spawn_app, unique_email};

#[tokio::test]
async fn signup_returns_201_with_the_documented_token_body() {
    let app = spawn_app().await;

    let response = app
        .post_json(
            "/api/v1/auth/signup",
            &json!({ "email": "  Ada@Example.COM ", "password": PASSWORD, "display_name": " Ada " }),
        )
        .await;

    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert!(uuid::Uuid::parse_str(body["user"]["id"].as_str().unwrap()).is_ok());
    assert_eq!(body["user"]["email"], "ada@example.com", "emails are trimmed and lower-cased");
    assert_eq!(body["user"]["display_name"], "Ada");
    assert!(chrono::DateTime::parse_from_rfc3339(body["user"]["created_at"].as_str().unwrap()).is_ok());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["access_token"].as_str().unwrap().split('.').count(), 3, "a JWT");
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43, "256 bits");
    assert!(body.get("password").is_none() && body["user"].get("password_hash").is_none());
}

#[tokio::test]
async fn signup_refuses_malformed_bodies_with_400_malformed_request() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/auth/signup");
    let cases: Vec<(reqwest::RequestBuilder, &str)> = vec![
        (app.client.post(&url).json(&json!({ "password": PASSWORD })), "missing email"),
        (app.client.post(&url).json(&json!({ "email": unique_email() })), "missing password"),
        (app.client.post(&url).json(&json!({ "email": 5, "password": PASSWORD })), "email is a number"),
        (app.client.post(&url).json(&json!({ "email": unique_email(), "password": ["x"] })), "password is a list"),
        (app.client.post(&url).json(&json!(["not", "an", "object"])), "body is an array"),
        (app.client.post(&url).header("content-type", "application/json").body("{\"email\": "), "truncated JSON"),
        (app.client.post(&url).header("content-type", "application/json").body("not json"), "not JSON at all"),
        (
            app.client.post(&url).body(json!({"email": unique_email(), "password": PASSWORD}).to_string()),
            "no content type",
        ),
        (app.client.post(&url), "empty body"),
    ];
    for (request, why) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 400, "{why}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "malformed_request", "{why}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{why}");
        assert!(!body.to_string().contains(PASSWORD), "{why}: the body must not echo the password");
    }
}

#[tokio::test]
async fn signup_refuses_invalid_fields_with_400_validation_failed_naming_each_field() {
    let app = spawn_app().await;
    let cases = [
        (json!({ "email": "not-an-email", "password": PASSWORD }), "email", "email syntax"),
        (json!({ "email": "", "password": PASSWORD }), "email", "empty email"),
        (
            json!({ "email": format!("{}@example.com", "a".repeat(250)), "password": PASSWORD }),
            "email",
            "email over 254",
        ),
        (json!({ "email": unique_email(), "password": "Short1A" }), "password", "7 characters"),
        (
            json!({ "email": unique_email(), "password": format!("Aa1{}", "x".repeat(126)) }),
            "password",
            "129 characters",
        ),
        (json!({ "email": unique_email(), "password": "NOLOWERCASE1" }), "password", "no lowercase"),
        (json!({ "email": unique_email(), "password": "nouppercase1" }), "password", "no uppercase"),
        (json!({ "email": unique_email(), "password": "NoDigitsHere" }), "password", "no digit"),
        (
            json!({ "email": unique_email(), "password": PASSWORD, "display_name": "x".repeat(81) }),
            "display_name",
            "long name",
        ),
    ];
    for (body, field, why) in cases {
        let response = app.post_json("/api/v1/auth/signup", &body).await;
        assert_eq!(response.status(), 400, "{why}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "validation_failed", "{why}: {body}");
        let messages =
            body["error"]["fields"][field].as_array().unwrap_or_else(|| panic!("{why}: no {field} in {body}"));
        assert!(!messages.is_empty(), "{why}");
    }
}

#[tokio::test]
async fn a_weak_password_lists_every_broken_rule() {
    let app = spawn_app().await;
    let response = app.post_json("/api/v1/auth/signup", &json!({ "email": unique_email(), "password": "abc" })).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["fields"]["password"].as_array().unwrap().len(), 3, "{body}");
}

#[tokio::test]
async fn unicode_passwords_that_meet_the_policy_work_for_signup_and_login() {
    let app = spawn_app().await;
    for password in ["Пароль123", "Ünïcödé1x", "密码密码密码Aa1", "Emoji🙂🙂Aa1"] {
        let email = unique_email();
        app.signup(&email, password).await;
        assert_eq!(app.login(&email, password).await.status(), 200, "{password}");
    }
}

#[tokio::test]
async fn a_1_mb_body_gets_413_payload_too_large() {
    let app = spawn_app().await;
    let body = json!({ "email": unique_email(), "password": PASSWORD, "display_name": "x".repeat(1024 * 1024) });

    let response = app.post_json("/api/v1/auth/signup", &body).await;

    assert_eq!(error_code(response, 413).await, "payload_too_large");
}

#[tokio::test]
async fn emails_differing_only_in_case_and_whitespace_are_the_same_account() {
    let app = spawn_app().await;
    app.signup("grace@example.com", PASSWORD).await;

    for variant in ["GRACE@example.com", "  grace@EXAMPLE.com", "Grace@Example.Com\t"] {
        let response = app.post_json("/api/v1/auth/signup", &json!({ "email": variant, "password": PASSWORD })).await;
        assert_eq!(error_code(response, 409).await, "email_taken", "{variant:?}");
        assert_eq!(app.login(variant, PASSWORD).await.status(), 200, "login with {variant:?}");
    }
}

#[tokio::test]
async fn concurrent_signups_with_one_email_give_exactly_one_201() {
    let app = spawn_app().await;
    let email = unique_email();

    let body = json!({ "email": email, "password": PASSWORD });
    let attempts = (0..8).map(|_| app.post_json("/api/v1/auth/signup", &body));
    let statuses: Vec<u16> =
        futures_util::future::join_all(attempts).await.iter().map(|r| r.status().as_u16()).collect();

    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 7, "{statuses:?}");
}

#[tokio::test]
async fn login_gives_the_same_answer_for_an_unknown_email_and_a_wrong_password() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;

    let wrong_password = app.login(&email, "Wrong-password-1").await;
    let unknown_email = app.login(&unique_email(), PASSWORD).await;

    assert_eq!(wrong_password.status(), 401);
    assert_eq!(unknown_email.status(), 401);
    let (a, b): (Value, Value) = (wrong_password.json().await.unwrap(), unknown_email.json().await.unwrap());
    assert_eq!(a, b, "same code and message, so nobody can tell which emails have accounts");
    assert_eq!(a["error"]["code"], "invalid_credentials");
}

#[tokio::test]
async fn login_with_the_right_password_returns_a_working_token_body() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;

    let response = app.login(&email.to_uppercase(), PASSWORD).await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email"], email);
    let me = app.get_authed("/api/v1/me", body["access_token"].as_str().unwrap()).await;
    assert_eq!(me.status(), 200);
}

#[tokio::test]
async fn login_refuses_malformed_bodies() {
    let app = spawn_app().await;
    for (body, why) in [
        (json!({ "email": unique_email() }), "missing password"),
        (json!({ "password": PASSWORD }), "missing email"),
        (json!({ "email": true, "password": PASSWORD }), "wrong type"),
    ] {
        let response = app.post_json("/api/v1/auth/login", &body).await;
        assert_eq!(error_code(response, 400).await, "malformed_request", "{why}");
    }
}

#[tokio::test]
async fn refresh_rotates_the_token_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    let first = app.signup(&unique_email(), PASSWORD).await;
    let first_refresh = first["refresh_token"].as_str().unwrap();

    let response = app.refresh(first_refresh).await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.unwrap();
    let second_refresh = second["refresh_token"].as_str().unwrap();
    assert_ne!(second_refresh, first_refresh, "a new refresh token every time");
    assert_eq!(second["user"]["id"], first["user"]["id"]);
    assert_eq!(app.get_authed("/api/v1/me", second["access_token"].as_str().unwrap()).await.status(), 200);

    let third = app.refresh(second_refresh).await;
    assert_eq!(third.status(), 200, "the rotated token works once");
}

#[tokio::test]
async fn presenting_a_used_refresh_token_revokes_the_whole_login() {
    let app = spawn_app().await;
    let first = app.signup(&unique_email(), PASSWORD).await;
    let stolen = first["refresh_token"].as_str().unwrap().to_owned();
    let rotated: Value = app.refresh(&stolen).await.json().await.unwrap();

    let replay = app.refresh(&stolen).await;
    assert_eq!(error_code(replay, 401).await, "unauthorized");

    let legit = app.refresh(rotated["refresh_token"].as_str().unwrap()).await;
    assert_eq!(error_code(legit, 401).await, "unauthorized", "the family died with the reuse");
    let access = app.get_authed("/api/v1/me", rotated["access_token"].as_str().unwrap()).await;
    assert_eq!(access.status(), 401, "access tokens of the revoked login stop at once");
}

#[tokio::test]
async fn unknown_and_garbage_refresh_tokens_get_401() {
    let app = spawn_app().await;
    for token in ["", "nope", &"A".repeat(43)] {
        assert_eq!(error_code(app.refresh(token).await, 401).await, "unauthorized", "{token:?}");
    }
    let missing = app.post_json("/api/v1/auth/refresh", &json!({})).await;
    assert_eq!(error_code(missing, 400).await, "malformed_request");
}

#[tokio::test]
async fn logout_revokes_that_login_but_not_others() {
    let app = spawn_app().await;
    let email = unique_email();
    let this_login = app.signup(&email, PASSWORD).await;
    let other_login: Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    let access = this_login["access_token"].as_str().unwrap();

    let response = app
        .send_authed(
            Method::POST,
            "/api/v1/auth/logout",
            access,
            Some(&json!({ "refresh_token": this_login["refresh_token"] })),
        )
        .await;
    assert_eq!(response.status(), 204);

    assert_eq!(app.refresh(this_login["refresh_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(app.get_authed("/api/v1/me", access).await.status(), 401);
    assert_eq!(app.get_authed("/api/v1/me", other_login["access_token"].as_str().unwrap()).await.status(), 200);
    assert_eq!(app.refresh(other_login["refresh_token"].as_str().unwrap()).await.status(), 200);
}

#[tokio::test]
async fn logout_without_a_body_revokes_the_tokens_login() {
    let app = spawn_app().await;
    let login = app.signup(&unique_email(), PASSWORD).await;
    let access = login["access_token"].as_str().unwrap();

    let response = app.send_authed(Method::POST, "/api/v1/auth/logout", access, None).await;

    assert_eq!(response.status(), 204);
    assert_eq!(app.refresh(login["refresh_token"].as_str().unwrap()).await.status(), 401);
}

#[tokio::test]
async fn logout_without_a_bearer_token_gets_401() {
    let app = spawn_app().await;
    let response = app.post_json("/api/v1/auth/logout", &json!({})).await;
    assert_eq!(error_code(response, 401).await, "unauthorized");
}

#[tokio::test]
async fn unknown_api_routes_answer_in_the_error_shape() {
    let app = spawn_app().await;
    assert_eq!(error_code(app.get("/api/v1/nothing-here").await, 404).await, "not_found");
    let wrong_method = app.client.delete(app.url("/api/v1/auth/login")).send().await.unwrap();
    assert_eq!(error_code(wrong_method, 405).await, "method_not_allowed");
}

/// Issue 23: goals at signup become the custom instructions; with `PARLEY_TERMS_URL` set, consent is
/// required and its time is kept.
#[tokio::test]
async fn signup_takes_goals_and_requires_consent_when_there_are_terms() {
    let app = crate::helpers::spawn_app_with(&[("PARLEY_TERMS_URL", "https://example.com/terms")]).await;
    let email = crate::helpers::unique_email();
    let refused = app.post_json("/api/v1/auth/signup", &json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    assert!(body["error"]["fields"]["accept_terms"].is_array(), "{body}");

    let signup = json!({ "email": email, "password": PASSWORD, "accept_terms": true, "goals": "  Sleep better  " });
    let created = app.post_json("/api/v1/auth/signup", &signup).await;
    assert_eq!(created.status(), 201);
    let token = created.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let me: Value = app.get_authed("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me["instructions"], "Sleep better", "the goals are the first custom instructions");
    assert!(me["terms_accepted_at"].is_string(), "{me}");

    let without_terms = crate::helpers::spawn_app().await;
    let plain = json!({ "email": crate::helpers::unique_email(), "password": PASSWORD });
    let created = without_terms.post_json("/api/v1/auth/signup", &plain).await;
    assert_eq!(created.status(), 201);
    let token = created.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let me: Value = without_terms.get_authed("/api/v1/me", &token).await.json().await.unwrap();
    assert!(me["terms_accepted_at"].is_null() && me["instructions"].is_null(), "{me}");
    let long_goals =
        json!({ "email": crate::helpers::unique_email(), "password": PASSWORD, "goals": "x".repeat(4_001) });
    assert_eq!(without_terms.post_json("/api/v1/auth/signup", &long_goals).await.status(), 400);
}
