use std::{str::FromStr, time::{Duration, Instant}};

use serde_json::{json, Value};
use sqlx::{sqlite::SqliteConnectOptions, ConnectOptions, Connection};

use crate::helpers::{spawn_app, spawn_app_on};

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

#[tokio::test]
async fn health_answers_503_within_a_second_while_the_database_is_locked_then_recovers() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health").await.status(), 200);

    // Another process holds the write lock and does not let go, as a stuck migration or a hung batch job
    // would.
    let mut intruder = SqliteConnectOptions::from_str(&format!("sqlite://{}", app.db_path.display()))
        .unwrap()
        .connect()
        .await
        .expect("second connection");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut intruder)
        .await
        .expect("take the write lock");

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
    let db_path = dir.path().join("parley.db");

    let first = spawn_app_on(&db_path).await.expect("first start");
    assert_eq!(first.get("/health").await.status(), 200);
    first.stop().await.expect("clean shutdown");
    let url = format!("sqlite://{}", db_path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO app_meta (key, value) VALUES ('written_before_restart', 'yes')")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let second = spawn_app_on(&db_path).await.expect("second start re-runs migrations harmlessly");
    assert_eq!(second.get("/health").await.status(), 200);
    second.stop().await.expect("clean shutdown");

    let db = parley::db::Database::connect(&url).await.unwrap();
    db.migrate().await.expect("a third migration run is a no-op");
    db.close().await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let kept: (String,) = sqlx::query_as("SELECT value FROM app_meta WHERE key = 'written_before_restart'")
        .fetch_one(&mut conn)
        .await
        .expect("data written before the restarts is still there");
    assert_eq!(kept.0, "yes");
}

#[tokio::test]
async fn two_servers_starting_at_once_on_one_fresh_file_both_become_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("shared.db");
    assert!(!db_path.exists());

    let (a, b) = tokio::join!(spawn_app_on(&db_path), spawn_app_on(&db_path));
    let (a, b) = (a.expect("first instance starts"), b.expect("second instance starts"));

    assert_eq!(a.get("/health").await.status(), 200);
    assert_eq!(b.get("/health").await.status(), 200);
}

#[tokio::test]
async fn the_database_file_and_its_folder_are_created_when_missing() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("nested").join("folder").join("parley.db");

    let app = spawn_app_on(&db_path).await.expect("starts on a path that does not exist yet");

    assert_eq!(app.get("/health").await.status(), 200);
    assert!(db_path.exists());
}

#[tokio::test]
async fn graceful_shutdown_returns_cleanly() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health").await.status(), 200);
    app.stop().await.expect("shutdown completes without error");
}
