//! Issue 24's rule for hostile text, one rule on both backends: a NUL character in any text field of the
//! API is `400 validation_failed` naming the field (PostgreSQL cannot store it, and it must never read as
//! an outage), and nothing is stored. A page's form posted without JavaScript gets the same refusal as a
//! page a person can read.

use app::server_fns::{
    accounts::{
        ChangeEmail, DeleteAccount, Login, RequestPasswordReset, Signup, UpdateDisplayName, UpdateInstructions,
    },
    chat::{EditMessage, RenameConversation, SendMessage, StartConversation},
    tasks::{AddTask, EditTask},
};
use leptos::server_fn::ServerFn;
use reqwest::{Method, header};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, session_cookie_value, spawn_app, sql, unique_email};

const NUL: &str = "a\u{0}b";

/// Sends `body` and checks the answer names `field`.
async fn refused(app: &TestApp, method: Method, path: &str, token: Option<&str>, body: Value, field: &str) {
    let mut request = app.client.request(method.clone(), app.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.expect("a JSON error");
    assert_eq!(status, 400, "{method} {path} {body}: {answer}");
    assert_eq!(answer["error"]["code"], "validation_failed", "{method} {path}: {answer}");
    assert!(answer["error"]["fields"][field].is_array(), "{method} {path}: {field} not named in {answer}");
}

#[tokio::test]
async fn a_nul_in_any_text_field_of_the_api_is_a_validation_error_and_stores_nothing() {
    let app = spawn_app().await;
    let email = unique_email();
    let login = app.signup(&email, PASSWORD).await;
    let token = login["access_token"].as_str().unwrap();
    let refresh = login["refresh_token"].as_str().unwrap();
    let conversation = app.new_conversation(token).await;
    let said = app.say(token, &conversation, "hello").await;
    let message = said["message"]["id"].as_str().unwrap();
    let task = app.send_authed(Method::POST, "/api/v1/tasks", token, Some(&json!({ "title": "t" }))).await;
    let task: Value = task.json().await.unwrap();
    let task = task["id"].as_str().unwrap();
    let analyses = format!("/api/v1/conversations/{conversation}/analyses");
    let analysis = app.send_authed(Method::POST, &analyses, token, Some(&json!({}))).await;
    assert_eq!(analysis.status(), 202);
    let analysis: Value = analysis.json().await.unwrap();
    let analysis_path = format!("/api/v1/analyses/{}", analysis["id"].as_str().unwrap());

    let anonymous: [(&str, Value, &str); 10] = [
        ("/api/v1/auth/signup", json!({ "email": NUL, "password": PASSWORD }), "email"),
        ("/api/v1/auth/signup", json!({ "email": unique_email(), "password": format!("Aa1{NUL}xxxx") }), "password"),
        (
            "/api/v1/auth/signup",
            json!({ "email": unique_email(), "password": PASSWORD, "display_name": NUL }),
            "display_name",
        ),
        ("/api/v1/auth/login", json!({ "email": format!("{email}{NUL}"), "password": PASSWORD }), "email"),
        ("/api/v1/auth/refresh", json!({ "refresh_token": format!("{refresh}{NUL}") }), "refresh_token"),
        ("/api/v1/auth/password-reset", json!({ "email": NUL }), "email"),
        ("/api/v1/auth/password-reset/confirm", json!({ "token": NUL, "password": PASSWORD }), "token"),
        ("/api/v1/auth/verify-email", json!({ "token": NUL }), "token"),
        ("/api/v1/auth/signup", json!({ "email": unique_email(), "password": PASSWORD, "goals": NUL }), "goals"),
        (
            "/api/v1/auth/signup",
            json!({ "email": unique_email(), "password": PASSWORD, "display_name": ["x", NUL] }),
            "display_name.1",
        ),
    ];
    for (path, body, field) in anonymous {
        refused(&app, Method::POST, path, None, body, field).await;
    }
    let conversation_path = format!("/api/v1/conversations/{conversation}");
    let messages_path = format!("{conversation_path}/messages");
    let message_path = format!("{messages_path}/{message}");
    let task_path = format!("/api/v1/tasks/{task}");
    let signed_in: [(Method, &str, Value, &str); 13] = [
        (Method::PATCH, "/api/v1/me", json!({ "display_name": NUL }), "display_name"),
        (Method::PATCH, "/api/v1/me", json!({ "instructions": NUL }), "instructions"),
        (Method::POST, "/api/v1/me/email", json!({ "email": NUL, "current_password": PASSWORD }), "email"),
        (
            Method::POST,
            "/api/v1/me/password",
            json!({ "current_password": PASSWORD, "new_password": format!("Aa1{NUL}xxxx") }),
            "new_password",
        ),
        (Method::DELETE, "/api/v1/me", json!({ "password": format!("{PASSWORD}{NUL}") }), "password"),
        (Method::POST, "/api/v1/conversations", json!({ "title": NUL }), "title"),
        (Method::PATCH, &conversation_path, json!({ "title": NUL }), "title"),
        (Method::POST, &messages_path, json!({ "content": NUL }), "content"),
        (Method::PATCH, &message_path, json!({ "content": NUL }), "content"),
        (Method::POST, "/api/v1/tasks", json!({ "title": NUL }), "title"),
        (Method::POST, "/api/v1/tasks", json!({ "title": "ok", "description": NUL }), "description"),
        (Method::PATCH, &task_path, json!({ "description": NUL }), "description"),
        (Method::PATCH, &analysis_path, json!({ "summary": NUL }), "summary"),
    ];
    for (method, path, body, field) in signed_in {
        refused(&app, method, path, Some(token), body, field).await;
    }
    refused(&app, Method::POST, "/api/v1/auth/logout", Some(token), json!({ "refresh_token": NUL }), "refresh_token")
        .await;

    // Nothing was stored, and the account still works as it did.
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM users").await, Some(1));
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM conversations").await, Some(1));
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM messages").await, Some(2));
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM tasks").await, Some(1));
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM analyses").await, Some(1));
    let me: Value = app.get_authed("/api/v1/me", token).await.json().await.unwrap();
    assert_eq!(me["email"], email.as_str());
    assert_eq!(app.login(&email, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_nul_in_any_text_field_of_a_page_form_is_refused_with_a_page_naming_it_and_stores_nothing() {
    let app = spawn_app().await;
    let email = unique_email();
    let token = app.signup(&email, PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    // The same person in a browser: the session cookie from the login form.
    let login = form(&app, Login::PATH, &[("email", &email), ("password", PASSWORD)], None).await;
    assert_eq!(login.status(), 302);
    let cookie = session_cookie_value(&login).expect("a session cookie");
    let conversation = app.new_conversation(&token).await;
    let said = app.say(&token, &conversation, "hello").await;
    let message = said["message"]["id"].as_str().unwrap().to_owned();
    let task = app.send_authed(Method::POST, "/api/v1/tasks", &token, Some(&json!({ "title": "t" }))).await;
    let task = task.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    let fresh = unique_email();
    let anonymous: [FormCase; 5] = [
        (Signup::PATH, vec![("email", NUL), ("password", PASSWORD), ("password_confirm", PASSWORD)], "email"),
        (
            Signup::PATH,
            vec![("email", &fresh), ("display_name", NUL), ("password", PASSWORD), ("password_confirm", PASSWORD)],
            "display_name",
        ),
        (
            Signup::PATH,
            vec![("email", &fresh), ("goals", NUL), ("password", PASSWORD), ("password_confirm", PASSWORD)],
            "goals",
        ),
        (Login::PATH, vec![("email", &email), ("password", NUL)], "password"),
        (RequestPasswordReset::PATH, vec![("email", NUL)], "email"),
    ];
    for (path, fields, field) in &anonymous {
        refused_form(&app, path, fields, None, field).await;
    }
    let signed_in: [FormCase; 10] = [
        (UpdateDisplayName::PATH, vec![("display_name", NUL)], "display_name"),
        (UpdateInstructions::PATH, vec![("instructions", NUL)], "instructions"),
        (ChangeEmail::PATH, vec![("email", NUL), ("current_password", PASSWORD)], "email"),
        (DeleteAccount::PATH, vec![("password", NUL)], "password"),
        (StartConversation::PATH, vec![("content", NUL)], "content"),
        (SendMessage::PATH, vec![("conversation_id", &conversation), ("content", NUL)], "content"),
        (
            EditMessage::PATH,
            vec![("conversation_id", &conversation), ("message_id", &message), ("content", NUL)],
            "content",
        ),
        (RenameConversation::PATH, vec![("conversation_id", &conversation), ("title", NUL)], "title"),
        (AddTask::PATH, vec![("title", NUL)], "title"),
        (EditTask::PATH, vec![("id", &task), ("title", "t"), ("description", NUL)], "description"),
    ];
    for (path, fields, field) in &signed_in {
        refused_form(&app, path, fields, Some(&cookie), field).await;
    }

    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM users").await, Some(1));
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM conversations").await, Some(1));
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM messages").await, Some(2));
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM tasks").await, Some(1));
    let me: Value = app.get_authed("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me["email"], email.as_str());
    assert!(me["display_name"].is_null() && me["instructions"].is_null(), "{me}");
}

/// A server function's path, the fields posted to it, and the field that holds the NUL.
type FormCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

/// A form post from one of the app's pages, as a browser without JavaScript sends it.
async fn form(app: &TestApp, path: &str, fields: &[(&str, &str)], cookie: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header(header::ACCEPT, "text/html")
        .header(header::ORIGIN, format!("http://{}", app.addr))
        .header(header::REFERER, app.url("/chat"))
        .form(fields);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, format!("parley_session={cookie}"));
    }
    request.send().await.unwrap()
}

/// Posts the form and checks the answer is a 400 page that names `field`.
async fn refused_form(app: &TestApp, path: &str, fields: &[(&str, &str)], cookie: Option<&str>, field: &str) {
    let response = form(app, path, fields, cookie).await;
    let status = response.status().as_u16();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let page = response.text().await.unwrap();
    assert_eq!(status, 400, "{path} {field}: {page}");
    assert!(is_html, "{path}: a page, not a JSON error: {page}");
    assert!(page.contains(&format!("<strong>{field}</strong>")), "{path}: {field} not named in {page}");
    assert!(page.contains("Nothing was saved"), "{page}");
}
