//! `/api/v1/me/export`: everything the user owns, streamed, as JSON and as a zip of Markdown files.

use std::io::Read;

use futures_util::StreamExt;
use reqwest::{Method, header};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code, spawn_app, unique_email};

const LARGE: usize = 20_000;

/// A user with a large conversation (seeded straight into the database), a small one and a task.
async fn user_with_history(app: &TestApp) -> (String, String) {
    let token = app.signup(&unique_email(), PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let large = app.new_conversation(&token).await;
    let contents: Vec<String> = (0..LARGE)
        .map(|i| format!("Message {i}: a line of history with \"quotes\", ünïcödé and\nnewlines. {}", "x".repeat(200)))
        .collect();
    let db = crate::helpers::connect_database(&app.db_url).await;
    db.add_message_history(large.parse().unwrap(), &contents).await.unwrap();
    db.close().await;
    let small = app.new_conversation(&token).await;
    app.say(&token, &small, "Plan the trip to Lisbon").await;
    let task = app.send_authed(Method::POST, "/api/v1/tasks", &token, Some(&json!({ "title": "Pack" }))).await;
    assert_eq!(task.status(), 201);
    (token, large)
}

#[tokio::test]
async fn the_json_export_streams_a_large_history_and_round_trips_every_message() {
    let app = spawn_app().await;
    let (token, large) = user_with_history(&app).await;

    let response = app.get_authed("/api/v1/me/export", &token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert!(
        response.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"parley-export-")
    );
    assert!(response.headers().get(header::CONTENT_LENGTH).is_none(), "streamed, not assembled first");
    // The body arrives in pieces no larger than a page of messages: the server never holds it whole.
    let mut body = Vec::new();
    let mut chunks = 0;
    let mut largest = 0;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("the stream completes");
        chunks += 1;
        largest = largest.max(chunk.len());
        body.extend_from_slice(&chunk);
    }
    assert!(body.len() > 4_000_000, "{} bytes", body.len());
    assert!(chunks >= 20 && largest < 1_000_000, "{chunks} chunks, the largest {largest} bytes");

    let export: Value = serde_json::from_slice(&body).expect("one valid JSON document");
    let me: Value = app.get_authed("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(export["user"], me);
    let conversations = export["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 2);
    let exported = conversations.iter().find(|c| c["id"] == large.as_str()).unwrap();
    let messages = exported["messages"].as_array().unwrap();
    assert_eq!(messages.len(), LARGE);
    for (i, message) in messages.iter().enumerate() {
        assert!(message["content"].as_str().unwrap().starts_with(&format!("Message {i}: ")), "in order, exactly");
        assert_eq!(message["conversation_id"], large.as_str());
    }
    // What the API pages give is what the export holds.
    let page: Value = app
        .get_authed(&format!("/api/v1/conversations/{large}/messages?limit=100"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["messages"].as_array().unwrap()[..], messages[LARGE - 100..]);
    let small = conversations.iter().find(|c| c["id"] != large.as_str()).unwrap();
    assert_eq!(small["messages"].as_array().unwrap().len(), 2, "the message and the reply");
    assert_eq!(export["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(export["tasks"][0]["title"], "Pack");
}

#[tokio::test]
async fn the_markdown_export_is_a_zip_of_one_file_per_conversation() {
    let app = spawn_app().await;
    let (token, _) = user_with_history(&app).await;

    let response = app.get_authed("/api/v1/me/export?format=markdown", &token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/zip");
    assert!(response.headers().get(header::CONTENT_LENGTH).is_none(), "streamed");
    let bytes = response.bytes().await.unwrap();

    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip");
    assert_eq!(archive.len(), 2);
    let mut headings = 0;
    let mut found_trip = false;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        assert!(file.name().ends_with(".md"), "{}", file.name());
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        assert!(text.starts_with("# "), "a title first");
        headings += text.matches("\n## You · ").count() + text.matches("\n## Assistant · ").count();
        found_trip |= text.contains("Plan the trip to Lisbon");
    }
    assert_eq!(headings, LARGE + 2, "every message");
    assert!(found_trip);
}

#[tokio::test]
async fn the_export_holds_only_the_users_own_data_and_refuses_unknown_formats() {
    let app = spawn_app().await;
    let (other, _) = user_with_history(&app).await;
    let token = app.new_user_token().await;
    let export: Value = app.get_authed("/api/v1/me/export", &token).await.json().await.unwrap();
    assert_eq!(export["conversations"], json!([]));
    assert_eq!(export["tasks"], json!([]));
    assert_ne!(export["user"]["id"], app.get_authed("/api/v1/me", &other).await.json::<Value>().await.unwrap()["id"]);

    let bad = app.get_authed("/api/v1/me/export?format=pdf", &token).await;
    assert_eq!(error_code(bad, 400).await, "validation_failed");
    assert_eq!(error_code(app.get("/api/v1/me/export").await, 401).await, "unauthorized");
}
