//! `/api/v1/tasks`: create, read, change, delete; filters and keyset paging; isolation between users on
//! every route; the validation rules.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, json_of, spawn_app};

async fn add(app: &TestApp, token: &str, body: Value) -> Value {
    json_of(app.send_authed(Method::POST, "/api/v1/tasks", token, Some(&body)).await, 201).await
}

#[tokio::test]
async fn a_task_is_created_read_changed_and_deleted() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;

    let task = add(&app, &token, json!({ "title": "  Buy oat milk ", "description": "The barista kind" })).await;
    assert_eq!(task["title"], "Buy oat milk");
    assert_eq!(task["description"], "The barista kind");
    assert_eq!(task["completed"], false);
    let id = task["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    for key in ["created_at", "updated_at"] {
        assert!(chrono::DateTime::parse_from_rfc3339(task[key].as_str().unwrap()).is_ok(), "{key}");
    }
    assert_eq!(json_of(app.get_authed(&format!("/api/v1/tasks/{id}"), &token).await, 200).await, task);

    // PATCH changes only what it names.
    let done = json_of(
        app.send_authed(Method::PATCH, &format!("/api/v1/tasks/{id}"), &token, Some(&json!({ "completed": true })))
            .await,
        200,
    )
    .await;
    assert_eq!(done["completed"], true);
    assert_eq!(done["title"], "Buy oat milk");
    assert_eq!(done["description"], "The barista kind");
    assert!(done["updated_at"].as_str() >= task["updated_at"].as_str());
    let renamed = json_of(
        app.send_authed(
            Method::PATCH,
            &format!("/api/v1/tasks/{id}"),
            &token,
            Some(&json!({ "title": "Buy milk", "description": null })),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed["title"], "Buy milk");
    assert_eq!(renamed["description"], Value::Null, "null clears the description");
    assert_eq!(renamed["completed"], true, "left out, so unchanged");

    let deleted = app.send_authed(Method::DELETE, &format!("/api/v1/tasks/{id}"), &token, None).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(error_code(app.get_authed(&format!("/api/v1/tasks/{id}"), &token).await, 404).await, "not_found");
    let again = app.send_authed(Method::DELETE, &format!("/api/v1/tasks/{id}"), &token, None).await;
    assert_eq!(error_code(again, 404).await, "not_found");
}

#[tokio::test]
async fn the_list_filters_by_completed_and_pages_newest_first_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let mut created = Vec::new();
    for n in 0..25 {
        let task = add(&app, &token, json!({ "title": format!("Task {n}") })).await;
        if n % 3 == 0 {
            let id = task["id"].as_str().unwrap();
            app.send_authed(Method::PATCH, &format!("/api/v1/tasks/{id}"), &token, Some(&json!({ "completed": true })))
                .await;
        }
        created.push(task["id"].as_str().unwrap().to_owned());
    }

    let first = json_of(app.get_authed("/api/v1/tasks", &token).await, 200).await;
    let titles: Vec<&str> = first["tasks"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 20, "the default page is 20");
    assert_eq!(titles[0], "Task 24", "newest first");

    let newest_first = |keep: &dyn Fn(usize) -> bool| -> Vec<String> {
        created.iter().enumerate().rev().filter(|(n, _)| keep(*n)).map(|(_, id)| id.clone()).collect()
    };
    let cases: [(&str, Vec<String>); 3] = [
        ("", newest_first(&|_| true)),
        ("?completed=true", newest_first(&|n| n % 3 == 0)),
        ("?completed=false", newest_first(&|n| n % 3 != 0)),
    ];
    for (filter, expected) in cases {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let sep = if filter.is_empty() { '?' } else { '&' };
            let path = match &cursor {
                None => format!("/api/v1/tasks{filter}{sep}limit=4"),
                Some(c) => format!("/api/v1/tasks{filter}{sep}limit=4&cursor={c}"),
            };
            let page = json_of(app.get_authed(&path, &token).await, 200).await;
            for task in page["tasks"].as_array().unwrap() {
                if filter == "?completed=true" {
                    assert_eq!(task["completed"], true);
                }
                if filter == "?completed=false" {
                    assert_eq!(task["completed"], false);
                }
                seen.push(task["id"].as_str().unwrap().to_owned());
            }
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len(), "{filter}: no repeats");
        assert_eq!(seen, expected, "{filter}: every task once, newest first");
    }
}

#[tokio::test]
async fn another_users_task_is_not_found_on_every_route() {
    let app = spawn_app().await;
    let owner = app.new_user_token().await;
    let stranger = app.new_user_token().await;
    let task = add(&app, &owner, json!({ "title": "Private" })).await;
    let id = task["id"].as_str().unwrap();
    let path = format!("/api/v1/tasks/{id}");

    assert_eq!(error_code(app.get_authed(&path, &stranger).await, 404).await, "not_found");
    let patch = app.send_authed(Method::PATCH, &path, &stranger, Some(&json!({ "completed": true }))).await;
    assert_eq!(error_code(patch, 404).await, "not_found");
    // Even with a body that is wrong: existence is not revealed by which error comes first.
    let bad_patch = app.send_authed(Method::PATCH, &path, &stranger, Some(&json!({ "completed": "yes" }))).await;
    assert_eq!(error_code(bad_patch, 404).await, "not_found");
    let delete = app.send_authed(Method::DELETE, &path, &stranger, None).await;
    assert_eq!(error_code(delete, 404).await, "not_found");
    let listed = json_of(app.get_authed("/api/v1/tasks", &stranger).await, 200).await;
    assert_eq!(listed["tasks"], json!([]));

    // And the owner's task is untouched.
    let mine = json_of(app.get_authed(&path, &owner).await, 200).await;
    assert_eq!(mine, task);
    assert_eq!(error_code(app.get_authed("/api/v1/tasks/not-a-uuid", &owner).await, 404).await, "not_found");
    assert_eq!(error_code(app.get("/api/v1/tasks").await, 401).await, "unauthorized");
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_named() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;

    async fn fields(response: reqwest::Response) -> Vec<String> {
        let body = json_of(response, 400).await;
        assert_eq!(body["error"]["code"], "validation_failed", "{body}");
        body["error"]["fields"].as_object().unwrap().keys().cloned().collect()
    }
    let blank = app.send_authed(Method::POST, "/api/v1/tasks", &token, Some(&json!({ "title": "   " }))).await;
    assert_eq!(fields(blank).await, ["title"]);
    let long = json!({ "title": "x".repeat(201), "description": "y".repeat(2_001) });
    assert_eq!(
        fields(app.send_authed(Method::POST, "/api/v1/tasks", &token, Some(&long)).await).await,
        ["description", "title"]
    );
    let missing =
        app.send_authed(Method::POST, "/api/v1/tasks", &token, Some(&json!({ "description": "no title" }))).await;
    assert_eq!(error_code(missing, 400).await, "malformed_request");

    let task = add(&app, &token, json!({ "title": "Fine" })).await;
    let id = task["id"].as_str().unwrap();
    let empty_title =
        app.send_authed(Method::PATCH, &format!("/api/v1/tasks/{id}"), &token, Some(&json!({ "title": "" }))).await;
    assert_eq!(fields(empty_title).await, ["title"]);
    let wrong_type = app
        .send_authed(Method::PATCH, &format!("/api/v1/tasks/{id}"), &token, Some(&json!({ "completed": "yes" })))
        .await;
    assert_eq!(error_code(wrong_type, 400).await, "malformed_request");

    for query in ["completed=maybe", "limit=0", "limit=101", "limit=x", "cursor=not-a-cursor"] {
        let response = app.get_authed(&format!("/api/v1/tasks?{query}"), &token).await;
        assert_eq!(error_code(response, 400).await, "validation_failed", "{query}");
    }
    // Nothing was stored by the refused requests.
    let listed = json_of(app.get_authed("/api/v1/tasks", &token).await, 200).await;
    assert_eq!(listed["tasks"].as_array().unwrap().len(), 1);
}

/// The offline demo assistant understands plain task commands and carries them out with the tools, for
/// the signed-in user only.
#[tokio::test]
async fn the_demo_assistant_manages_tasks_with_tool_calls_scoped_to_the_user() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let other = app.new_user_token().await;
    async fn say(app: &TestApp, token: &str, content: &str) -> Value {
        let id = app.new_conversation(token).await;
        let path = format!("/api/v1/conversations/{id}/messages");
        json_of(app.send_authed(Method::POST, &path, token, Some(&json!({ "content": content }))).await, 201).await["reply"].clone()
    }

    let added = say(&app, &token, "Add a task to water the tomatoes").await;
    assert_eq!(added["tool_calls"][0]["name"], "add_task");
    assert_eq!(added["tool_calls"][0]["arguments"], json!({ "title": "water the tomatoes" }));
    assert!(added["content"].as_str().unwrap().contains("Added the task “water the tomatoes”"), "{added}");
    let mine = json_of(app.get_authed("/api/v1/tasks", &token).await, 200).await;
    assert_eq!(mine["tasks"][0]["title"], "water the tomatoes");

    // Another user asking about that title finds nothing of theirs, and changes nothing of mine.
    let refused = say(&app, &other, "Mark water the tomatoes done").await;
    assert!(refused["tool_calls"][0]["result"]["error"].as_str().unwrap().contains("No open task"), "{refused}");
    let listed = say(&app, &other, "What are my tasks?").await;
    assert_eq!(listed["tool_calls"][0]["result"]["tasks"], json!([]));

    let done = say(&app, &token, "Mark water the tomatoes done").await;
    assert_eq!(done["tool_calls"][0]["result"]["completed"], true);
    let listed = say(&app, &token, "What are my tasks?").await;
    assert!(listed["content"].as_str().unwrap().contains("[done] water the tomatoes"), "{listed}");
    // A plain message calls nothing.
    let plain = say(&app, &token, "Hello there").await;
    assert_eq!(plain["tool_calls"], json!([]));
}
