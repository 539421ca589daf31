//! Scaling out: several instances on one database, concurrency on the database's own terms, and what
//! survives a crash. Every test here runs on the backend under test (SQLite, then PostgreSQL).

use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    PASSWORD, ServerProcess, all_messages, error_code, fresh_database_url, spawn_app, spawn_app_on, spawn_app_on_with,
    sql, sqlite_url, unique_email, user_with_conversation,
};

#[tokio::test]
async fn a_refresh_token_rotated_on_one_instance_and_reused_on_another_ends_the_login() {
    let first = spawn_app().await;
    let second = spawn_app_on(&first.db_url).await.expect("a second instance on the same database");
    let tokens = first.signup(&unique_email(), PASSWORD).await;
    let stolen = tokens["refresh_token"].as_str().unwrap();

    let rotated = first.refresh(stolen).await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();

    assert_eq!(error_code(second.refresh(stolen).await, 401).await, "unauthorized");
    // Reuse ends the whole login, on every instance: the rotated pair is dead too.
    assert_eq!(second.refresh(rotated["refresh_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(first.get_authed("/api/v1/me", rotated["access_token"].as_str().unwrap()).await.status(), 401);
}

#[tokio::test]
async fn one_refresh_token_raced_on_two_instances_is_rotated_exactly_once() {
    let first = spawn_app().await;
    let second = spawn_app_on(&first.db_url).await.expect("a second instance on the same database");
    let tokens = first.signup(&unique_email(), PASSWORD).await;
    let token = tokens["refresh_token"].as_str().unwrap().to_owned();

    let attempts = (0..10).map(|i| {
        let app = if i % 2 == 0 { &first } else { &second };
        app.refresh(&token)
    });
    let statuses: Vec<u16> =
        futures_util::future::join_all(attempts).await.iter().map(|r| r.status().as_u16()).collect();

    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "exactly one winner: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 401), "{statuses:?}");
}

#[tokio::test]
async fn one_email_signed_up_at_once_on_two_instances_gets_one_account_and_409s() {
    let first = spawn_app().await;
    let second = spawn_app_on(&first.db_url).await.expect("a second instance on the same database");
    let email = unique_email();
    let body = json!({ "email": email, "password": PASSWORD });

    let attempts = (0..6).map(|i| {
        let app = if i % 2 == 0 { &first } else { &second };
        app.post_json("/api/v1/auth/signup", &body)
    });
    let responses = futures_util::future::join_all(attempts).await;

    let mut created = 0;
    for response in responses {
        if response.status() == 201 {
            created += 1;
        } else {
            assert_eq!(error_code(response, 409).await, "email_taken");
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test]
async fn housekeeping_run_by_every_instance_at_once_is_safe() {
    let app = spawn_app().await;
    sql(&app.db_url, "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ('expired', NULL, '{}', 1)").await;
    sql(&app.db_url, "INSERT INTO rate_limit_hits (bucket, subject, window_start, hits) VALUES ('auth_ip', 'x', 1, 3)")
        .await;
    let live = app.signup(&unique_email(), PASSWORD).await;

    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(crate::helpers::connect_database(&app.db_url).await);
    }
    let runs = futures_util::future::join_all(instances.iter().map(|db| db.delete_expired_rows())).await;

    assert!(runs.iter().all(Result::is_ok), "{runs:?}");
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM sessions WHERE id = 'expired'").await, Some(0));
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM rate_limit_hits WHERE window_start = 1").await, Some(0));
    assert_eq!(app.get_authed("/api/v1/me", live["access_token"].as_str().unwrap()).await.status(), 200);
}

/// Posts `content` (JSON, not streamed) and returns the status, or `None` when no answer came.
async fn post_message(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    conversation: &str,
    content: &str,
) -> Option<u16> {
    let response = client
        .post(format!("{base}/api/v1/conversations/{conversation}/messages"))
        .bearer_auth(token)
        .json(&json!({ "content": content }))
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}

#[tokio::test]
async fn every_message_answered_201_survives_the_server_being_killed_mid_burst() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = fresh_database_url(dir.path()).await;
    let mut server = ServerProcess::start(&db_url, dir.path(), &[]).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let (token, conversation) = user_with_conversation(&client, &server.base).await;

    // Eight writers post as fast as they can; each remembers what was answered 201.
    let answered = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let (client, base, token, conversation) =
                (client.clone(), server.base.clone(), token.clone(), conversation.clone());
            let answered = answered.clone();
            tokio::spawn(async move {
                let mut confirmed = Vec::new();
                for i in 0..2_000 {
                    let content = format!("burst {writer}-{i}");
                    match post_message(&client, &base, &token, &conversation, &content).await {
                        Some(201) => {
                            confirmed.push(content);
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                        Some(status) => panic!("unexpected status {status} before the kill"),
                        None => break, // the server is gone
                    }
                }
                confirmed
            })
        })
        .collect();

    let started = Instant::now();
    while answered.load(Ordering::SeqCst) < 150 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let mut confirmed = Vec::new();
    for writer in writers {
        confirmed.extend(writer.await.expect("writer finishes once the server is gone"));
    }
    assert!(confirmed.len() >= 150, "the burst was under way when the server died ({} confirmed)", confirmed.len());

    let server = ServerProcess::start(&db_url, dir.path(), &[]).await;
    let stored = all_messages(&client, &server.base, &token, &conversation).await;
    let stored: HashSet<&str> = stored.iter().filter_map(|m| m["content"].as_str()).collect();
    let lost: Vec<&String> = confirmed.iter().filter(|c| !stored.contains(c.as_str())).collect();
    assert!(
        lost.is_empty(),
        "{} messages answered 201 were lost: {:?}",
        lost.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
}

/// SQLite only: many writers at once must queue for the file's write lock, never fail with
/// "database is locked".
#[tokio::test]
async fn sqlite_takes_32_concurrent_writers_for_10_seconds_without_a_locking_error_or_a_lost_write() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = sqlite_url(&dir.path().join("writers.db"));
    let app = spawn_app_on_with(&db_url, &[("PARLEY_DB_MAX_CONNECTIONS", "10")]).await;
    let token = app.new_user_token().await;
    let mut conversations = Vec::new();
    for _ in 0..32 {
        conversations.push(app.new_conversation(&token).await);
    }
    let app = Arc::new(app);

    let deadline = Instant::now() + Duration::from_secs(10);
    let writers: Vec<_> = conversations
        .iter()
        .map(|conversation| {
            let (app, token, conversation) = (app.clone(), token.clone(), conversation.clone());
            tokio::spawn(async move {
                let (mut created, mut failures) = (0usize, Vec::new());
                for i in 0..5_000 {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let path = format!("/api/v1/conversations/{conversation}/messages");
                    let response = app
                        .send_authed(Method::POST, &path, &token, Some(&json!({ "content": format!("w {i}") })))
                        .await;
                    match response.status().as_u16() {
                        201 => created += 1,
                        status => failures.push(format!("{status}: {}", response.text().await.unwrap_or_default())),
                    }
                }
                (created, failures)
            })
        })
        .collect();

    let (mut created, mut failures) = (0, Vec::new());
    for writer in writers {
        let (c, f) = writer.await.unwrap();
        created += c;
        failures.extend(f);
    }
    assert!(failures.is_empty(), "{} writes failed, e.g. {:?}", failures.len(), failures.first());
    assert!(created >= 32, "every writer got writes through ({created})");
    // Each 201 stored the message and its reply.
    assert_eq!(sql(&db_url, "SELECT count(*) FROM messages").await, Some(2 * created as i64));
}
