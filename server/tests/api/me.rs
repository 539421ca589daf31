//! `/api/v1/me` and `/api/v1/me/password`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, error_code, spawn_app, unique_email};

#[tokio::test]
async fn me_returns_the_signed_in_user() {
    let app = spawn_app().await;
    let email = unique_email();
    let login = app.signup(&email, PASSWORD).await;

    let response = app.get_authed("/api/v1/me", login["access_token"].as_str().unwrap()).await;

    assert_eq!(response.status(), 200);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me, login["user"]);
    assert_eq!(me["email"], email);
}

#[tokio::test]
async fn me_needs_a_valid_bearer_token() {
    let app = spawn_app().await;
    assert_eq!(error_code(app.get("/api/v1/me").await, 401).await, "unauthorized");
    let basic = app.client.get(app.url("/api/v1/me")).header("authorization", "Basic abc").send().await.unwrap();
    assert_eq!(error_code(basic, 401).await, "unauthorized");
    let garbage = app.get_authed("/api/v1/me", "not.a.jwt").await;
    assert_eq!(error_code(garbage, 401).await, "unauthorized");
}

#[tokio::test]
async fn the_display_name_can_be_changed_within_its_limits() {
    let app = spawn_app().await;
    let login = app.signup(&unique_email(), PASSWORD).await;
    let token = login["access_token"].as_str().unwrap();

    let response =
        app.send_authed(Method::PATCH, "/api/v1/me", token, Some(&json!({ "display_name": "  Lovelace " }))).await;
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["display_name"], "Lovelace");

    for (name, why) in [("   ", "blank"), (&"n".repeat(81) as &str, "81 characters")] {
        let response =
            app.send_authed(Method::PATCH, "/api/v1/me", token, Some(&json!({ "display_name": name }))).await;
        assert_eq!(response.status(), 400, "{why}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "validation_failed", "{why}");
        assert!(body["error"]["fields"]["display_name"].is_array(), "{why}");
    }
    let missing = app.send_authed(Method::PATCH, "/api/v1/me", token, Some(&json!({}))).await;
    assert_eq!(error_code(missing, 400).await, "malformed_request");
    let me: Value = app.get_authed("/api/v1/me", token).await.json().await.unwrap();
    assert_eq!(me["display_name"], "Lovelace", "refused updates change nothing");
}

#[tokio::test]
async fn custom_instructions_are_kept_returned_limited_and_cleared() {
    let app = spawn_app().await;
    let login = app.signup(&unique_email(), PASSWORD).await;
    let token = login["access_token"].as_str().unwrap();
    let me: Value = app.get_authed("/api/v1/me", token).await.json().await.unwrap();
    assert_eq!(me["instructions"], Value::Null, "none at first");

    let set =
        app.send_authed(Method::PATCH, "/api/v1/me", token, Some(&json!({ "instructions": "I teach maths." }))).await;
    assert_eq!(set.status(), 200);
    let me: Value = app.get_authed("/api/v1/me", token).await.json().await.unwrap();
    assert_eq!(me["instructions"], "I teach maths.");
    assert_eq!(me["display_name"], Value::Null, "the display name was left alone");

    let too_long = json!({ "instructions": "é".repeat(4_001), "display_name": "Ada" });
    let refused = app.send_authed(Method::PATCH, "/api/v1/me", token, Some(&too_long)).await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"]["fields"]["instructions"].is_array(), "{body}");
    let me: Value = app.get_authed("/api/v1/me", token).await.json().await.unwrap();
    assert_eq!(
        (me["instructions"].as_str(), me["display_name"].as_str()),
        (Some("I teach maths."), None),
        "nothing changed"
    );
    let longest = json!({ "instructions": "é".repeat(4_000) });
    assert_eq!(app.send_authed(Method::PATCH, "/api/v1/me", token, Some(&longest)).await.status(), 200);

    let cleared = app.send_authed(Method::PATCH, "/api/v1/me", token, Some(&json!({ "instructions": null }))).await;
    let cleared: Value = cleared.json().await.unwrap();
    assert_eq!(cleared["instructions"], Value::Null);
}

#[tokio::test]
async fn changing_the_password_checks_the_current_one_and_ends_every_other_login() {
    let app = spawn_app().await;
    let email = unique_email();
    let this_login = app.signup(&email, PASSWORD).await;
    let other_login: Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    let token = this_login["access_token"].as_str().unwrap();
    let new_password = "Brand-new-pass-2";

    let wrong = app
        .send_authed(
            Method::POST,
            "/api/v1/me/password",
            token,
            Some(&json!({ "current_password": "Nope-nope-1", "new_password": new_password })),
        )
        .await;
    assert_eq!(error_code(wrong, 401).await, "invalid_credentials");
    let weak = app
        .send_authed(
            Method::POST,
            "/api/v1/me/password",
            token,
            Some(&json!({ "current_password": PASSWORD, "new_password": "weak" })),
        )
        .await;
    assert_eq!(error_code(weak, 400).await, "validation_failed");

    let changed = app
        .send_authed(
            Method::POST,
            "/api/v1/me/password",
            token,
            Some(&json!({ "current_password": PASSWORD, "new_password": new_password })),
        )
        .await;
    assert_eq!(changed.status(), 204);

    assert_eq!(app.get_authed("/api/v1/me", token).await.status(), 200, "the caller's own login lives on");
    assert_eq!(app.get_authed("/api/v1/me", other_login["access_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(app.refresh(other_login["refresh_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(app.login(&email, PASSWORD).await.status(), 401, "the old password is dead");
    assert_eq!(app.login(&email, new_password).await.status(), 200);
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_removes_everything() {
    let app = spawn_app().await;
    let email = unique_email();
    let login = app.signup(&email, PASSWORD).await;
    let token = login["access_token"].as_str().unwrap();

    let wrong =
        app.send_authed(Method::DELETE, "/api/v1/me", token, Some(&json!({ "password": "Wrong-pass-1" }))).await;
    assert_eq!(error_code(wrong, 401).await, "invalid_credentials");
    assert_eq!(app.get_authed("/api/v1/me", token).await.status(), 200, "a refused delete deletes nothing");

    let deleted = app.send_authed(Method::DELETE, "/api/v1/me", token, Some(&json!({ "password": PASSWORD }))).await;
    assert_eq!(deleted.status(), 204);

    assert_eq!(app.get_authed("/api/v1/me", token).await.status(), 401);
    assert_eq!(app.refresh(login["refresh_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(error_code(app.login(&email, PASSWORD).await, 401).await, "invalid_credentials");

    for table in ["users", "api_logins", "refresh_tokens", "sessions"] {
        let rows = crate::helpers::sql(&app.db_url, &format!("SELECT count(*) FROM {table}")).await;
        assert_eq!(rows, Some(0), "{table} still holds rows of the deleted user");
    }
    app.signup(&email, PASSWORD).await;
}
