//! `/api/v1/search`: message-level full-text search on the backend under test (the suite runs on SQLite
//! and on PostgreSQL): ranking, prefixes, phrases, folding, isolation, an index that follows edits and
//! deletes, and query strings that must never become a syntax error.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_app, url_encoded};

async fn search(app: &TestApp, token: &str, q: &str) -> Value {
    let response = app.get_authed(&format!("/api/v1/search?q={}", url_encoded(q)), token).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(status, 200, "searching {q:?}: {body}");
    body
}

/// The ids of the user's own messages (not the demo assistant's quoting replies) that `q` finds, in order.
async fn found(app: &TestApp, token: &str, q: &str) -> Vec<String> {
    search(app, token, q).await["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["role"] == "user")
        .map(|r| r["message_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Sends `content` in a new conversation and returns the stored message's id.
async fn said(app: &TestApp, token: &str, content: &str) -> String {
    let conversation = app.new_conversation(token).await;
    app.say(token, &conversation, content).await["message"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn results_are_messages_best_match_first_with_snippet_and_highlights() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let once = said(
        &app,
        &token,
        &format!("{} and then keyset pagination came up once, among other things", "Words about databases ".repeat(8)),
    )
    .await;
    let thrice = said(&app, &token, "Keyset keyset KEYSET").await;
    said(&app, &token, "Nothing relevant in this one").await;

    let body = search(&app, &token, "keyset").await;
    let results = body["results"].as_array().unwrap();
    assert_eq!(found(&app, &token, "keyset").await, vec![thrice.clone(), once.clone()], "the denser match ranks first");
    assert!(body["next_cursor"].is_null());
    let first = &results[0];
    assert_eq!(first["message_id"], thrice);
    for key in ["conversation_id", "conversation_title", "role", "snippet", "highlights", "created_at"] {
        assert!(!first[key].is_null(), "{key} in {first}");
    }
    assert_eq!(first["conversation_title"], "Keyset keyset KEYSET", "the first message names the conversation");
    // Every highlight points at a matched word of the snippet.
    for result in results {
        let snippet: Vec<char> = result["snippet"].as_str().unwrap().chars().collect();
        let highlights = result["highlights"].as_array().unwrap();
        assert!(!highlights.is_empty(), "{result}");
        for pair in highlights {
            let (start, end) = (pair[0].as_u64().unwrap() as usize, pair[1].as_u64().unwrap() as usize);
            let word: String = snippet[start..end].iter().collect();
            assert_eq!(word.to_lowercase(), "keyset", "{result}");
        }
    }
    // A long message's snippet is cut around the match, not its first 200 characters.
    let long = results.iter().find(|r| r["message_id"] == once).unwrap();
    let snippet = long["snippet"].as_str().unwrap();
    assert!(snippet.starts_with('…') && snippet.contains("keyset pagination"), "{snippet}");
}

#[tokio::test]
async fn prefixes_phrases_case_and_diacritics() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let keyset = said(&app, &token, "Notes on keyset pagination").await;
    let creme = said(&app, &token, "Crème brûlée for dessert").await;
    let reversed = said(&app, &token, "pagination before keyset, the other way round").await;

    assert_eq!(
        sorted(found(&app, &token, "keys").await),
        sorted(vec![keyset.clone(), reversed.clone()]),
        "the last word matches as a prefix"
    );
    assert_eq!(found(&app, &token, "keys.").await, Vec::<String>::new(), "a word ended by punctuation is a whole word");
    assert_eq!(
        found(&app, &token, r#""keyset pagination""#).await,
        vec![keyset.clone()],
        "a quoted phrase keeps its order"
    );
    assert_eq!(
        sorted(found(&app, &token, "pagination keyset").await),
        sorted(vec![keyset.clone(), reversed.clone()]),
        "bare words in any order"
    );
    assert_eq!(found(&app, &token, "CREME BRULEE").await, vec![creme.clone()], "case and diacritics fold");
    assert_eq!(found(&app, &token, "crème").await, vec![creme.clone()]);
    assert_eq!(found(&app, &token, "keyset dessert").await, Vec::<String>::new(), "every word must match");
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn a_user_never_finds_another_users_messages() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let stranger = app.new_user_token().await;
    said(&app, &stranger, "The secret word is marmalade").await;
    let mine = said(&app, &token, "I like marmalade too").await;

    let body = search(&app, &token, "marmalade").await;
    for result in body["results"].as_array().unwrap() {
        let conversation = result["conversation_id"].as_str().unwrap();
        let response = app.get_authed(&format!("/api/v1/conversations/{conversation}"), &token).await;
        assert_eq!(response.status(), 200, "every result is in one of the user's own conversations");
    }
    assert_eq!(found(&app, &token, "marmalade").await, vec![mine]);
    assert_eq!(found(&app, &token, "secret").await, Vec::<String>::new());
}

#[tokio::test]
async fn the_index_follows_edits_and_deletes() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let conversation = app.new_conversation(&token).await;
    let id = app.say(&token, &conversation, "An original thought about zeppelins").await["message"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(found(&app, &token, "zeppelins").await, vec![id.clone()]);

    let edit = format!("/api/v1/conversations/{conversation}/messages/{id}");
    let edited = app
        .send_authed(Method::PATCH, &edit, &token, Some(&json!({ "content": "A revised thought about balloons" })))
        .await;
    assert_eq!(edited.status(), 201);
    assert_eq!(found(&app, &token, "balloons").await, vec![id.clone()], "the new words are found");
    let stale = search(&app, &token, "original").await;
    assert!(
        stale["results"].as_array().unwrap().iter().all(|r| r["message_id"] != id),
        "the old words are gone: {stale}"
    );

    let path = format!("/api/v1/conversations/{conversation}");
    assert_eq!(app.send_authed(Method::DELETE, &path, &token, None).await.status(), 204);
    assert_eq!(
        search(&app, &token, "balloons").await["results"],
        serde_json::json!([]),
        "deleted messages are gone from the index"
    );
    assert_eq!(search(&app, &token, "zeppelins").await["results"], serde_json::json!([]));
}

#[tokio::test]
async fn hostile_queries_are_words_or_a_validation_error_never_a_500() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let target = said(&app, &token, "near the OR gate, x-ray \"quotes\" and back\\slash").await;

    for q in [
        r#"""#,
        "*",
        "NEAR(",
        "OR",
        "-",
        "\\",
        r#""unbalanced"#,
        "a AND (b OR",
        "^x",
        "col:val",
        "'",
        "%",
        "_",
        "&|!",
        ":*",
    ] {
        let response = app.get_authed(&format!("/api/v1/search?q={}", url_encoded(q)), &token).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert!(
            status == 200 || (status == 400 && body["error"]["code"] == "validation_failed"),
            "{q:?}: {status} {body}"
        );
    }
    // Operator words are plain words.
    assert_eq!(found(&app, &token, "OR gate").await, vec![target.clone()]);
    assert_eq!(found(&app, &token, "NEAR(").await, vec![target.clone()]);
    assert_eq!(
        found(&app, &token, r#"x-ray "quotes"#).await,
        vec![target.clone()],
        "an unbalanced quote quotes nothing"
    );

    for q in ["", "   ", &"x".repeat(201), &"word ".repeat(2_000)] {
        let response = app.get_authed(&format!("/api/v1/search?q={}", url_encoded(q)), &token).await;
        assert_eq!(error_code(response, 400).await, "validation_failed", "{:?}", &q[..q.len().min(20)]);
    }
    let missing = app.get_authed("/api/v1/search", &token).await;
    assert_eq!(error_code(missing, 400).await, "validation_failed");
    let bad_cursor = app.get_authed("/api/v1/search?q=gate&cursor=nonsense", &token).await;
    assert_eq!(error_code(bad_cursor, 400).await, "validation_failed");
    let bad_limit = app.get_authed("/api/v1/search?q=gate&limit=0", &token).await;
    assert_eq!(error_code(bad_limit, 400).await, "validation_failed");
    let anonymous = app.get("/api/v1/search?q=gate").await;
    assert_eq!(error_code(anonymous, 401).await, "unauthorized");
}

#[tokio::test]
async fn results_page_with_a_cursor_and_the_conversation_filter_uses_the_index() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let conversation = app.new_conversation(&token).await;
    for n in 0..3 {
        app.say(&token, &conversation, &format!("lighthouse number {n}")).await;
    }
    // Three messages and three replies that quote them: six results, three pages of two.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let path = match &cursor {
            None => "/api/v1/search?q=lighthouse&limit=2".to_owned(),
            Some(c) => format!("/api/v1/search?q=lighthouse&limit=2&cursor={c}"),
        };
        let response = app.get_authed(&path, &token).await;
        let body: Value = response.json().await.unwrap();
        let results = body["results"].as_array().unwrap();
        assert!(results.len() <= 2);
        seen.extend(results.iter().map(|r| r["message_id"].as_str().unwrap().to_owned()));
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert_eq!(sorted(seen.clone()).windows(2).filter(|w| w[0] == w[1]).count(), 0, "no result twice");

    let other = app.new_conversation(&token).await;
    app.say(&token, &other, "Nothing about lights").await;
    let body: Value = app.get_authed("/api/v1/conversations?q=lighthou", &token).await.json().await.unwrap();
    let ids: Vec<&str> = body["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![conversation.as_str()], "the sidebar filter finds by word prefix through the index");
}

/// Issue 21, finding 5: searching reads the user's whole index, so it is limited per user, in the
/// database every instance shares.
#[tokio::test]
async fn searches_are_rate_limited_per_user() {
    let app = crate::helpers::spawn_app_with(&[("PARLEY_RATE_LIMIT_SEARCH_PER_USER", "3")]).await;
    let token = app.new_user_token().await;
    for _ in 0..3 {
        assert_eq!(app.get_authed("/api/v1/search?q=hello", &token).await.status(), 200);
    }
    let refused = app.get_authed("/api/v1/search?q=hello", &token).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(error_code(refused, 429).await, "rate_limited");
    // Another user is not affected.
    let other = app.new_user_token().await;
    assert_eq!(app.get_authed("/api/v1/search?q=hello", &other).await.status(), 200);
}
