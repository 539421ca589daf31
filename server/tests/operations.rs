//! Operating Parley on PostgreSQL, against the real binary and PostgreSQL clusters of these tests' own (so
//! stopping one disturbs no other test):
//! - an outage under load: every answer during it is a well-formed 503 in time, nothing panics or hangs,
//!   the instance recovers by itself, and every write answered 2xx is kept;
//! - moving an existing SQLite deployment to PostgreSQL with `parley copy-from-sqlite`.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::{
    collections::HashSet,
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use app::server_fns::accounts::Signup;
use leptos::server_fn::ServerFn;
use reqwest::header;
use serde_json::{Value, json};

use helpers::{PASSWORD, ServerProcess, free_port, fresh_postgres_database, sqlite_url, unique_email};

/// A throwaway cluster, removed when dropped.
struct Cluster {
    dir: PathBuf,
}

impl Cluster {
    fn script(args: &[&str]) -> String {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg-test-cluster.sh");
        let output = Command::new(script).args(args).output().expect("run pg-test-cluster.sh");
        assert!(output.status.success(), "pg-test-cluster.sh {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Starts a new cluster and returns it with its admin URL.
    fn start() -> (Cluster, String) {
        // Not under a private temporary folder: as root the cluster belongs to the `postgres` user, who
        // must be able to reach it.
        let dir = std::env::temp_dir().join(format!("parley-fault-{}", uuid::Uuid::new_v4().simple()));
        let url = Self::script(&["start", dir.to_str().unwrap(), &free_port().to_string()]);
        (Cluster { dir }, url)
    }

    fn stop(&self) {
        Self::script(&["stop", self.dir.to_str().unwrap()]);
    }

    fn restart(&self) {
        Self::script(&["restart", self.dir.to_str().unwrap()]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg-test-cluster.sh"))
            .args(["remove", self.dir.to_str().unwrap()])
            .output();
    }
}

/// What one request during the run got.
#[derive(Debug)]
struct Outcome {
    what: &'static str,
    status: Option<u16>,
    took: Duration,
    body: String,
    content_type: String,
}

#[tokio::test]
async fn a_postgres_outage_under_load_answers_503_in_time_and_recovers_without_a_restart() {
    let (cluster, admin_url) = Cluster::start();
    let db_url = fresh_postgres_database(&admin_url).await;
    let logs = tempfile::tempdir().unwrap();
    let acquire_timeout = Duration::from_millis(1_000);
    let server = ServerProcess::start(
        &db_url,
        logs.path(),
        &[("PARLEY_DB_ACQUIRE_TIMEOUT_MS", "1000"), ("PARLEY_DB_STATEMENT_TIMEOUT_MS", "2000")],
    )
    .await;
    let base = server.base.clone();
    // No client-side retries or pooling tricks: a request either gets an answer or the client waits out
    // its own timeout, which counts as a hang.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let (token, conversation) = helpers::user_with_conversation(&client, &base).await;
    // A browser session, signed up by form, for the page during the outage.
    let form = client
        .post(format!("{base}{}", Signup::PATH))
        .header(header::ACCEPT, "text/html")
        .header(header::ORIGIN, base.clone())
        .header(header::REFERER, format!("{base}/signup"))
        .form(&[("email", unique_email().as_str()), ("password", PASSWORD), ("password_confirm", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = form
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("parley_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();

    // About 20 s of reads and writes; PostgreSQL stops at 5 s and comes back at 10 s.
    let started = Instant::now();
    let mut outcomes: Vec<(Duration, Outcome)> = Vec::new();
    let mut confirmed_writes = Vec::new();
    let (mut stopped, mut restarted) = (false, false);
    for i in 0..2_000 {
        let at = started.elapsed();
        if at >= Duration::from_secs(20) {
            break;
        }
        if !stopped && at >= Duration::from_secs(5) {
            cluster.stop();
            stopped = true;
        }
        if stopped && !restarted && at >= Duration::from_secs(10) {
            cluster.restart();
            restarted = true;
        }
        let content = format!("during the run {i}");
        let (what, request) = match i % 4 {
            0 => (
                "write",
                client
                    .post(format!("{base}/api/v1/conversations/{conversation}/messages"))
                    .bearer_auth(&token)
                    .json(&json!({ "content": content })),
            ),
            1 => (
                "read",
                client.get(format!("{base}/api/v1/conversations/{conversation}/messages?limit=5")).bearer_auth(&token),
            ),
            2 => ("health", client.get(format!("{base}/health"))),
            _ => (
                "page",
                client
                    .get(format!("{base}/chat"))
                    .header(header::ACCEPT, "text/html")
                    .header(header::COOKIE, format!("parley_session={cookie}")),
            ),
        };
        let sent = Instant::now();
        let response = request.send().await;
        let took = sent.elapsed();
        let outcome = match response {
            Ok(response) => {
                let status = response.status().as_u16();
                let content_type =
                    response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let body = response.text().await.unwrap_or_default();
                if what == "write" && status == 201 {
                    confirmed_writes.push(content);
                }
                Outcome { what, status: Some(status), took, body, content_type }
            }
            Err(_) => Outcome { what, status: None, took, body: String::new(), content_type: String::new() },
        };
        outcomes.push((at, outcome));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stopped && restarted, "the run covered the outage");

    let mut unavailable = 0;
    for (at, outcome) in &outcomes {
        let status = outcome.status.unwrap_or_else(|| panic!("no answer at {at:?}: {outcome:?}"));
        // The acquire timeout, plus time for the request itself on a loaded 2-core machine.
        assert!(outcome.took <= acquire_timeout + Duration::from_secs(2), "too slow at {at:?}: {outcome:?}");
        match status {
            200 | 201 => {}
            503 => {
                unavailable += 1;
                match outcome.what {
                    "health" => {
                        let body: Value = serde_json::from_str(&outcome.body).unwrap();
                        assert_eq!(body["status"], "degraded");
                    }
                    "page" => {
                        assert!(outcome.content_type.starts_with("text/html"), "{outcome:?}");
                        assert!(outcome.body.contains("temporarily unavailable"), "{outcome:?}");
                    }
                    _ => {
                        let body: Value = serde_json::from_str(&outcome.body)
                            .unwrap_or_else(|_| panic!("503 in the JSON error shape at {at:?}: {outcome:?}"));
                        assert_eq!(body["error"]["code"], "service_unavailable", "{outcome:?}");
                    }
                }
            }
            other => panic!("status {other} at {at:?}: {outcome:?}"),
        }
    }
    assert!(unavailable >= 4, "the outage was seen ({unavailable} answers were 503)");
    for what in ["write", "read", "health", "page"] {
        assert!(
            outcomes.iter().any(|(_, o)| o.what == what && o.status == Some(503)),
            "{what} answered 503 at least once during the outage"
        );
    }
    // Recovered by itself: the last few seconds are all successes.
    let tail: Vec<_> = outcomes.iter().filter(|(at, _)| *at >= Duration::from_secs(16)).collect();
    assert!(!tail.is_empty());
    for (at, outcome) in tail {
        assert!(matches!(outcome.status, Some(200 | 201)), "not recovered at {at:?}: {outcome:?}");
    }

    // Every write answered 201 is there.
    let stored = helpers::all_messages(&client, &base, &token, &conversation).await;
    let stored: HashSet<&str> = stored.iter().filter_map(|m| m["content"].as_str()).collect();
    for content in &confirmed_writes {
        assert!(stored.contains(content.as_str()), "a write answered 201 is missing: {content}");
    }
    let logs = server.logs();
    assert!(!logs.contains("panicked"), "no panic in the logs");
}

async fn json(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn copy_from_sqlite_moves_a_deployment_to_postgres_with_nothing_lost() {
    let (_cluster, admin_url) = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_url(&dir.path().join("old.db"));
    let client = reqwest::Client::new();

    // A SQLite deployment with an account, an API login and a conversation.
    let old = ServerProcess::start(&sqlite, dir.path(), &[]).await;
    let email = unique_email();
    let (status, tokens) = json(
        client.post(format!("{}/api/v1/auth/signup", old.base)).json(&json!({ "email": email, "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, 201);
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let (_, conversation) =
        json(client.post(format!("{}/api/v1/conversations", old.base)).bearer_auth(&token).json(&json!({}))).await;
    let id = conversation["id"].as_str().unwrap().to_owned();
    for text in ["first question", "second question", "third question"] {
        let (status, _) = json(
            client
                .post(format!("{}/api/v1/conversations/{id}/messages", old.base))
                .bearer_auth(&token)
                .json(&json!({ "content": text })),
        )
        .await;
        assert_eq!(status, 201);
    }
    let history_url = |base: &str| format!("{base}/api/v1/conversations/{id}/messages?limit=100");
    let (_, before) = json(client.get(history_url(&old.base)).bearer_auth(&token)).await;
    drop(old);

    let postgres = fresh_postgres_database(&admin_url).await;
    let copy = || {
        Command::new(env!("CARGO_BIN_EXE_parley"))
            .args(["copy-from-sqlite", &sqlite])
            .env_clear()
            .env("DATABASE_URL", &postgres)
            .output()
            .expect("the binary runs")
    };
    let first = copy();
    let report = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{report}{}", String::from_utf8_lossy(&first.stderr));
    assert!(report.contains("users: 1 rows copied"), "{report}");
    assert!(report.contains("messages: 6 rows copied"), "{report}");
    let missing = dir.path().join("typo.db");
    let mistyped = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["copy-from-sqlite", &sqlite_url(&missing)])
        .env_clear()
        .env("DATABASE_URL", &postgres)
        .output()
        .expect("the binary runs");
    assert!(
        !mistyped.status.success() && !missing.exists(),
        "a mistyped source path copies nothing and creates nothing"
    );
    let again = copy();
    assert!(!again.status.success(), "a second copy into a database that has data is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty"), "{}", String::from_utf8_lossy(&again.stderr));

    // The same people, logins and history on PostgreSQL: the old access token and refresh token still work.
    let new = ServerProcess::start(&postgres, dir.path(), &[]).await;
    let (status, after) = json(client.get(history_url(&new.base)).bearer_auth(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(after, before, "the history reads the same, in the same order");
    // Sealed text and its blind index moved as stored: the same keys read it and search it there.
    let (status, found) = json(client.get(format!("{}/api/v1/search?q=secon", new.base)).bearer_auth(&token)).await;
    assert_eq!(status, 200);
    assert!(found["results"].as_array().unwrap().iter().any(|r| r["snippet"] == "second question"), "{found}");
    let (status, _) = json(
        client
            .post(format!("{}/api/v1/auth/refresh", new.base))
            .json(&json!({ "refresh_token": tokens["refresh_token"] })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = json(
        client.post(format!("{}/api/v1/auth/login", new.base)).json(&json!({ "email": email, "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, 200);
}
