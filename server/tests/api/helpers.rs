use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde_json::{json, Value};

use parley::{
    config::Config,
    startup::{Application, StartupError},
};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

pub const TEST_SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";

/// A running server on a random loopback port. Dropping it stops the server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub db_path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), StartupError>>>,
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
    pub async fn send_authed(&self, method: reqwest::Method, path: &str, token: &str, body: Option<&Value>) -> reqwest::Response {
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
        let response = self.send_authed(reqwest::Method::POST, &path, token, Some(&json!({ "content": content }))).await;
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
pub fn test_config(db_path: &Path, overrides: &[(&str, &str)]) -> Config {
    let db_url = format!("sqlite://{}", db_path.display());
    Config::from_lookup(|key| {
        if let Some((_, value)) = overrides.iter().find(|(k, _)| *k == key) {
            return Some((*value).to_owned());
        }
        match key {
            "DATABASE_URL" => Some(db_url.clone()),
            "LEPTOS_SITE_ADDR" => Some("127.0.0.1:0".to_owned()),
            "SESSION_SECRET" | "JWT_SECRET" => Some(TEST_SECRET.to_owned()),
            "RUST_LOG" => Some("warn".to_owned()),
            "PARLEY_RATE_LIMIT_AUTH_PER_IP" => Some("10000".to_owned()),
            "PARLEY_RATE_LIMIT_LOGIN_FAILURES" => Some("10000".to_owned()),
            "PARLEY_DEMO_CHUNK_DELAY_MS" => Some("0".to_owned()),
            _ => None,
        }
    })
    .expect("test configuration is valid")
}

/// Starts the app on a fresh SQLite file in its own temporary folder.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Like [`spawn_app`], with some configuration variables set.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary folder");
    let db_path = dir.path().join("parley.db");
    let mut app = start(test_config(&db_path, overrides)).await.expect("app starts");
    app.db_path = db_path;
    app._dir = Some(dir);
    app
}

/// Starts the app on the given SQLite file (which may be shared with other apps).
pub async fn spawn_app_on(db_path: &Path) -> Result<TestApp, StartupError> {
    let mut app = start(test_config(db_path, &[])).await?;
    app.db_path = db_path.to_owned();
    Ok(app)
}

/// Starts a second instance on another instance's database, with some variables set.
pub async fn spawn_app_on_with(db_path: &Path, overrides: &[(&str, &str)]) -> TestApp {
    let mut app = start(test_config(db_path, overrides)).await.expect("app starts");
    app.db_path = db_path.to_owned();
    app
}

async fn start(config: Config) -> Result<TestApp, StartupError> {
    let application = Application::build(config).await?;
    let addr = application.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until(async {
        let _ = stopped.await;
    }));
    Ok(TestApp {
        addr,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        db_path: PathBuf::new(),
        stop: Some(stop),
        server: Some(server),
        _dir: None,
    })
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
