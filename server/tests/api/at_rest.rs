//! Issue 23, private at rest: with `PARLEY_ENCRYPTION_KEYS` set, the database (the SQLite file and its WAL,
//! or PostgreSQL's rows) holds none of the words people wrote; the tokens are Python's Fernet both ways;
//! keys rotate while instances serve; search finds exactly what it finds without encryption, and one
//! user's words never match another's.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    TEST_FERNET_KEY, TEST_SEARCH_KEY, TestApp, fresh_database_url, json_of, python, spawn_app, spawn_app_on_with,
    spawn_app_with, sql, sql_texts, url_encoded,
};

/// A second Fernet key (written by Python's `Fernet.generate_key()`), for rotation.
const SECOND_FERNET_KEY: &str = "vwtwEfQf2wpFbYdHLKsbdMdS4Z0HhFj8E_wdWEsyDn8=";

async fn search(app: &TestApp, token: &str, q: &str) -> Vec<Value> {
    let path = format!("/api/v1/search?q={}&limit=100", url_encoded(q));
    json_of(app.get_authed(&path, token).await, 200).await["results"].as_array().unwrap().clone()
}

async fn contents(app: &TestApp, token: &str, conversation: &str) -> Vec<String> {
    let path = format!("/api/v1/conversations/{conversation}/messages?limit=100");
    json_of(app.get_authed(&path, token).await, 200).await["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

/// Everything the database holds, as text: the SQLite file and its WAL as bytes, or every row of every
/// table on PostgreSQL (the tsvector columns included).
async fn raw_database(app: &TestApp) -> String {
    if let Some(path) = app.db_url.strip_prefix("sqlite://") {
        let mut raw = Vec::new();
        for file in [path.to_owned(), format!("{path}-wal")] {
            raw.extend(std::fs::read(&file).unwrap_or_default());
        }
        return String::from_utf8_lossy(&raw).into_owned();
    }
    let tables = sql_texts(
        &app.db_url,
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .await;
    assert!(tables.len() > 5, "the tables were listed: {tables:?}");
    let mut raw = String::new();
    for table in tables {
        for row in sql_texts(&app.db_url, &format!("SELECT t::text FROM \"{table}\" t")).await {
            raw.push_str(&row);
            raw.push('\n');
        }
    }
    raw
}

#[tokio::test]
async fn with_keys_the_database_holds_none_of_the_words_people_wrote() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let me = app
        .send_authed(
            Method::PATCH,
            "/api/v1/me",
            &token,
            Some(&json!({ "instructions": "Answer like a quixotic sommelier" })),
        )
        .await;
    assert_eq!(me.status(), 200);
    let titled = json_of(
        app.send_authed(Method::POST, "/api/v1/conversations", &token, Some(&json!({ "title": "Zanzibar itinerary" })))
            .await,
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.say(&token, &titled, "Pack the tangerine snorkel").await;
    let untitled = app.new_conversation(&token).await;
    app.say(&token, &untitled, "Wolfram periwinkle question").await;
    let task = json!({ "title": "Buy gooseberry marmalade", "description": "from the apothecary" });
    assert_eq!(app.send_authed(Method::POST, "/api/v1/tasks", &token, Some(&task)).await.status(), 201);

    // Everything reads back, and search finds it (a prefix too).
    assert_eq!(contents(&app, &token, &titled).await[0], "Pack the tangerine snorkel");
    let listed = json_of(app.get_authed("/api/v1/conversations", &token).await, 200).await;
    let titles: Vec<&str> =
        listed["conversations"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Wolfram periwinkle question", "Zanzibar itinerary"]);
    assert!(!search(&app, &token, "tangerine").await.is_empty());
    assert!(!search(&app, &token, "periwin").await.is_empty());
    let by_title = json_of(app.get_authed("/api/v1/conversations?q=zanzib", &token).await, 200).await;
    assert_eq!(by_title["conversations"][0]["id"], titled.as_str(), "titles are searchable too");

    let raw = raw_database(&app).await;
    assert!(raw.len() > 1_000, "the database was read");
    for word in [
        "quixotic",
        "sommelier",
        "Zanzibar",
        "zanzibar",
        "itinerary",
        "tangerine",
        "snorkel",
        "Wolfram",
        "wolfram",
        "periwinkle",
        "periwin",
        "gooseberry",
        "marmalade",
        "apothecary",
    ] {
        assert!(!raw.contains(word), "{word:?} is readable in the database");
    }
}

#[tokio::test]
async fn python_reads_parleys_tokens_and_parley_reads_pythons() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let conversation = app.new_conversation(&token).await;
    let sent = app.say(&token, &conversation, "Crème brûlée for Émile 🍮").await;
    let id = sent["message"]["id"].as_str().unwrap().to_owned();

    let stored = sql_texts(&app.db_url, "SELECT content FROM messages WHERE role = 'user'").await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].starts_with("gAAAAA"), "a Fernet token is stored: {}", stored[0]);
    let keys = format!("{SECOND_FERNET_KEY},{TEST_FERNET_KEY}");
    let decrypt = "import sys; from cryptography.fernet import Fernet, MultiFernet; \
                   f = MultiFernet([Fernet(k) for k in sys.argv[1].split(',')]); \
                   sys.stdout.write(f.decrypt(sys.argv[2].encode()).decode())";
    assert_eq!(python(decrypt, &[&keys, &stored[0]]), "Crème brûlée for Émile 🍮", "MultiFernet reads Parley's token");

    let encrypt = "import sys; from cryptography.fernet import Fernet; \
                   sys.stdout.write(Fernet(sys.argv[1]).encrypt(sys.argv[2].encode()).decode())";
    let from_python = python(encrypt, &[TEST_FERNET_KEY, "Written by Python: ünïcödé"]);
    sql(&app.db_url, &format!("UPDATE messages SET content = '{from_python}' WHERE role = 'user'")).await;
    let read = contents(&app, &token, &conversation).await;
    assert_eq!(read[0], "Written by Python: ünïcödé", "Parley reads Python's token");
    let path = format!("/api/v1/conversations/{conversation}/messages/{id}");
    assert!(app.get_authed(&path, &token).await.status().as_u16() < 500);
}

/// `parley reencrypt` (the real binary) with `keys`, on `db_url`: its standard output.
async fn reencrypt(db_url: &str, keys: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_parley"))
        .arg("reencrypt")
        .env_clear()
        .current_dir(dir.path())
        .env("DATABASE_URL", db_url)
        .env("PARLEY_ENCRYPTION_KEYS", keys)
        .env("PARLEY_SEARCH_KEY", TEST_SEARCH_KEY)
        .envs(crate::helpers::test_pooler().map(|pooler| ("PARLEY_DB_POOLER", pooler)))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run).await.expect("reencrypt ends").unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "reencrypt failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[tokio::test]
async fn keys_rotate_while_instances_serve_and_the_old_key_can_then_go() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = fresh_database_url(dir.path()).await;
    // Plain text and the public search key first, as before encryption was turned on.
    let plain = spawn_app_on_with(&db_url, &[("PARLEY_ENCRYPTION_KEYS", ""), ("PARLEY_SEARCH_KEY", "")]).await;
    let token = plain.new_user_token().await;
    let conversation = plain.new_conversation(&token).await;
    plain.say(&token, &conversation, "lighthouse written in plain text").await;
    let task = json!({ "title": "plain lighthouse task", "description": "plain description" });
    assert_eq!(plain.send_authed(Method::POST, "/api/v1/tasks", &token, Some(&task)).await.status(), 201);
    plain.stop().await.unwrap();
    // Then the first key; then both instances learn the second key and seal with it.
    let first = spawn_app_on_with(&db_url, &[]).await;
    first.say(&token, &conversation, "lighthouse under the first key").await;
    first.stop().await.unwrap();
    let both = format!("{SECOND_FERNET_KEY},{TEST_FERNET_KEY}");
    let a = spawn_app_on_with(&db_url, &[("PARLEY_ENCRYPTION_KEYS", &both)]).await;
    let b = spawn_app_on_with(&db_url, &[("PARLEY_ENCRYPTION_KEYS", &both)]).await;
    a.say(&token, &conversation, "lighthouse under the second key").await;
    let plain_rows = sql(&db_url, "SELECT count(*) FROM messages WHERE content NOT LIKE 'gAAAAA%'").await;
    assert_eq!(plain_rows, Some(2), "the plain-text message and its reply");

    // Re-encrypt while B keeps taking messages.
    let writer = {
        let token = token.clone();
        let conversation = conversation.clone();
        async move {
            for n in 0..5 {
                b.say(&token, &conversation, &format!("lighthouse during the rewrite {n}")).await;
            }
            b
        }
    };
    let (output, b) = tokio::join!(reencrypt(&db_url, &both), writer);
    assert!(output.contains("messages:") && output.contains("done:"), "{output}");
    let again = reencrypt(&db_url, &both).await;
    assert!(again.contains("done: 0 rows rewritten"), "a second run finds nothing left: {again}");
    assert_eq!(sql(&db_url, "SELECT count(*) FROM messages WHERE content NOT LIKE 'gAAAAA%'").await, Some(0));
    assert_eq!(sql(&db_url, "SELECT count(*) FROM tasks WHERE title NOT LIKE 'gAAAAA%'").await, Some(0));

    // The old key removed: everything still reads, and the plain-text era is found by the keyed index.
    let last = spawn_app_on_with(&db_url, &[("PARLEY_ENCRYPTION_KEYS", SECOND_FERNET_KEY)]).await;
    let read = contents(&last, &token, &conversation).await;
    assert_eq!(read.len(), 16, "{read:?}");
    assert!(read.iter().all(|c| !c.starts_with("gAAAAA")), "every message opens with the second key alone: {read:?}");
    assert!(read.contains(&"lighthouse written in plain text".to_owned()));
    let found = search(&last, &token, "lighthouse").await;
    let users: Vec<&str> =
        found.iter().filter(|r| r["role"] == "user").map(|r| r["snippet"].as_str().unwrap()).collect();
    assert_eq!(users.len(), 8, "every message the user wrote is found: {users:?}");
    let tasks = json_of(last.get_authed("/api/v1/tasks", &token).await, 200).await;
    assert_eq!(tasks["tasks"][0]["description"], "plain description");
    drop((a, b));
}

/// The searches of `tests/api/search.rs` and more, on the same messages, with and without encryption.
#[tokio::test]
async fn search_results_are_identical_with_and_without_encryption() {
    let messages = [
        "Keyset pagination beats OFFSET on deep pages",
        "Crème brûlée with Émile at the café",
        "The lighthouse keeper's keys and keyrings",
        "keyset keyset KEYSET",
        "Rust and \"quoted phrases\" in search, bob@example.com",
        "Nothing in common with the others",
    ];
    let queries = [
        "keyset",
        "keys",
        "KEYSET pagination",
        "\"keyset pagination\"",
        "\"pagination keyset\"",
        "creme",
        "ÉMILE",
        "cafe",
        "light",
        "keeper s",
        "example",
        "rust search",
        "k",
        "nothing matches this",
        "OR NEAR( * -",
    ];
    let mut results = Vec::new();
    for overrides in [vec![("PARLEY_ENCRYPTION_KEYS", ""), ("PARLEY_SEARCH_KEY", "")], vec![]] {
        let app = spawn_app_with(&overrides).await;
        let token = app.new_user_token().await;
        for message in messages {
            let conversation = app.new_conversation(&token).await;
            app.say(&token, &conversation, message).await;
        }
        let mut found = Vec::new();
        for q in queries {
            let hits: Vec<(String, String, Value)> = search(&app, &token, q)
                .await
                .iter()
                .map(|r| {
                    (
                        r["role"].as_str().unwrap().to_owned(),
                        r["snippet"].as_str().unwrap().to_owned(),
                        r["highlights"].clone(),
                    )
                })
                .collect();
            found.push((q, hits));
        }
        results.push(found);
    }
    let (plain, sealed) = (&results[0], &results[1]);
    for ((q, without), (_, with)) in plain.iter().zip(sealed) {
        assert_eq!(with, without, "{q:?} finds the same with encryption as without");
    }
    let nonempty = plain.iter().filter(|(_, hits)| !hits.is_empty()).count();
    assert!(nonempty >= 11, "the cases find things: {plain:?}");
    let keys = &plain.iter().find(|(q, _)| *q == "keys").unwrap().1;
    assert!(keys.iter().any(|(_, s, _)| s.starts_with("Keyset")) && keys.iter().any(|(_, s, _)| s.contains("keeper")));
}

#[tokio::test]
async fn the_same_words_are_different_index_entries_for_each_user() {
    let app = spawn_app().await;
    for _ in 0..2 {
        let token = app.new_user_token().await;
        let conversation = app.new_conversation(&token).await;
        app.say(&token, &conversation, "identical words here").await;
    }
    let entries = sql_texts(&app.db_url, "SELECT index_words FROM messages WHERE role = 'user'").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].split(' ').count(), 3, "one entry per word: {entries:?}");
    assert_ne!(entries[0], entries[1], "another user's key gives other entries");
}

#[tokio::test]
async fn rows_without_an_index_entry_are_indexed_when_an_instance_starts() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let conversation = app.new_conversation(&token).await;
    app.say(&token, &conversation, "an unindexed albatross").await;
    for table in ["messages", "conversations"] {
        let clear = format!("UPDATE {table} SET index_words = NULL, index_prefixes = NULL, indexed_with = NULL");
        sql(&app.db_url, &clear).await;
    }
    assert!(search(&app, &token, "albatross").await.is_empty(), "not indexed, not found");

    let second = spawn_app_on_with(&app.db_url, &[]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if !search(&second, &token, "albatross").await.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the start-up indexing never reached the message");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM messages WHERE indexed_with IS NULL").await, Some(0));
    let titled = json_of(second.get_authed("/api/v1/conversations?q=albatross", &token).await, 200).await;
    assert_eq!(titled["conversations"].as_array().unwrap().len(), 1);
}
