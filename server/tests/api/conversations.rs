//! `/api/v1/conversations`: isolation between users, keyset paging, replies as JSON and as SSE.

use std::{collections::HashSet, time::Duration};

use futures_util::StreamExt;
use parley::services::assistant::demo::demo_reply;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, json_of, spawn_app, spawn_app_with, url_encoded};

#[tokio::test]
async fn conversations_are_created_read_renamed_and_deleted() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;

    let default = json_of(app.send_authed(Method::POST, "/api/v1/conversations", &token, None).await, 201).await;
    assert_eq!(default["title"], "New chat");
    let named = json_of(
        app.send_authed(Method::POST, "/api/v1/conversations", &token, Some(&json!({ "title": " Plans " }))).await,
        201,
    )
    .await;
    assert_eq!(named["title"], "Plans");
    let id = named["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    for key in ["created_at", "updated_at"] {
        assert!(chrono::DateTime::parse_from_rfc3339(named[key].as_str().unwrap()).is_ok(), "{key}");
    }

    let fetched = json_of(app.get_authed(&format!("/api/v1/conversations/{id}"), &token).await, 200).await;
    assert_eq!(fetched, named);
    let renamed = json_of(
        app.send_authed(
            Method::PATCH,
            &format!("/api/v1/conversations/{id}"),
            &token,
            Some(&json!({ "title": "Holiday" })),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed["title"], "Holiday");
    let time = |v: &serde_json::Value| chrono::DateTime::parse_from_rfc3339(v["updated_at"].as_str().unwrap()).unwrap();
    assert!(time(&renamed) > time(&named), "a rename is an update");
    let list = json_of(app.get_authed("/api/v1/conversations", &token).await, 200).await;
    assert_eq!(list["conversations"][0]["id"], id, "the renamed conversation is the most recently updated");

    app.say(&token, id, "hello").await;
    let deleted = app.send_authed(Method::DELETE, &format!("/api/v1/conversations/{id}"), &token, None).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        error_code(app.get_authed(&format!("/api/v1/conversations/{id}"), &token).await, 404).await,
        "not_found"
    );
    let messages = app.get_authed(&format!("/api/v1/conversations/{id}/messages"), &token).await;
    assert_eq!(error_code(messages, 404).await, "not_found", "its messages are gone too");
}

#[tokio::test]
async fn titles_and_contents_are_validated() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let id = app.new_conversation(&token).await;

    let long_title = app
        .send_authed(Method::POST, "/api/v1/conversations", &token, Some(&json!({ "title": "t".repeat(201) })))
        .await;
    assert_eq!(error_code(long_title, 400).await, "validation_failed");
    let blank_rename = app
        .send_authed(Method::PATCH, &format!("/api/v1/conversations/{id}"), &token, Some(&json!({ "title": "  " })))
        .await;
    assert_eq!(error_code(blank_rename, 400).await, "validation_failed");

    let path = format!("/api/v1/conversations/{id}/messages");
    for (content, why) in [(json!(""), "empty"), (json!("  \n "), "blank"), (json!("x".repeat(32_001)), "too long")] {
        let response = app.send_authed(Method::POST, &path, &token, Some(&json!({ "content": content }))).await;
        let body = json_of(response, 400).await;
        assert_eq!(body["error"]["code"], "validation_failed", "{why}");
        assert!(body["error"]["fields"]["content"].is_array(), "{why}");
    }
    let wrong_type = app.send_authed(Method::POST, &path, &token, Some(&json!({ "content": 5 }))).await;
    assert_eq!(error_code(wrong_type, 400).await, "malformed_request");
    let max = app.send_authed(Method::POST, &path, &token, Some(&json!({ "content": "y".repeat(32_000) }))).await;
    assert_eq!(max.status(), 201, "32,000 characters are allowed");
}

#[tokio::test]
async fn sending_a_message_stores_it_with_the_reply_and_titles_a_new_chat() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let id = app.new_conversation(&token).await;

    let sent = app.say(&token, &id, "  What is a monad?\nPlease explain.  ").await;

    assert_eq!(sent["message"]["role"], "user");
    assert_eq!(sent["message"]["content"], "What is a monad?\nPlease explain.");
    assert_eq!(sent["message"]["conversation_id"], id.as_str());
    assert_eq!(sent["reply"]["role"], "assistant");
    assert_eq!(sent["reply"]["content"], demo_reply("What is a monad?\nPlease explain."));
    let conversation = json_of(app.get_authed(&format!("/api/v1/conversations/{id}"), &token).await, 200).await;
    assert_eq!(conversation["title"], "What is a monad?", "the first message names the chat");
    let history = json_of(app.get_authed(&format!("/api/v1/conversations/{id}/messages"), &token).await, 200).await;
    assert_eq!(history["messages"], json!([sent["message"], sent["reply"]]));
    assert_eq!(history["next_cursor"], Value::Null);

    app.say(&token, &id, "Second question").await;
    let conversation = json_of(app.get_authed(&format!("/api/v1/conversations/{id}"), &token).await, 200).await;
    assert_eq!(conversation["title"], "What is a monad?", "later messages keep the title");
}

#[tokio::test]
async fn another_user_gets_404_on_every_route_and_lists_never_mix() {
    let app = spawn_app().await;
    let owner = app.new_user_token().await;
    let intruder = app.new_user_token().await;
    let id = app.new_conversation(&owner).await;
    app.say(&owner, &id, "private thoughts").await;
    let intruders_own = app.new_conversation(&intruder).await;

    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/v1/conversations/{id}"), None),
        (Method::PATCH, format!("/api/v1/conversations/{id}"), Some(json!({ "title": "mine now" }))),
        (Method::DELETE, format!("/api/v1/conversations/{id}"), None),
        (Method::GET, format!("/api/v1/conversations/{id}/messages"), None),
        (Method::POST, format!("/api/v1/conversations/{id}/messages"), Some(json!({ "content": "hi" }))),
        (Method::POST, format!("/api/v1/conversations/{id}/reply"), None),
        // The id is judged before the body or the query: nothing about someone else's conversation leaks
        // through a different error.
        (Method::PATCH, format!("/api/v1/conversations/{id}"), Some(json!({ "title": "" }))),
        (Method::PATCH, format!("/api/v1/conversations/{id}"), Some(json!({}))),
        (Method::POST, format!("/api/v1/conversations/{id}/messages"), Some(json!({ "content": "  " }))),
        (Method::POST, format!("/api/v1/conversations/{id}/messages"), None),
        (Method::GET, format!("/api/v1/conversations/{id}/messages?limit=0&before=garbage"), None),
    ];
    for (method, path, body) in &routes {
        let response = app.send_authed(method.clone(), path, &intruder, body.as_ref()).await;
        assert_eq!(error_code(response, 404).await, "not_found", "{method} {path}");
        let unknown = path.replace(&id, &uuid::Uuid::now_v7().to_string());
        let response = app.send_authed(method.clone(), &unknown, &intruder, body.as_ref()).await;
        assert_eq!(error_code(response, 404).await, "not_found", "unknown id behaves the same: {method} {unknown}");
    }

    let theirs = json_of(app.get_authed("/api/v1/conversations", &intruder).await, 200).await;
    let ids: Vec<&str> =
        theirs["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![intruders_own.as_str()]);
    let history = json_of(app.get_authed(&format!("/api/v1/conversations/{id}/messages"), &owner).await, 200).await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 2, "the owner's conversation is untouched");
    let title = json_of(app.get_authed(&format!("/api/v1/conversations/{id}"), &owner).await, 200).await;
    assert_eq!(title["title"], "private thoughts");
}

#[tokio::test]
async fn ids_that_are_not_uuids_are_404_and_no_token_is_401() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    for path in
        ["/api/v1/conversations/not-a-uuid", "/api/v1/conversations/123/messages", "/api/v1/conversations/%FF%FE"]
    {
        assert_eq!(error_code(app.get_authed(path, &token).await, 404).await, "not_found", "{path}");
    }
    assert_eq!(error_code(app.get("/api/v1/conversations").await, 401).await, "unauthorized");
}

async fn all_message_ids(
    app: &TestApp,
    token: &str,
    id: &str,
    limit: u32,
    between_pages: impl AsyncFn(usize),
) -> Vec<(String, usize)> {
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    for page in 0..20 {
        let mut path = format!("/api/v1/conversations/{id}/messages?limit={limit}");
        if let Some(cursor) = &before {
            path.push_str(&format!("&before={cursor}"));
        }
        let body = json_of(app.get_authed(&path, token).await, 200).await;
        let messages = body["messages"].as_array().unwrap();
        let times: Vec<&str> = messages.iter().map(|m| m["created_at"].as_str().unwrap()).collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted, "each page is oldest first");
        seen.extend(messages.iter().map(|m| (m["id"].as_str().unwrap().to_owned(), page)));
        match body["next_cursor"].as_str() {
            Some(cursor) => before = Some(cursor.to_owned()),
            None => return seen,
        }
        between_pages(page).await;
    }
    panic!("paging did not end");
}

#[tokio::test]
async fn one_hundred_twenty_messages_come_back_in_three_pages_without_gap_or_duplicate() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let id = app.new_conversation(&token).await;
    let mut expected = Vec::new();
    for n in 0..60 {
        let sent = app.say(&token, &id, &format!("message {n}")).await;
        expected.push(sent["message"]["id"].as_str().unwrap().to_owned());
        expected.push(sent["reply"]["id"].as_str().unwrap().to_owned());
    }

    // New messages arrive between page requests; they are newer than every cursor, so they change nothing.
    let seen = all_message_ids(&app, &token, &id, 50, async |page| {
        app.say(&token, &id, &format!("interruption {page}")).await;
    })
    .await;

    let pages: Vec<usize> = seen.iter().map(|(_, page)| *page).collect();
    assert_eq!(pages.iter().filter(|p| **p == 0).count(), 50);
    assert_eq!(pages.iter().filter(|p| **p == 1).count(), 50);
    assert_eq!(pages.iter().filter(|p| **p == 2).count(), 20);
    let mut ids: Vec<String> = seen.into_iter().map(|(id, _)| id).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 120, "no duplicate");
    // Pages run newest to oldest, each page oldest first: reorder and compare with the sending order.
    let mut ordered = Vec::new();
    for chunk in [ids.drain(100..).collect::<Vec<_>>(), ids.drain(50..).collect(), ids] {
        ordered.extend(chunk);
    }
    assert_eq!(ordered, expected, "no gap, in order");
}

#[tokio::test]
async fn the_conversation_list_pages_by_recent_activity_without_gap_or_duplicate() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let mut created = Vec::new();
    for _ in 0..45 {
        created.push(app.new_conversation(&token).await);
    }
    app.say(&token, &created[0], "bump the oldest to the top").await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut sizes = Vec::new();
    for _ in 0..10 {
        let path = match &cursor {
            Some(c) => format!("/api/v1/conversations?limit=20&cursor={c}"),
            None => "/api/v1/conversations?limit=20".to_owned(),
        };
        let body = json_of(app.get_authed(&path, &token).await, 200).await;
        let page = body["conversations"].as_array().unwrap();
        sizes.push(page.len());
        seen.extend(page.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        app.new_conversation(&token).await; // newer than every cursor: never shows up on later pages
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }

    assert_eq!(sizes, vec![20, 20, 5]);
    assert_eq!(seen[0], created[0], "most recently active first");
    let mut expected: Vec<String> = created[1..].iter().rev().cloned().collect();
    expected.insert(0, created[0].clone());
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn page_limits_and_cursors_are_validated() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let id = app.new_conversation(&token).await;
    for query in ["limit=0", "limit=101", "limit=abc", "limit=-1", "cursor=garbage!!"] {
        let response = app.get_authed(&format!("/api/v1/conversations?{query}"), &token).await;
        assert_eq!(error_code(response, 400).await, "validation_failed", "{query}");
    }
    for query in ["limit=0", "limit=101", "before=%%%", "before=bm90LWEtY3Vyc29y"] {
        let response = app.get_authed(&format!("/api/v1/conversations/{id}/messages?{query}"), &token).await;
        assert_eq!(error_code(response, 400).await, "validation_failed", "{query}");
    }
    for query in ["limit=1", "limit=100"] {
        assert_eq!(app.get_authed(&format!("/api/v1/conversations?{query}"), &token).await.status(), 200, "{query}");
    }
}

/// Reads server-sent events as (event, data) pairs until the stream ends.
async fn read_events(response: reqwest::Response) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    let mut buffer = String::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if !name.is_empty() {
                events.push((name, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    events
}

fn stream_request(app: &TestApp, token: &str, id: &str, content: &str) -> reqwest::RequestBuilder {
    app.client
        .post(app.url(&format!("/api/v1/conversations/{id}/messages")))
        .bearer_auth(token)
        .header("accept", "text/event-stream")
        .json(&json!({ "content": content }))
}

#[tokio::test]
async fn a_streamed_reply_is_the_concatenation_of_its_deltas_and_is_stored() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let id = app.new_conversation(&token).await;

    let response = stream_request(&app, &token, &id, "Stream me a reply").send().await.unwrap();
    assert!(response.status().is_success());
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let events = read_events(response).await;

    let deltas: Vec<&Value> = events.iter().filter(|(name, _)| name == "delta").map(|(_, data)| data).collect();
    assert!(deltas.len() > 10, "the reply arrives in pieces");
    let streamed: String = deltas.iter().map(|d| d["text"].as_str().unwrap()).collect();
    let (last, done) = events.last().unwrap();
    assert_eq!(last, "done");
    assert_eq!(done["reply"]["content"], streamed.as_str());
    assert_eq!(done["message"]["content"], "Stream me a reply");
    let history = json_of(app.get_authed(&format!("/api/v1/conversations/{id}/messages"), &token).await, 200).await;
    assert_eq!(history["messages"], json!([done["message"], done["reply"]]));
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_leaves_its_message_and_the_partial_reply_it_saw() {
    let app = spawn_app_with(&[("PARLEY_DEMO_CHUNK_DELAY_MS", "40")]).await;
    let token = app.new_user_token().await;
    let id = app.new_conversation(&token).await;
    let full = demo_reply("Leave early");

    let response = stream_request(&app, &token, &id, "Leave early").send().await.unwrap();
    let mut body = response.bytes_stream();
    let mut received = String::new();
    while received.matches("event: delta").count() < 3 {
        received.push_str(&String::from_utf8_lossy(&body.next().await.unwrap().unwrap()));
    }
    drop(body);
    let seen: String = received
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str::<Value>(d.trim()).unwrap()["text"].as_str().unwrap().to_owned())
        .collect();

    // The server notices within a chunk or two; poll, bounded in count and time.
    let mut stored = None;
    for _ in 0..50 {
        let history = json_of(app.get_authed(&format!("/api/v1/conversations/{id}/messages"), &token).await, 200).await;
        let messages = history["messages"].as_array().unwrap().clone();
        if messages.len() == 2 {
            stored = Some(messages);
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let stored = stored.expect("the partial reply is stored once the server notices the client left");
    assert_eq!(stored[0]["content"], "Leave early", "the user's message is kept");
    let partial = stored[1]["content"].as_str().unwrap();
    assert!(partial.starts_with(&seen), "the stored reply begins with what the client saw");
    assert!(full.starts_with(partial), "and is a prefix of the full reply");
    assert!(partial.len() < full.len(), "generation stopped early");
}

#[tokio::test]
async fn bodies_over_the_configured_limit_get_413_with_or_without_a_length() {
    let app = spawn_app_with(&[("PARLEY_MAX_BODY_BYTES", "2048")]).await;
    let token = app.new_user_token().await;
    let oversized = json!({ "title": "x".repeat(4096) });

    let declared = app.send_authed(Method::POST, "/api/v1/conversations", &token, Some(&oversized)).await;
    assert_eq!(error_code(declared, 413).await, "payload_too_large");

    // Sent in chunks, the length is unknown until the limit is crossed mid-body.
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(br#"{"title": ""#.to_vec()), Ok(vec![b'x'; 4096]), Ok(br#""}"#.to_vec())];
    let chunked = app
        .client
        .post(app.url("/api/v1/conversations"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(pieces)))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(chunked, 413).await, "payload_too_large");

    let list = json_of(app.get_authed("/api/v1/conversations", &token).await, 200).await;
    assert_eq!(list["conversations"].as_array().unwrap().len(), 0, "nothing was created");
    let small = app.send_authed(Method::POST, "/api/v1/conversations", &token, Some(&json!({ "title": "Fits" }))).await;
    assert_eq!(small.status(), 201);
}

#[tokio::test]
async fn search_finds_conversations_by_title_or_message_and_only_the_users_own() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let stranger = app.new_user_token().await;
    let create = |token: String, title: &'static str| {
        let app = &app;
        async move {
            let body = json_of(
                app.send_authed(Method::POST, "/api/v1/conversations", &token, Some(&json!({ "title": title }))).await,
                201,
            )
            .await;
            body["id"].as_str().unwrap().to_owned()
        }
    };
    let by_title = create(token.clone(), "Keyset pagination notes").await;
    let by_message = app.new_conversation(&token).await;
    app.say(&token, &by_message, "Is the migration 100%_done now?").await;
    let unrelated = app.new_conversation(&token).await;
    app.say(&token, &unrelated, "Nothing to see here, just words").await;
    create(stranger.clone(), "keyset secrets of someone else").await;

    let found = |q: &str| {
        let app = &app;
        let token = token.clone();
        let path = format!("/api/v1/conversations?q={}", url_encoded(q));
        async move {
            let body = json_of(app.get_authed(&path, &token).await, 200).await;
            body["conversations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("KEYSET").await, vec![by_title.clone()], "by title, ignoring case, never another user's");
    assert_eq!(found("migration").await, vec![by_message.clone()], "by message content");
    assert_eq!(
        found("%_done").await,
        vec![by_message.clone()],
        "LIKE wildcards are taken literally; words match through the index"
    );
    assert_eq!(found("no such words anywhere").await, Vec::<String>::new());
    assert_eq!(
        found("   ").await,
        vec![unrelated.clone(), by_message.clone(), by_title.clone()],
        "a blank search is no search"
    );

    // Paging a search: the same q with the cursor ("n" starts a word of each: notes, now, nothing).
    let first = json_of(app.get_authed("/api/v1/conversations?q=n&limit=2", &token).await, 200).await;
    assert_eq!(first["conversations"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().expect("a second page").to_owned();
    let second =
        json_of(app.get_authed(&format!("/api/v1/conversations?q=n&limit=2&cursor={cursor}"), &token).await, 200).await;
    assert_eq!(second["conversations"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());

    let too_long = app.get_authed(&format!("/api/v1/conversations?q={}", "x".repeat(201)), &token).await;
    assert_eq!(error_code(too_long, 400).await, "validation_failed");
}

#[tokio::test]
async fn editing_a_message_replaces_only_the_later_messages_and_answers_again() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let id = app.new_conversation(&token).await;
    let first = app.say(&token, &id, "First question").await;
    let second = app.say(&token, &id, "Second question about quinces").await;
    app.say(&token, &id, "Third question").await;
    assert_eq!(history(&app, &token, &id).await.len(), 6);

    let message_id = second["message"]["id"].as_str().unwrap();
    let path = format!("/api/v1/conversations/{id}/messages/{message_id}");
    let edited = json_of(
        app.send_authed(Method::PATCH, &path, &token, Some(&json!({ "content": "  Second question about medlars " })))
            .await,
        201,
    )
    .await;
    assert_eq!(edited["message"]["id"], message_id, "the same message, edited");
    assert_eq!(edited["message"]["content"], "Second question about medlars");
    assert_eq!(edited["reply"]["content"], demo_reply("Second question about medlars"));

    let after = history(&app, &token, &id).await;
    let ids: Vec<&str> = after.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        vec![
            first["message"]["id"].as_str().unwrap(),
            first["reply"]["id"].as_str().unwrap(),
            message_id,
            edited["reply"]["id"].as_str().unwrap()
        ],
        "earlier messages stay, later ones are replaced by the new reply"
    );
    // The search index follows the edit.
    let search = |q: &str| format!("/api/v1/search?q={q}");
    let stale = json_of(app.get_authed(&search("quinces"), &token).await, 200).await;
    assert_eq!(stale["results"], json!([]));
    let fresh = json_of(app.get_authed(&search("medlars"), &token).await, 200).await;
    assert!(fresh["results"].as_array().unwrap().iter().any(|r| r["message_id"] == message_id));

    // As a stream, like a send.
    let streamed = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .json(&json!({ "content": "Streamed edit" }))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), 201);
    let text = streamed.text().await.unwrap();
    assert!(text.contains("event: delta") && text.contains("event: done"), "{text}");
    assert_eq!(history(&app, &token, &id).await.len(), 4);

    // Refusals: an assistant message, empty content, unknown or malformed ids, someone else's.
    let reply_path = format!("/api/v1/conversations/{id}/messages/{}", first["reply"]["id"].as_str().unwrap());
    let body = json!({ "content": "x" });
    assert_eq!(
        error_code(app.send_authed(Method::PATCH, &reply_path, &token, Some(&body)).await, 400).await,
        "validation_failed"
    );
    assert_eq!(
        error_code(app.send_authed(Method::PATCH, &path, &token, Some(&json!({ "content": "  " }))).await, 400).await,
        "validation_failed"
    );
    let unknown = format!("/api/v1/conversations/{id}/messages/{}", uuid::Uuid::now_v7());
    assert_eq!(error_code(app.send_authed(Method::PATCH, &unknown, &token, Some(&body)).await, 404).await, "not_found");
    let malformed = format!("/api/v1/conversations/{id}/messages/not-a-uuid");
    assert_eq!(
        error_code(app.send_authed(Method::PATCH, &malformed, &token, Some(&body)).await, 404).await,
        "not_found"
    );
    let stranger = app.new_user_token().await;
    assert_eq!(error_code(app.send_authed(Method::PATCH, &path, &stranger, Some(&body)).await, 404).await, "not_found");
    assert_eq!(history(&app, &token, &id).await.len(), 4, "refused edits change nothing");
}

async fn history(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let body = json_of(app.get_authed(&format!("/api/v1/conversations/{id}/messages"), token).await, 200).await;
    body["messages"].as_array().unwrap().clone()
}

/// Issue 21, finding 5: a cursor this server could not have made (a time far outside any row's) is a
/// `400`, on PostgreSQL too, where it once reached the database and answered 503.
#[tokio::test]
async fn a_cursor_from_outside_time_is_refused() {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let conversation = app.new_conversation(&token).await;
    let id = uuid::Uuid::now_v7();
    for raw in [format!("-8200000000000000000|{id}"), format!("8200000000000000000|{id}")] {
        let cursor = URL_SAFE_NO_PAD.encode(raw);
        for path in [
            format!("/api/v1/conversations?cursor={cursor}"),
            format!("/api/v1/conversations/{conversation}/messages?before={cursor}"),
        ] {
            assert_eq!(error_code(app.get_authed(&path, &token).await, 400).await, "validation_failed", "{path}");
        }
    }
}
