//! `/api/v1/me/sessions`: where the user is signed in, and ending one of them.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{PASSWORD, error_code, spawn_app, unique_email};

async fn sessions(app: &crate::helpers::TestApp, token: &str) -> Vec<Value> {
    let response = app.get_authed("/api/v1/me/sessions", token).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["sessions"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_list_shows_each_api_login_with_this_one_marked() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    let phone = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", "ParleyPhone/2.1")
        .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let laptop: Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    let token = laptop["access_token"].as_str().unwrap();

    let list = sessions(&app, token).await;
    assert_eq!(list.len(), 3, "signup, phone and laptop: {list:?}");
    assert!(list.iter().all(|s| s["kind"] == "api"));
    let current: Vec<_> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(list[0]["current"], true, "this session comes first");
    let on_phone = list.iter().find(|s| s["user_agent"] == "ParleyPhone/2.1").expect("the phone's login");
    assert_eq!(on_phone["ip"], "127.0.0.1");
    for session in &list {
        for field in ["id", "created_at", "last_seen_at"] {
            assert!(session[field].is_string(), "{field} in {session}");
        }
    }

    // Ending the phone's login ends it at once and leaves the others.
    let id = on_phone["id"].as_str().unwrap();
    let ended = app.send_authed(Method::DELETE, &format!("/api/v1/me/sessions/{id}"), token, None).await;
    assert_eq!(ended.status(), 204);
    assert_eq!(app.get_authed("/api/v1/me", phone["access_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(app.refresh(phone["refresh_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(app.get_authed("/api/v1/me", token).await.status(), 200);
    assert_eq!(sessions(&app, token).await.len(), 2);

    let again = app.send_authed(Method::DELETE, &format!("/api/v1/me/sessions/{id}"), token, None).await;
    assert_eq!(error_code(again, 404).await, "not_found");
}

#[tokio::test]
async fn another_users_sessions_are_neither_listed_nor_endable() {
    let app = spawn_app().await;
    let ada = app.new_user_token().await;
    let bob = app.new_user_token().await;
    let bobs = sessions(&app, &bob).await;
    let bob_id = bobs[0]["id"].as_str().unwrap();

    assert!(sessions(&app, &ada).await.iter().all(|s| s["id"] != bob_id));
    let refused = app.send_authed(Method::DELETE, &format!("/api/v1/me/sessions/{bob_id}"), &ada, None).await;
    assert_eq!(error_code(refused, 404).await, "not_found");
    assert_eq!(app.get_authed("/api/v1/me", &bob).await.status(), 200, "Bob is still signed in");
    let malformed = app.send_authed(Method::DELETE, "/api/v1/me/sessions/not-an-id", &ada, None).await;
    assert_eq!(error_code(malformed, 404).await, "not_found");
}

#[tokio::test]
async fn a_refreshed_login_stays_one_entry() {
    let app = spawn_app().await;
    let login = app.signup(&unique_email(), PASSWORD).await;
    let refreshed: Value = app.refresh(login["refresh_token"].as_str().unwrap()).await.json().await.unwrap();
    let list = sessions(&app, refreshed["access_token"].as_str().unwrap()).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["current"], true);
}
