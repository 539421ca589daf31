use std::{net::SocketAddr, path::Path};

use serde_json::{Value, json};

use parley::{
    startup::{Application, StartupError},
    support::config::Config,
};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

pub const TEST_SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";
/// Every test app seals what people write (the specification's example key, not a secret), so every reader
/// of the suite reads through the encryption; a test wanting plain text sets `PARLEY_ENCRYPTION_KEYS` blank.
pub const TEST_FERNET_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
pub const TEST_SEARCH_KEY: &str = "test-search-key-that-is-at-least-32-bytes";

/// A running server on a random loopback port. Dropping it stops the server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// The `DATABASE_URL` it runs on (a SQLite file or a PostgreSQL database of its own).
    pub db_url: String,
    /// The folder this app's email goes to, one `.eml` file per message.
    pub outbox: std::path::PathBuf,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), StartupError>>>,
    _outbox_dir: TempDir,
    // Held so the database file outlives the server.
    _dir: Option<TempDir>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request reaches the server")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.expect("request reaches the server")
    }

    pub async fn get_authed(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.expect("request reaches the server")
    }

    /// Sends `method path` with a bearer token and an optional JSON body.
    pub async fn send_authed(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut request = self.client.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request reaches the server")
    }

    /// Signs up through the API and returns the token body.
    pub async fn signup(&self, email: &str, password: &str) -> Value {
        let response = self.post_json("/api/v1/auth/signup", &json!({ "email": email, "password": password })).await;
        assert_eq!(response.status(), 201, "signup of {email} should succeed");
        response.json().await.expect("token body")
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json("/api/v1/auth/login", &json!({ "email": email, "password": password })).await
    }

    /// A new user's access token.
    pub async fn new_user_token(&self) -> String {
        self.signup(&unique_email(), PASSWORD).await["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates a conversation and returns its id.
    pub async fn new_conversation(&self, token: &str) -> String {
        let response = self.send_authed(reqwest::Method::POST, "/api/v1/conversations", token, Some(&json!({}))).await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    /// Sends a message (JSON, not streamed) and returns `{message, reply}`.
    pub async fn say(&self, token: &str, conversation: &str, content: &str) -> Value {
        let path = format!("/api/v1/conversations/{conversation}/messages");
        let response =
            self.send_authed(reqwest::Method::POST, &path, token, Some(&json!({ "content": content }))).await;
        assert_eq!(response.status(), 201, "sending {content:?}");
        response.json().await.unwrap()
    }

    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": refresh_token })).await
    }

    /// Asks the server to shut down gracefully and waits for it to finish.
    pub async fn stop(mut self) -> Result<(), StartupError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.take().expect("server runs").await.expect("server task does not panic")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The configuration every test app uses; `overrides` replace single variables. Rate limits are high by
/// default so that only the tests about them ever meet them.
pub fn test_config(db_url: &str, overrides: &[(&str, &str)]) -> Config {
    Config::from_lookup(|key| {
        if let Some((_, value)) = overrides.iter().find(|(k, _)| *k == key) {
            return Some((*value).to_owned());
        }
        match key {
            "DATABASE_URL" => Some(db_url.to_owned()),
            "LEPTOS_SITE_ADDR" => Some("127.0.0.1:0".to_owned()),
            "SESSION_SECRET" | "JWT_SECRET" => Some(TEST_SECRET.to_owned()),
            "PARLEY_ENCRYPTION_KEYS" => Some(TEST_FERNET_KEY.to_owned()),
            "PARLEY_SEARCH_KEY" => Some(TEST_SEARCH_KEY.to_owned()),
            "RUST_LOG" => Some("warn".to_owned()),
            "PARLEY_RATE_LIMIT_AUTH_PER_IP" => Some("10000".to_owned()),
            "PARLEY_RATE_LIMIT_LOGIN_FAILURES" => Some("10000".to_owned()),
            "PARLEY_DEMO_CHUNK_DELAY_MS" => Some("0".to_owned()),
            // Many test apps share one PostgreSQL: a few connections each is plenty.
            "PARLEY_DB_MAX_CONNECTIONS" => Some("4".to_owned()),
            "PARLEY_DB_POOLER" => test_pooler(),
            _ => None,
        }
    })
    .expect("test configuration is valid")
}

/// The PostgreSQL server the suite runs against, when `PARLEY_TEST_POSTGRES_URL` names one (`./dev.sh test`
/// starts a throwaway cluster and runs the suite once per backend); otherwise every test uses SQLite.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("PARLEY_TEST_POSTGRES_URL").ok().filter(|url| !url.is_empty())
}

/// `PARLEY_DB_POOLER` for every app of the run, when `PARLEY_TEST_DB_POOLER` sets it (`./dev.sh test` runs the
/// PostgreSQL suite a second time through PgBouncer in transaction mode).
pub fn test_pooler() -> Option<String> {
    std::env::var("PARLEY_TEST_DB_POOLER").ok().filter(|pooler| !pooler.is_empty())
}

/// The storage layer on a test database, as the test apps open it (through the run's pooler, if any).
pub async fn connect_database(db_url: &str) -> parley::db::Database {
    let settings = test_config(db_url, &[]).database;
    parley::db::Database::connect_with(db_url, &settings).await.expect("the test database answers")
}

/// A fresh, empty database for one test: a SQLite file in `dir`, or a new database on the test
/// PostgreSQL server.
pub async fn fresh_database_url(dir: &Path) -> String {
    match postgres_admin_url() {
        None => sqlite_url(&dir.join("parley.db")),
        Some(admin) => fresh_postgres_database(&admin).await,
    }
}

pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Creates a new database on the PostgreSQL server behind `admin_url` and returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("parley_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(admin_url).await.expect("the test PostgreSQL answers");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create a test database");
    admin.close().await.ok();
    let (base, _) = admin_url.rsplit_once('/').expect("admin URL ends with a database name");
    format!("{base}/{name}")
}

/// Runs one statement on a test database directly (not through the app), returning the first column of
/// the first row as a number when there is one: for setting up or inspecting what the app stored.
pub async fn sql(db_url: &str, statement: &str) -> Option<i64> {
    use sqlx::{Connection, Row};
    if db_url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(db_url).await.expect("open the test database");
        let row = sqlx::query(statement).fetch_optional(&mut conn).await.expect(statement);
        row.and_then(|row| row.try_get::<i64, _>(0).ok())
    } else {
        let mut conn = sqlx::PgConnection::connect(db_url).await.expect("open the test database");
        let row = sqlx::query(statement).fetch_optional(&mut conn).await.expect(statement);
        row.and_then(|row| row.try_get::<i64, _>(0).ok())
    }
}

/// Runs one query on a test database directly and returns the first column of every row as text (NULLs
/// left out): for reading what the app stored, as someone with the database and no keys would.
pub async fn sql_texts(db_url: &str, statement: &str) -> Vec<String> {
    use sqlx::{Connection, Row};
    if db_url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(db_url).await.expect("open the test database");
        let rows = sqlx::query(statement).fetch_all(&mut conn).await.expect(statement);
        rows.iter().filter_map(|row| row.try_get::<Option<String>, _>(0).ok().flatten()).collect()
    } else {
        let mut conn = sqlx::PgConnection::connect(db_url).await.expect("open the test database");
        let rows = sqlx::query(statement).fetch_all(&mut conn).await.expect(statement);
        rows.iter().filter_map(|row| row.try_get::<Option<String>, _>(0).ok().flatten()).collect()
    }
}

/// Runs a Python script with the packages `./dev.sh test` installs (`cryptography`, `standardwebhooks`):
/// PARLEY_TEST_PYTHON, else `python3`. Its standard output.
pub fn python(script: &str, args: &[&str]) -> String {
    let interpreter = std::env::var("PARLEY_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let output = std::process::Command::new(&interpreter)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{interpreter} runs: {e}"));
    assert!(
        output.status.success(),
        "{interpreter} with `cryptography` and `standardwebhooks` is needed (./dev.sh test installs them): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The JSON body of `response`, after checking its status (the body is in the failure message).
pub async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(actual, status, "{body}");
    body
}

/// Starts the app on a fresh database of the backend under test.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Like [`spawn_app`], with some configuration variables set.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary folder");
    let db_url = fresh_database_url(dir.path()).await;
    let mut app = start(test_config(&db_url, overrides)).await.expect("app starts");
    app._dir = Some(dir);
    app
}

/// Starts the app on the given database (which may be shared with other apps).
pub async fn spawn_app_on(db_url: &str) -> Result<TestApp, StartupError> {
    start(test_config(db_url, &[])).await
}

/// Starts a second instance on another instance's database, with some variables set.
pub async fn spawn_app_on_with(db_url: &str, overrides: &[(&str, &str)]) -> TestApp {
    start(test_config(db_url, overrides)).await.expect("app starts")
}

async fn start(mut config: Config) -> Result<TestApp, StartupError> {
    let db_url = secrecy::ExposeSecret::expose_secret(&config.database_url).to_owned();
    let outbox_dir = tempfile::tempdir().expect("temporary folder");
    let outbox = outbox_dir.path().join("outbox");
    // Each app its own outbox, unless the test gives it a mail server.
    if matches!(config.mail.transport, parley::support::config::MailTransport::Outbox(_)) {
        config.mail.transport = parley::support::config::MailTransport::Outbox(outbox.clone());
    }
    let application = Application::build(config).await?;
    // The app binds at once and brings its database up in the background; these tests want it serving.
    tokio::time::timeout(std::time::Duration::from_secs(30), application.readiness().wait())
        .await
        .expect("the test database is reached and migrated within 30 s");
    let addr = application.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until(async {
        let _ = stopped.await;
    }));
    Ok(TestApp {
        addr,
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http client"),
        db_url,
        outbox,
        stop: Some(stop),
        server: Some(server),
        _outbox_dir: outbox_dir,
        _dir: None,
    })
}

impl TestApp {
    /// The messages in the outbox sent to `to`, oldest first.
    pub fn mail_to(&self, to: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.outbox) else { return Vec::new() };
        let mut names: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter(|text| text.lines().any(|line| line.eq_ignore_ascii_case(&format!("To: {to}"))))
            .collect()
    }

    /// Waits (bounded: 10 s) until `to` has received `count` messages, and returns the last one.
    pub async fn wait_for_mail(&self, to: &str, count: usize) -> String {
        self.wait_for_mail_with(to, "", count).await
    }

    /// Waits (bounded: 10 s) until `to` has received `count` messages containing `needle`, and returns the
    /// `count`-th. Mail is sent in the background, so messages of different kinds may arrive in any order;
    /// messages of one kind sent one after the other arrive in order.
    pub async fn wait_for_mail_with(&self, to: &str, needle: &str, count: usize) -> String {
        let started = std::time::Instant::now();
        loop {
            let mail: Vec<String> = self.mail_to(to).into_iter().filter(|m| m.contains(needle)).collect();
            if mail.len() >= count {
                return mail.into_iter().nth(count - 1).unwrap();
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "no mail #{count} with {needle:?} for {to} in 10 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The token of the `count`-th link to `path` mailed to `to`.
    pub async fn link_token(&self, to: &str, count: usize, path: &str) -> String {
        let mail = self.wait_for_mail_with(to, &format!("{path}?token="), count).await;
        link_token_in(&mail, path).unwrap_or_else(|| panic!("no {path} link in: {mail}"))
    }
}

/// The value of the `parley_session` cookie a response sets, if it sets one.
pub fn session_cookie_value(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("parley_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// The `token` of the first link to `path` in a message.
pub fn link_token_in(mail: &str, path: &str) -> Option<String> {
    let start = mail.find(&format!("{path}?token="))? + path.len() + "?token=".len();
    let token: String =
        mail[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    (!token.is_empty()).then_some(token)
}

pub const PASSWORD: &str = "Correct-horse-9";

/// The `error.code` of a JSON error response, after checking its status.
pub async fn error_code(response: reqwest::Response, status: u16) -> String {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(actual, status, "unexpected status, body: {body}");
    body["error"]["code"].as_str().expect("error.code is a string").to_owned()
}

/// A unique email per call, so tests never collide.
pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// A free loopback port (nothing listens on it once this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The real `parley` binary as a child process on a loopback port, its output in a log file. Dropping it
/// kills the process.
pub struct ServerProcess {
    pub base: String,
    pub log_path: std::path::PathBuf,
    child: std::process::Child,
}

impl ServerProcess {
    /// Starts the binary on `db_url` (development mode, test secrets, `extra` variables on top) and waits,
    /// bounded, until `/health` answers 200.
    pub async fn start(db_url: &str, log_dir: &Path, extra: &[(&str, &str)]) -> ServerProcess {
        let mut server = Self::spawn(db_url, log_dir, extra);
        server.wait_healthy().await;
        server
    }

    /// Starts the binary as [`ServerProcess::start`] does, without waiting for anything.
    pub fn spawn(db_url: &str, log_dir: &Path, extra: &[(&str, &str)]) -> ServerProcess {
        let port = free_port();
        let log_path = log_dir.join(format!("parley-{port}.log"));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_parley"));
        command
            .env_clear()
            .current_dir(log_dir)
            .env("DATABASE_URL", db_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("SESSION_SECRET", TEST_SECRET)
            .env("JWT_SECRET", TEST_SECRET)
            .env("PARLEY_ENCRYPTION_KEYS", TEST_FERNET_KEY)
            .env("PARLEY_SEARCH_KEY", TEST_SEARCH_KEY)
            .env("RUST_LOG", "warn")
            .env("PARLEY_LOG_FORMAT", "json")
            .env("PARLEY_RATE_LIMIT_AUTH_PER_IP", "10000")
            .env("PARLEY_DEMO_CHUNK_DELAY_MS", "0")
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if let Some(pooler) = test_pooler() {
            command.env("PARLEY_DB_POOLER", pooler);
        }
        for (key, value) in extra {
            command.env(key, value);
        }
        let child = command.spawn().expect("the binary starts");
        ServerProcess { base: format!("http://127.0.0.1:{port}"), log_path, child }
    }

    /// Waits, bounded (30 s), until `/health` answers 200; fails at once if the process exits.
    pub async fn wait_healthy(&mut self) {
        let client = reqwest::Client::new();
        let started = std::time::Instant::now();
        loop {
            if let Ok(response) = client.get(format!("{}/health", self.base)).send().await
                && response.status() == 200
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server exited with {status}: {}", self.logs());
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(30), "server did not become healthy");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// Whether the process is still running.
    #[allow(dead_code)] // for the operations tests, which share this file
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: no shutdown, no flushing, as a crash or an OOM kill.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Signs a new user up over the API of the server at `base` and starts a conversation: (access token,
/// conversation id). For tests that drive a server process rather than a [`TestApp`].
pub async fn user_with_conversation(client: &reqwest::Client, base: &str) -> (String, String) {
    let signup = client
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({ "email": unique_email(), "password": PASSWORD }))
        .send()
        .await
        .expect("signup answers");
    assert_eq!(signup.status(), 201);
    let token = signup.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let conversation = client
        .post(format!("{base}/api/v1/conversations"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .expect("create answers");
    assert_eq!(conversation.status(), 201);
    let id = conversation.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    (token, id)
}

/// Every message of a conversation, oldest first, read page by page.
pub async fn all_messages(client: &reqwest::Client, base: &str, token: &str, conversation: &str) -> Vec<Value> {
    let mut messages = Vec::new();
    let mut before: Option<String> = None;
    for _ in 0..1_000 {
        let mut url = format!("{base}/api/v1/conversations/{conversation}/messages?limit=100");
        if let Some(cursor) = &before {
            url.push_str(&format!("&before={cursor}"));
        }
        let page: Value = client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        let mut items = page["messages"].as_array().unwrap().clone();
        items.extend(messages);
        messages = items;
        match page["next_cursor"].as_str() {
            Some(cursor) => before = Some(cursor.to_owned()),
            None => return messages,
        }
    }
    panic!("more pages than any test writes");
}

/// `text` as a URL query value: everything but ASCII letters and digits percent-encoded.
pub fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
