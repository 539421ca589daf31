//! Issue 23, insights and durable jobs: analyses of a conversation's messages (queued every N messages and
//! on request; read, update, delete; 404 for others), computed by the job queue, announced to a webhook
//! signed as Standard Webhooks says (checked with the `standardwebhooks` library), retried, given up visibly,
//! surviving `kill -9`, run once with two instances.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ServerProcess, fresh_database_url, json_of, python, spawn_app_on_with, spawn_app_with, sql, sql_texts,
};

/// A Standard Webhooks secret (`whsec_` and base64 of 24 bytes): a test value.
const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Polls `path` until `done` holds for its JSON, for at most 20 seconds.
async fn wait_for(app_base: &str, token: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body: Value =
            client.get(format!("{app_base}{path}")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never got there: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn all_done(body: &Value) -> bool {
    body["analyses"].as_array().is_some_and(|a| !a.is_empty() && a.iter().all(|a| a["state"] == "done"))
}

#[tokio::test]
async fn analyses_queue_by_themselves_and_on_request_and_are_read_changed_and_deleted() {
    let app = spawn_app_with(&[("PARLEY_ANALYSIS_EVERY", "4")]).await;
    let token = app.new_user_token().await;
    let conversation = app.new_conversation(&token).await;
    let analyses = format!("/api/v1/conversations/{conversation}/analyses");
    app.say(&token, &conversation, "I feel sad and alone today").await;
    assert_eq!(json_of(app.get_authed(&analyses, &token).await, 200).await["analyses"], json!([]), "2 of 4 messages");
    app.say(&token, &conversation, "Still sad").await;

    // The fourth message queued one by itself; the demo scores it: 50, minus 15 for each worried word.
    let body = wait_for(&app.url(""), &token, &analyses, all_done).await;
    let first = &body["analyses"][0];
    assert_eq!(first["chat_score"], 5, "{first}");
    assert_eq!(first["message_range"]["count"], 4);
    assert!(first["summary"].as_str().unwrap().contains("troubled"), "{first}");
    for key in ["id", "conversation_id", "state", "created_at", "updated_at"] {
        assert!(!first[key].is_null(), "{key} in {first}");
    }

    // On request: only the messages since the last analysis, and none at all is a clear 400.
    let nothing = app.send_authed(Method::POST, &analyses, &token, Some(&json!({}))).await;
    assert_eq!(json_of(nothing, 400).await["error"]["code"], "validation_failed");
    app.say(&token, &conversation, "Thanks, that was helpful and I feel better").await;
    let queued = json_of(app.send_authed(Method::POST, &analyses, &token, Some(&json!({}))).await, 202).await;
    assert_eq!(queued["state"], "queued");
    assert_eq!(queued["message_range"]["count"], 2);
    let body = wait_for(&app.url(""), &token, &analyses, |b| {
        b["analyses"].as_array().is_some_and(|a| a.len() == 2) && all_done(b)
    })
    .await;
    assert_eq!(body["analyses"][1]["id"], queued["id"], "oldest first");
    assert_eq!(body["analyses"][1]["chat_score"], 80);

    let one = format!("/api/v1/analyses/{}", queued["id"].as_str().unwrap());
    let changed = app.send_authed(Method::PATCH, &one, &token, Some(&json!({ "summary": "Better by the end." }))).await;
    assert_eq!(json_of(changed, 200).await["summary"], "Better by the end.");
    assert_eq!(json_of(app.get_authed(&one, &token).await, 200).await["summary"], "Better by the end.");
    let blank = app.send_authed(Method::PATCH, &one, &token, Some(&json!({ "summary": "  " }))).await;
    assert_eq!(json_of(blank, 400).await["error"]["fields"]["summary"].as_array().unwrap().len(), 1);

    // Another user's analyses and conversation are 404 on every route, whatever the body.
    let stranger = app.new_user_token().await;
    assert_eq!(app.get_authed(&one, &stranger).await.status(), 404);
    assert_eq!(app.get_authed(&analyses, &stranger).await.status(), 404);
    assert_eq!(app.send_authed(Method::POST, &analyses, &stranger, Some(&json!({}))).await.status(), 404);
    assert_eq!(app.send_authed(Method::PATCH, &one, &stranger, Some(&json!({ "summary": "x" }))).await.status(), 404);
    assert_eq!(app.send_authed(Method::PATCH, &one, &stranger, Some(&json!("not an object"))).await.status(), 404);
    assert_eq!(app.send_authed(Method::DELETE, &one, &stranger, None).await.status(), 404);
    assert_eq!(app.get_authed("/api/v1/analyses/not-a-uuid", &token).await.status(), 404);

    assert_eq!(app.send_authed(Method::DELETE, &one, &token, None).await.status(), 204);
    assert_eq!(app.get_authed(&one, &token).await.status(), 404);
    // The summary is sealed at rest like messages.
    let stored = sql_texts(&app.db_url, "SELECT summary FROM analyses").await;
    assert!(stored.iter().all(|s| s.starts_with("gAAAAA")), "{stored:?}");
}

/// What a webhook receiver got: each request's headers and body.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(HeaderMap, String)>>>);

/// A receiver on a loopback port that answers `500` to the first `fail_first` requests, then `204`.
async fn receiver(fail_first: usize) -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route(
            "/hook",
            post(|State(seen): State<(Received, usize)>, headers: HeaderMap, body: String| async move {
                let mut all = seen.0.0.lock().unwrap();
                all.push((headers, body));
                if all.len() <= seen.1 { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::NO_CONTENT }
            }),
        )
        .with_state((received.clone(), fail_first));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_carry_completed_and_flagged() {
    let (url, received) = receiver(1).await;
    let app = spawn_app_with(&[
        ("PARLEY_ANALYSIS_EVERY", "0"),
        ("PARLEY_ANALYSIS_FLAG_BELOW", "40"),
        ("PARLEY_WEBHOOK_URL", &url),
        ("PARLEY_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("PARLEY_JOB_RETRY_BASE_MS", "10"),
    ])
    .await;
    let token = app.new_user_token().await;
    let conversation = app.new_conversation(&token).await;
    app.say(&token, &conversation, "Everything is awful and I am afraid").await;
    let analyses = format!("/api/v1/conversations/{conversation}/analyses");
    let queued = json_of(app.send_authed(Method::POST, &analyses, &token, Some(&json!({}))).await, 202).await;

    let deadline = Instant::now() + Duration::from_secs(20);
    let events = loop {
        let events: Vec<(HeaderMap, String)> = received.0.lock().unwrap().clone();
        // The first delivery failed (500) and was retried: three requests for two events.
        if events.len() >= 3 {
            break events;
        }
        assert!(Instant::now() < deadline, "the webhooks never arrived: {} so far", events.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let verify = "import sys, json; from standardwebhooks.webhooks import Webhook; \
                  headers = json.loads(sys.argv[3]); \
                  sys.stdout.write(json.dumps(Webhook(sys.argv[1]).verify(sys.argv[2], headers)))";
    let mut types = Vec::new();
    for (headers, body) in &events {
        let headers: Value = headers
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("webhook-"))
            .map(|(name, value)| (name.to_string(), Value::from(value.to_str().unwrap())))
            .collect::<serde_json::Map<_, _>>()
            .into();
        let verified: Value =
            serde_json::from_str(&python(verify, &[WEBHOOK_SECRET, body, &headers.to_string()])).unwrap();
        assert_eq!(verified["data"]["id"], queued["id"], "{verified}");
        types.push(verified["type"].as_str().unwrap().to_owned());
        let forged =
            std::process::Command::new(std::env::var("PARLEY_TEST_PYTHON").unwrap_or_else(|_| "python3".into()))
                .args(["-c", verify, WEBHOOK_SECRET, &format!("{body} "), &headers.to_string()])
                .output()
                .unwrap();
        assert!(!forged.status.success(), "a changed body fails verification");
    }
    let first_id = events[0].0["webhook-id"].clone();
    let again = events.iter().filter(|(headers, _)| headers["webhook-id"] == first_id).count();
    assert_eq!(again, 2, "the refused delivery was retried, with the event's id kept");
    types.sort();
    types.dedup();
    assert_eq!(types, ["analysis.completed", "analysis.flagged"], "a score below 40 is flagged too");
}

#[tokio::test]
async fn a_job_that_keeps_failing_stops_after_its_retries_and_stays_visible() {
    // A webhook nobody answers: every delivery fails.
    let closed = format!("http://127.0.0.1:{}/hook", crate::helpers::free_port());
    let app = spawn_app_with(&[
        ("PARLEY_ANALYSIS_EVERY", "0"),
        ("PARLEY_WEBHOOK_URL", &closed),
        ("PARLEY_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("PARLEY_JOB_RETRY_BASE_MS", "5"),
    ])
    .await;
    let token = app.new_user_token().await;
    let conversation = app.new_conversation(&token).await;
    app.say(&token, &conversation, "hello").await;
    let analyses = format!("/api/v1/conversations/{conversation}/analyses");
    json_of(app.send_authed(Method::POST, &analyses, &token, Some(&json!({}))).await, 202).await;
    wait_for(&app.url(""), &token, &analyses, all_done).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    while sql(&app.db_url, "SELECT count(*) FROM jobs WHERE state = 'failed'").await != Some(1) {
        assert!(Instant::now() < deadline, "the webhook job never gave up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        sql(&app.db_url, "SELECT CAST(max(attempts) AS BIGINT) FROM jobs WHERE state = 'failed'").await,
        Some(8)
    );
    let errors = sql_texts(&app.db_url, "SELECT last_error FROM jobs WHERE state = 'failed'").await;
    assert!(errors[0].contains("could not be reached"), "{errors:?}");
    assert_eq!(
        sql(&app.db_url, "SELECT count(*) FROM jobs WHERE state <> 'failed'").await,
        Some(0),
        "nothing else left"
    );
}

#[tokio::test]
async fn a_queued_analysis_survives_kill_9_and_two_instances_run_each_job_once() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = fresh_database_url(dir.path()).await;
    let (url, received) = receiver(0).await;
    let hooks = [
        ("PARLEY_ANALYSIS_EVERY", "0"),
        ("PARLEY_WEBHOOK_URL", url.as_str()),
        ("PARLEY_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("PARLEY_ANALYSIS_FLAG_BELOW", "0"),
    ];
    // An instance that only queues (no worker), killed with the analysis queued.
    let queuer_env = [&hooks[..], &[("PARLEY_RUN_JOBS", "off")]].concat();
    let mut queuer = ServerProcess::start(&db_url, dir.path(), &queuer_env).await;
    let client = reqwest::Client::new();
    let (token, conversation) = crate::helpers::user_with_conversation(&client, &queuer.base).await;
    let mut conversations = vec![conversation];
    for _ in 0..5 {
        let created: Value = client
            .post(format!("{}/api/v1/conversations", queuer.base))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        conversations.push(created["id"].as_str().unwrap().to_owned());
    }
    for id in &conversations {
        let sent = client
            .post(format!("{}/api/v1/conversations/{id}/messages", queuer.base))
            .bearer_auth(&token)
            .json(&json!({ "content": "a message to analyse" }))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 201);
        let queued = client
            .post(format!("{}/api/v1/conversations/{id}/analyses", queuer.base))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(queued.status(), 202);
    }
    queuer.kill();
    assert_eq!(sql(&db_url, "SELECT count(*) FROM analyses WHERE state = 'queued'").await, Some(6));

    // Two instances with workers on the same database: every analysis completes, each exactly once.
    let a = spawn_app_on_with(&db_url, &hooks).await;
    let b = spawn_app_on_with(&db_url, &hooks).await;
    for id in &conversations {
        wait_for(&a.url(""), &token, &format!("/api/v1/conversations/{id}/analyses"), all_done).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while sql(&db_url, "SELECT count(*) FROM jobs").await != Some(0) {
        assert!(Instant::now() < deadline, "jobs left over");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let events: Vec<Value> =
        received.0.lock().unwrap().iter().map(|(_, body)| serde_json::from_str(body).unwrap()).collect();
    let mut ids: Vec<String> = events.iter().map(|e| e["data"]["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    let total = ids.len();
    ids.dedup();
    assert_eq!((total, ids.len()), (6, 6), "one analysis.completed per analysis, none twice: {events:?}");
    drop((a, b));
}
