use std::{
    str::FromStr,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use sqlx::{ConnectOptions, Connection, sqlite::SqliteConnectOptions};

use crate::helpers::{fresh_database_url, spawn_app, spawn_app_on, sql, sqlite_url};

#[tokio::test]
async fn health_reports_ok_when_the_database_answers() {
    let app = spawn_app().await;

    let response = app.get("/health").await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body, json!({ "status": "ok", "database": "ok" }));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;

    let first = app.get("/health").await;
    let second = app.get("/health").await;

    let id = |r: &reqwest::Response| r.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_owned());
    let (first, second) = (id(&first).expect("request id"), id(&second).expect("request id"));
    assert!(uuid::Uuid::parse_str(&first).is_ok(), "request id is a UUID: {first}");
    assert_ne!(first, second, "each request gets its own id");
}

/// SQLite only: PostgreSQL has no database-wide write lock; its outages are the fault test's business.
#[tokio::test]
async fn health_answers_503_within_a_second_while_the_sqlite_file_is_locked_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = sqlite_url(&dir.path().join("locked.db"));
    let app = spawn_app_on(&db_url).await.expect("starts");
    assert_eq!(app.get("/health").await.status(), 200);

    // Another process holds the write lock and does not let go, as a stuck migration or a hung batch job
    // would.
    let mut intruder = SqliteConnectOptions::from_str(&db_url).unwrap().connect().await.expect("second connection");
    sqlx::query("BEGIN IMMEDIATE").execute(&mut intruder).await.expect("take the write lock");

    let started = Instant::now();
    let response = app.get("/health").await;
    let waited = started.elapsed();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body, json!({ "status": "degraded", "database": "unavailable" }));
    assert!(waited < Duration::from_secs(1), "health took {waited:?}, must answer within 1 s");

    intruder.close().await.expect("release the lock");

    // The pool's connections wait out their busy timeout, then work again: poll, bounded in count.
    let mut recovered = false;
    for _ in 0..40 {
        if app.get("/health").await.status() == 200 {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "health must return to 200 without a restart once the database is free");
}

#[tokio::test]
async fn migrating_twice_is_harmless_and_data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = fresh_database_url(dir.path()).await;

    let first = spawn_app_on(&db_url).await.expect("first start");
    assert_eq!(first.get("/health").await.status(), 200);
    first.stop().await.expect("clean shutdown");
    sql(&db_url, "INSERT INTO app_meta (key, value) VALUES ('written_before_restart', 'yes')").await;

    let second = spawn_app_on(&db_url).await.expect("second start re-runs migrations harmlessly");
    assert_eq!(second.get("/health").await.status(), 200);
    second.stop().await.expect("clean shutdown");

    let db = crate::helpers::connect_database(&db_url).await;
    db.migrate().await.expect("a third migration run is a no-op");
    db.close().await;
    let kept =
        sql(&db_url, "SELECT count(*) FROM app_meta WHERE key = 'written_before_restart' AND value = 'yes'").await;
    assert_eq!(kept, Some(1), "data written before the restarts is still there");
}

#[tokio::test]
async fn two_servers_starting_at_once_on_one_empty_database_both_become_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = fresh_database_url(dir.path()).await;

    let (a, b) = tokio::join!(spawn_app_on(&db_url), spawn_app_on(&db_url));
    let (a, b) = (a.expect("first instance starts"), b.expect("second instance starts"));

    assert_eq!(a.get("/health").await.status(), 200);
    assert_eq!(b.get("/health").await.status(), 200);
    // Both ran the migrator; each migration is recorded exactly once.
    let applied = sql(&db_url, "SELECT count(*) FROM _sqlx_migrations").await.unwrap();
    let distinct = sql(&db_url, "SELECT count(DISTINCT version) FROM _sqlx_migrations").await.unwrap();
    assert_eq!(applied, distinct);
    assert!(applied >= 3);
}

#[tokio::test]
async fn the_sqlite_file_and_its_folder_are_created_when_missing() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("nested").join("folder").join("parley.db");

    let app = spawn_app_on(&sqlite_url(&db_path)).await.expect("starts on a path that does not exist yet");

    assert_eq!(app.get("/health").await.status(), 200);
    assert!(db_path.exists());
}

#[tokio::test]
async fn graceful_shutdown_returns_cleanly() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health").await.status(), 200);
    app.stop().await.expect("shutdown completes without error");
}
