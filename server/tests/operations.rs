//! Operating Parley on PostgreSQL, against the real binary and PostgreSQL clusters of these tests' own (so
//! stopping one disturbs no other test):
//! - an outage under load: every answer during it is a well-formed 503 in time, nothing panics or hangs,
//!   the instance recovers by itself, and every write answered 2xx is kept;
//! - a database away at start (down, or refusing the credentials): the instance is up and answers 503,
//!   then migrates and serves once the database is there, without a restart;
//! - moving an existing SQLite deployment to PostgreSQL with `parley copy-from-sqlite`, every column of
//!   every table;
//! - two instances through PgBouncer in transaction mode, as hosted PostgreSQL hands it out.

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
    let cookie = helpers::session_cookie_value(&form).expect("a session cookie");

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

impl Cluster {
    /// From now on `role` must give its password over TCP (every other role is still trusted).
    async fn require_password_for(&self, role: &str, admin_url: &str) {
        let hba = self.dir.join("pg_hba.conf");
        let rules = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
        std::fs::write(&hba, format!("host all {role} 127.0.0.1/32 scram-sha-256\n{rules}"))
            .expect("write pg_hba.conf");
        helpers::sql(admin_url, "SELECT 1 FROM pg_reload_conf()").await;
    }
}

/// Waits (bounded: 30 s) until the instance listens, then checks that it answers as one whose database is
/// away: `/health` 503, the API 503 `service_unavailable` in its error shape, a page the short 503 page.
async fn assert_up_and_unavailable(server: &mut ServerProcess, client: &reqwest::Client) {
    let base = server.base.clone();
    let started = Instant::now();
    let health = loop {
        if let Ok(response) = client.get(format!("{base}/health")).send().await {
            break response;
        }
        assert!(server.is_running(), "the instance exited: {}", server.logs());
        assert!(started.elapsed() < Duration::from_secs(30), "the instance did not listen within 30 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(health.status(), 503);
    assert_eq!(health.json::<Value>().await.unwrap()["database"], "unavailable");

    let (status, body) =
        json(client.post(format!("{base}/api/v1/auth/login")).json(&json!({ "email": "a@b.c", "password": "x" })))
            .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "service_unavailable", "{body}");

    let page = client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("temporarily unavailable"));
}

/// Waits (bounded: 30 s) until the instance's log holds `needle` at least `times` times.
async fn wait_for_log(server: &mut ServerProcess, needle: &str, times: usize) -> String {
    let started = Instant::now();
    loop {
        let logs = server.logs();
        if logs.matches(needle).count() >= times {
            return logs;
        }
        assert!(server.is_running(), "the instance exited: {logs}");
        assert!(started.elapsed() < Duration::from_secs(30), "no {times}× {needle:?} in the log within 30 s: {logs}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The instance serves after it recovered: a signup and a conversation work, and the schema is there.
async fn assert_serving_and_migrated(server: &mut ServerProcess, client: &reqwest::Client, db_url: &str) {
    server.wait_healthy().await;
    helpers::user_with_conversation(client, &server.base).await;
    let applied = helpers::sql(db_url, "SELECT count(*) FROM _sqlx_migrations WHERE success").await.unwrap();
    assert!(applied > 0, "the migrations ran once the database was there");
}

#[tokio::test]
async fn a_database_down_at_start_leaves_the_instance_up_and_503_then_it_migrates_and_serves_without_a_restart() {
    let (cluster, admin_url) = Cluster::start();
    let db_url = fresh_postgres_database(&admin_url).await;
    let host_port = admin_url.split('@').nth(1).unwrap().split('/').next().unwrap().to_owned();
    // The cluster trusts every local role, so the password is never checked: it is here to show it never
    // reaches the log.
    let with_password = db_url.replacen("postgres://postgres@", "postgres://postgres:S3cret-pa55word@", 1);
    cluster.stop();
    let logs = tempfile::tempdir().unwrap();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    let mut server = ServerProcess::spawn(&with_password, logs.path(), &[]);
    assert_up_and_unavailable(&mut server, &client).await;
    // It keeps trying, and each failure names the host and the cause, never the password.
    let log = wait_for_log(&mut server, "database not reachable", 2).await;
    assert!(log.contains(&host_port), "the log names the host: {log}");
    assert!(log.to_lowercase().contains("refused"), "the log names the cause: {log}");
    assert!(!log.contains("S3cret-pa55word"), "the password never reaches the log: {log}");

    cluster.restart();
    assert_serving_and_migrated(&mut server, &client, &db_url).await;
}

#[tokio::test]
async fn wrong_database_credentials_at_start_leave_the_instance_up_and_503_until_the_password_is_right() {
    let (cluster, admin_url) = Cluster::start();
    cluster.require_password_for("parley_app", &admin_url).await;
    helpers::sql(&admin_url, "CREATE ROLE parley_app LOGIN PASSWORD 'the-new-password'").await;
    let name = format!("parley_creds_{}", uuid::Uuid::new_v4().simple());
    helpers::sql(&admin_url, &format!("CREATE DATABASE {name} OWNER parley_app")).await;
    let host_port = admin_url.split('@').nth(1).unwrap().split('/').next().unwrap().to_owned();
    let db_url = format!("postgres://parley_app:the-old-password@{host_port}/{name}");
    let logs = tempfile::tempdir().unwrap();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    let mut server = ServerProcess::spawn(&db_url, logs.path(), &[]);
    assert_up_and_unavailable(&mut server, &client).await;
    let log = wait_for_log(&mut server, "password authentication failed", 2).await;
    assert!(!log.contains("the-old-password"), "the password never reaches the log: {log}");

    // The operator fixes it on the database's side; the instance notices by itself.
    helpers::sql(&admin_url, "ALTER ROLE parley_app PASSWORD 'the-old-password'").await;
    let admin_view = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    assert_serving_and_migrated(&mut server, &client, &admin_view).await;
}

/// Values for columns whose CHECK allows only a few: one that is allowed and is not the column's default.
const CHECKED_VALUES: &[(&str, &str, &str)] = &[
    ("jobs", "state", "'failed'"),
    ("analyses", "state", "'done'"),
    ("messages", "role", "'user'"),
    ("imports", "state", "'done'"),
];

/// The tables `copy-from-sqlite` must carry, read from the SQLite schema: all but SQLite's own, the
/// migrations' bookkeeping, and the full-text index (with its shadow tables), which PostgreSQL builds itself.
async fn sqlite_tables(sqlite: &mut sqlx::SqliteConnection) -> Vec<String> {
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' AND name NOT LIKE '%\\_fts' ESCAPE '\\'
         AND name NOT LIKE '%\\_fts\\_%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(&mut *sqlite)
    .await
    .unwrap();
    // Parents before children (`import_chunks` refers to `imports`), so a row made for a child finds one.
    let mut parents = std::collections::HashMap::new();
    for (name,) in &names {
        let of: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_list($1)")
            .bind(name)
            .fetch_all(&mut *sqlite)
            .await
            .unwrap();
        parents.insert(name.clone(), of.into_iter().map(|(p,)| p).filter(|p| p != name).collect::<Vec<_>>());
    }
    let mut ordered: Vec<String> = Vec::new();
    while ordered.len() < names.len() {
        let before = ordered.len();
        for (name,) in &names {
            if !ordered.contains(name) && parents[name].iter().all(|p| ordered.contains(p) || !parents.contains_key(p))
            {
                ordered.push(name.clone());
            }
        }
        assert!(ordered.len() > before, "a cycle of foreign keys among {names:?}");
    }
    ordered
}

/// (name, default expression) of each column of a SQLite table.
async fn sqlite_columns(sqlite: &mut sqlx::SqliteConnection, table: &str) -> Vec<(String, Option<String>)> {
    sqlx::query_as("SELECT name, dflt_value FROM pragma_table_info($1) ORDER BY cid")
        .bind(table)
        .fetch_all(sqlite)
        .await
        .unwrap()
}

/// Each column's type on PostgreSQL.
async fn postgres_types(postgres: &mut sqlx::PgConnection, table: &str) -> std::collections::HashMap<String, String> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1",
    )
    .bind(table)
    .fetch_all(postgres)
    .await
    .unwrap();
    rows.into_iter().collect()
}

/// A SQL expression for a value of `pg_type` that is not `default` (for SQLite), for column `column`.
fn filler(
    table: &str,
    column: &str,
    pg_type: &str,
    default: Option<&str>,
    parent: Option<&(String, String)>,
) -> String {
    if let Some((_, _, value)) = CHECKED_VALUES.iter().find(|(t, c, _)| *t == table && *c == column) {
        return (*value).to_owned();
    }
    if let Some((parent_table, parent_column)) = parent {
        return format!("(SELECT \"{parent_column}\" FROM \"{parent_table}\" ORDER BY rowid LIMIT 1)");
    }
    match pg_type {
        "uuid" | "bytea" => "randomblob(16)".to_owned(),
        "text" => format!("'filled {table}.{column} ' || hex(randomblob(4))"),
        "boolean" => "1".to_owned(),
        "integer" | "bigint" | "smallint" => if default == Some("1") { "2" } else { "1" }.to_owned(),
        "timestamp with time zone" => "'2026-05-06T07:08:09.123456Z'".to_owned(),
        other => panic!("{table}.{column}: the test does not know how to fill a {other}"),
    }
}

/// Every row of `table`, each column decoded by `cell` (by its PostgreSQL type) to text, sorted.
fn sorted_rows<R>(
    rows: &[R],
    columns: &[(String, String)],
    cell: impl Fn(&R, usize, &str) -> String,
) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = rows
        .iter()
        .map(|row| columns.iter().enumerate().map(|(i, (_, pg_type))| cell(row, i, pg_type)).collect())
        .collect();
    out.sort();
    out
}

fn select_all(table: &str, columns: &[(String, String)]) -> String {
    let list = columns.iter().map(|(c, _)| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    format!("SELECT {list} FROM \"{table}\"")
}

/// Every column of every table of a SQLite file, read as the copy must carry it to PostgreSQL: texts with a
/// NUL (or bytes that are not UTF-8) expected with U+FFFD in their place.
async fn rows_of_sqlite(
    sqlite: &mut sqlx::SqliteConnection,
    table: &str,
    columns: &[(String, String)],
) -> Vec<Vec<String>> {
    use sqlx::Row;
    let rows = sqlx::query(&select_all(table, columns)).fetch_all(sqlite).await.unwrap();
    sorted_rows(&rows, columns, |row, i, pg_type| match pg_type {
        "uuid" => format!("{:?}", row.get::<Option<uuid::Uuid>, _>(i)),
        "bytea" => format!("{:?}", row.get::<Option<Vec<u8>>, _>(i)),
        "text" => format!(
            "{:?}",
            row.get::<Option<Vec<u8>>, _>(i).map(|b| String::from_utf8_lossy(&b).replace('\0', "\u{FFFD}"))
        ),
        "boolean" => format!("{:?}", row.get::<Option<bool>, _>(i)),
        "integer" | "bigint" | "smallint" => format!("{:?}", row.get::<Option<i64>, _>(i)),
        "timestamp with time zone" => format!("{:?}", row.get::<Option<chrono::DateTime<chrono::Utc>>, _>(i)),
        other => panic!("{table}: unknown type {other}"),
    })
}

async fn rows_of_postgres(
    postgres: &mut sqlx::PgConnection,
    table: &str,
    columns: &[(String, String)],
) -> Vec<Vec<String>> {
    use sqlx::Row;
    let rows = sqlx::query(&select_all(table, columns)).fetch_all(postgres).await.unwrap();
    sorted_rows(&rows, columns, |row, i, pg_type| match pg_type {
        "uuid" => format!("{:?}", row.get::<Option<uuid::Uuid>, _>(i)),
        "bytea" => format!("{:?}", row.get::<Option<Vec<u8>>, _>(i)),
        "text" => format!("{:?}", row.get::<Option<String>, _>(i)),
        "boolean" => format!("{:?}", row.get::<Option<bool>, _>(i)),
        "smallint" => format!("{:?}", row.get::<Option<i16>, _>(i).map(i64::from)),
        "integer" => format!("{:?}", row.get::<Option<i32>, _>(i).map(i64::from)),
        "bigint" => format!("{:?}", row.get::<Option<i64>, _>(i)),
        "timestamp with time zone" => format!("{:?}", row.get::<Option<chrono::DateTime<chrono::Utc>>, _>(i)),
        other => panic!("{table}: unknown type {other}"),
    })
}

#[tokio::test]
async fn copy_from_sqlite_carries_every_column_of_every_table_of_a_fully_populated_file() {
    use sqlx::Connection;
    let (_cluster, admin_url) = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_url(&dir.path().join("full.db"));
    let postgres = fresh_postgres_database(&admin_url).await;
    let client = reqwest::Client::new();

    // A deployment that was used: accounts, logins, a conversation, a task, a reset mail on its way.
    let old = ServerProcess::start(&sqlite, dir.path(), &[]).await;
    let (token, conversation) = helpers::user_with_conversation(&client, &old.base).await;
    let (status, _) = json(
        client
            .post(format!("{}/api/v1/conversations/{conversation}/messages", old.base))
            .bearer_auth(&token)
            .json(&json!({ "content": "a question worth keeping" })),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) =
        json(client.post(format!("{}/api/v1/tasks", old.base)).bearer_auth(&token).json(&json!({ "title": "a task" })))
            .await;
    assert_eq!(status, 201);
    drop(old);
    // PostgreSQL migrated by the same binary, for the types every column must have there.
    drop(ServerProcess::start(&postgres, dir.path(), &[]).await);

    // Then every column of every table gets a value that is neither NULL nor its default (a table still
    // empty gets a row), so a column the copy forgets cannot hide behind a NULL on both sides.
    let mut source = sqlx::SqliteConnection::connect(&sqlite).await.unwrap();
    let mut destination = sqlx::PgConnection::connect(&postgres).await.unwrap();
    let tables = sqlite_tables(&mut source).await;
    assert!(tables.len() >= 13, "the schema was read: {tables:?}");
    for table in &tables {
        let types = postgres_types(&mut destination, table).await;
        let parents: std::collections::HashMap<String, (String, String)> =
            sqlx::query_as::<_, (String, String, String)>(
                "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list($1)",
            )
            .bind(table)
            .fetch_all(&mut source)
            .await
            .unwrap()
            .into_iter()
            .map(|(from, parent, to)| (from, (parent, to)))
            .collect();
        let columns = sqlite_columns(&mut source, table).await;
        let value = |column: &str, default: Option<&str>| {
            let pg_type = types.get(column).unwrap_or_else(|| panic!("{table}.{column} is not on PostgreSQL"));
            filler(table, column, pg_type, default, parents.get(column))
        };
        let (rows,): (i64,) =
            sqlx::query_as(&format!("SELECT count(*) FROM \"{table}\"")).fetch_one(&mut source).await.unwrap();
        if rows == 0 {
            let names = columns.iter().map(|(c, _)| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
            let values = columns.iter().map(|(c, d)| value(c, d.as_deref())).collect::<Vec<_>>().join(", ");
            let insert = format!("INSERT INTO \"{table}\" ({names}) VALUES ({values})");
            sqlx::query(&insert).execute(&mut source).await.unwrap_or_else(|e| panic!("{insert}: {e}"));
        }
        for (column, default) in &columns {
            let differs = default.as_ref().map(|d| format!(" AND \"{column}\" IS NOT ({d})")).unwrap_or_default();
            let (set,): (i64,) =
                sqlx::query_as(&format!("SELECT count(*) FROM \"{table}\" WHERE \"{column}\" IS NOT NULL{differs}"))
                    .fetch_one(&mut source)
                    .await
                    .unwrap();
            if set == 0 {
                let update = format!(
                    "UPDATE \"{table}\" SET \"{column}\" = {} WHERE rowid = (SELECT min(rowid) FROM \"{table}\")",
                    value(column, default.as_deref())
                );
                sqlx::query(&update).execute(&mut source).await.unwrap_or_else(|e| panic!("{update}: {e}"));
            }
        }
    }
    // A text PostgreSQL cannot hold as it is, from before Parley refused them at its doors.
    sqlx::query("UPDATE tasks SET description = 'before' || char(0) || 'after'").execute(&mut source).await.unwrap();

    let copy = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["copy-from-sqlite", &sqlite])
        .env_clear()
        .env("DATABASE_URL", &postgres)
        .output()
        .expect("the binary runs");
    let report = String::from_utf8_lossy(&copy.stdout).into_owned();
    assert!(copy.status.success(), "{report}{}", String::from_utf8_lossy(&copy.stderr));
    assert!(report.contains("tasks: 1 rows copied (1 texts held a NUL"), "{report}");

    for table in &tables {
        let types = postgres_types(&mut destination, table).await;
        let columns: Vec<(String, String)> =
            sqlite_columns(&mut source, table).await.into_iter().map(|(c, _)| (c.clone(), types[&c].clone())).collect();
        let expected = rows_of_sqlite(&mut source, table, &columns).await;
        assert!(!expected.is_empty());
        assert!(report.contains(&format!("{table}: {} rows copied", expected.len())), "{table}: {report}");
        let copied = rows_of_postgres(&mut destination, table, &columns).await;
        assert_eq!(copied, expected, "{table}: every row and every column arrives as it was");
    }
}

/// PgBouncer in transaction mode in front of a cluster (`scripts/pgbouncer.sh`), stopped when dropped.
struct Bouncer {
    dir: PathBuf,
}

impl Bouncer {
    const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pgbouncer.sh");

    /// Starts one for every database of the cluster at `admin_url`, letting `roles` in; returns its port.
    fn start(admin_url: &str, roles: &[&str]) -> (Bouncer, u16) {
        let pg_port = admin_url.rsplit_once(':').unwrap().1.split('/').next().unwrap().to_owned();
        let dir = std::env::temp_dir().join(format!("parley-pgbouncer-{}", uuid::Uuid::new_v4().simple()));
        let port = free_port();
        let output = Command::new(Self::SCRIPT)
            .args(["start", dir.to_str().unwrap(), &port.to_string(), &pg_port])
            .args(roles)
            .output()
            .expect("run pgbouncer.sh");
        assert!(output.status.success(), "pgbouncer.sh start: {}", String::from_utf8_lossy(&output.stderr));
        (Bouncer { dir }, port)
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = Command::new(Self::SCRIPT).args(["stop", self.dir.to_str().unwrap()]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn through_pgbouncer_in_transaction_mode_two_instances_migrate_once_keep_their_timeout_and_serve() {
    let (_cluster, admin_url) = Cluster::start();
    // An ordinary role owning its database, as a hosted service hands out.
    helpers::sql(&admin_url, "CREATE ROLE parley_app LOGIN").await;
    let name = format!("parley_pooled_{}", uuid::Uuid::new_v4().simple());
    helpers::sql(&admin_url, &format!("CREATE DATABASE {name} OWNER parley_app")).await;
    let (_bouncer, port) = Bouncer::start(&admin_url, &["parley_app"]);
    let host_port = admin_url.split('@').nth(1).unwrap().split('/').next().unwrap().to_owned();
    let direct = |database: &str| format!("postgres://parley_app@{host_port}/{database}");
    let pooled = format!("postgres://parley_app@127.0.0.1:{port}/{name}");
    let logs = tempfile::tempdir().unwrap();
    let env = [("PARLEY_DB_POOLER", "transaction"), ("PARLEY_DB_STATEMENT_TIMEOUT_MS", "4321")];

    // Both start at once on the empty database. PgBouncer refuses a startup option it cannot carry, so
    // their being healthy also shows they send none.
    let mut first = ServerProcess::spawn(&pooled, logs.path(), &env);
    let mut second = ServerProcess::spawn(&pooled, logs.path(), &env);
    first.wait_healthy().await;
    second.wait_healthy().await;

    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/postgres")).unwrap().count();
    let applied = helpers::sql(&direct(&name), "SELECT count(*) FROM _sqlx_migrations WHERE success").await;
    assert_eq!(applied, Some(i64::try_from(migrations).unwrap()));
    let left = helpers::sql(&admin_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").await;
    assert_eq!(left, Some(0), "the migration lock ends with its transaction, on whichever server connection");

    // The timeout is on the role in this database, where every new server session finds it, and nowhere else.
    assert_eq!(helpers::sql_texts(&direct(&name), "SHOW statement_timeout").await, ["4321ms"]);
    assert_eq!(helpers::sql_texts(&direct("postgres"), "SHOW statement_timeout").await, ["0"]);

    // A conversation started on one instance is read on the other, over statements prepared on whichever
    // server connection PgBouncer lent each time.
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let (token, conversation) = helpers::user_with_conversation(&client, &first.base).await;
    for round in 0..20 {
        let base = if round % 2 == 0 { &first.base } else { &second.base };
        let (status, body) = json(
            client
                .post(format!("{base}/api/v1/conversations/{conversation}/messages"))
                .bearer_auth(&token)
                .json(&json!({ "content": format!("round {round}") })),
        )
        .await;
        assert_eq!(status, 201, "round {round}: {body}");
    }
    let messages = helpers::all_messages(&client, &second.base, &token, &conversation).await;
    let said: Vec<&str> =
        messages.iter().filter(|m| m["role"] == "user").map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(said, (0..20).map(|round| format!("round {round}")).collect::<Vec<_>>());
}
