//! The container image (`./dev.sh image`, the runtime stage of `Dockerfile`) run with podman: one container
//! on SQLite in a volume, and two on the tests' PostgreSQL behind the shipped `deploy/nginx.conf`.
//!
//! `./dev.sh test` builds the image and then runs these with `--ignored`, naming the image in
//! `PARLEY_TEST_IMAGE` (and the engine in `PARLEY_TEST_CONTAINER_ENGINE`, podman by default); a plain
//! `cargo test` has no image to run, and reports them as ignored, not passed.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use helpers::{PASSWORD, TEST_FERNET_KEY, TEST_SEARCH_KEY, TEST_SECRET, free_port, unique_email};

fn engine() -> String {
    std::env::var("PARLEY_TEST_CONTAINER_ENGINE").unwrap_or_else(|_| "podman".to_owned())
}

fn image() -> String {
    std::env::var("PARLEY_TEST_IMAGE").expect("PARLEY_TEST_IMAGE names the image to test (./dev.sh test sets it)")
}

/// Runs the engine with `args`; its standard output, after checking it succeeded.
fn engine_run(args: &[&str]) -> String {
    let output = Command::new(engine()).args(args).output().expect("the container engine runs");
    assert!(output.status.success(), "{} {args:?}: {}", engine(), String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A container (and its named volume, if any), removed when dropped.
struct Container {
    name: String,
    volume: Option<String>,
}

impl Container {
    /// `run -d` with the test secrets in an env file, as an operator's env file would hold them.
    fn run(dir: &Path, network: &[&str], extra_env: &[(&str, &str)], volume: Option<&str>) -> Container {
        let name = format!("parley-test-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let env_file = dir.join(format!("{name}.env"));
        let mut env = vec![
            ("SESSION_SECRET", TEST_SECRET),
            ("JWT_SECRET", TEST_SECRET),
            ("PARLEY_ENCRYPTION_KEYS", TEST_FERNET_KEY),
            ("PARLEY_SEARCH_KEY", TEST_SEARCH_KEY),
            ("PARLEY_MAIL_FROM", "Parley <noreply@parley.test>"),
            ("PARLEY_MAIL_OUTBOX", "/data/outbox"),
            ("PARLEY_DEMO_CHUNK_DELAY_MS", "0"),
        ];
        env.extend_from_slice(extra_env);
        std::fs::write(&env_file, env.iter().map(|(k, v)| format!("{k}={v}\n")).collect::<String>()).unwrap();
        let volume_name = volume.map(|v| format!("{name}-{v}"));
        let mut args = vec!["run", "-d", "--name", &name, "--env-file", env_file.to_str().unwrap()];
        args.extend_from_slice(network);
        let mount = volume_name.as_ref().map(|v| format!("{v}:/data"));
        if let Some(mount) = &mount {
            args.extend_from_slice(&["-v", mount]);
        }
        let image = image();
        args.push(&image);
        engine_run(&args);
        Container { name, volume: volume_name }
    }

    fn logs(&self) -> String {
        let output = Command::new(engine()).args(["logs", &self.name]).output().expect("logs");
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    }

    fn inspect(&self, format: &str) -> String {
        engine_run(&["inspect", "--format", format, &self.name])
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new(engine()).args(["rm", "-f", &self.name]).output();
        if let Some(volume) = &self.volume {
            let _ = Command::new(engine()).args(["volume", "rm", "-f", volume]).output();
        }
    }
}

/// Waits (bounded: 60 s) until `base` answers `/health` with 200.
async fn wait_healthy(client: &reqwest::Client, base: &str, container: &Container) {
    let started = Instant::now();
    loop {
        if client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} did not become healthy at {base} within 60 s: {}",
            container.name,
            container.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn json(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn signup(client: &reqwest::Client, base: &str, email: &str) -> Value {
    let (status, body) =
        json(client.post(format!("{base}/api/v1/auth/signup")).json(&json!({ "email": email, "password": PASSWORD })))
            .await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn login(client: &reqwest::Client, base: &str, email: &str) -> Value {
    let (status, body) =
        json(client.post(format!("{base}/api/v1/auth/login")).json(&json!({ "email": email, "password": PASSWORD })))
            .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Starts a conversation and sends a message (the offline assistant answers it): the conversation's id.
async fn chat(client: &reqwest::Client, base: &str, token: &str, text: &str) -> String {
    let (status, conversation) =
        json(client.post(format!("{base}/api/v1/conversations")).bearer_auth(token).json(&json!({}))).await;
    assert_eq!(status, 201, "{conversation}");
    let id = conversation["id"].as_str().unwrap().to_owned();
    send(client, base, token, &id, text).await;
    id
}

async fn send(client: &reqwest::Client, base: &str, token: &str, conversation: &str, text: &str) {
    let (status, body) = json(
        client
            .post(format!("{base}/api/v1/conversations/{conversation}/messages"))
            .bearer_auth(token)
            .json(&json!({ "content": text })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// The texts of a conversation's messages, oldest first.
async fn history(client: &reqwest::Client, base: &str, token: &str, conversation: &str) -> Vec<(String, String)> {
    let (status, page) =
        json(client.get(format!("{base}/api/v1/conversations/{conversation}/messages?limit=100")).bearer_auth(token))
            .await;
    assert_eq!(status, 200, "{page}");
    page["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("a page of messages: {page}"))
        .iter()
        .map(|m| (m["role"].as_str().unwrap().to_owned(), m["content"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
#[ignore = "needs the container image: ./dev.sh test builds it and runs this with --ignored"]
async fn the_image_serves_signup_and_chat_as_a_non_root_user_and_keeps_its_data_in_its_volume_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let publish = format!("127.0.0.1:{port}:8080");
    let container = Container::run(dir.path(), &["-p", &publish], &[], Some("data"));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    wait_healthy(&client, &base, &container).await;

    assert_eq!(engine_run(&["exec", &container.name, "id", "-u"]), "10001", "the process does not run as root");
    // The image's HEALTHCHECK is `parley healthcheck`, and it passes.
    let check = container.inspect("{{.Config.Healthcheck.Test}}");
    assert!(check.contains("/usr/local/bin/parley healthcheck"), "the image's HEALTHCHECK: {check}");
    engine_run(&["exec", &container.name, "parley", "healthcheck"]);
    let email = unique_email();
    let token = signup(&client, &base, &email).await["access_token"].as_str().unwrap().to_owned();
    let conversation = chat(&client, &base, &token, "does the volume keep this?").await;
    let before = history(&client, &base, &token, &conversation).await;
    assert_eq!(before.len(), 2, "the question and the assistant's answer: {before:?}");

    // SIGTERM to PID 1: a clean stop (exit 0), then the same container again, on the same volume.
    engine_run(&["stop", "-t", "20", &container.name]);
    assert_eq!(container.inspect("{{.State.ExitCode}}"), "0", "a clean shutdown: {}", container.logs());
    engine_run(&["start", &container.name]);
    wait_healthy(&client, &base, &container).await;
    let token = login(&client, &base, &email).await["access_token"].as_str().unwrap().to_owned();
    assert_eq!(history(&client, &base, &token, &conversation).await, before, "the history survived the restart");
}

/// The shipped `deploy/nginx.conf`, its upstream pointed at `upstreams` and its listener at a loopback
/// port: nginx's own process, never the system service. Stopped when dropped.
struct Nginx {
    base: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Nginx {
    async fn start(upstreams: &[u16]) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/nginx.conf")).unwrap();
        let servers: String =
            upstreams.iter().map(|p| format!("    server 127.0.0.1:{p} max_fails=3 fail_timeout=10s;\n")).collect();
        let site: String = shipped
            .lines()
            .filter(|line| !line.trim_start().starts_with("server 127.0.0.1:"))
            .filter(|line| line.trim() != "listen [::]:80;")
            .map(|line| match line.trim() {
                "upstream parley {" => format!("{line}\n{servers}"),
                "listen 80;" => format!("    listen 127.0.0.1:{port};\n"),
                _ => format!("{line}\n"),
            })
            .collect();
        std::fs::write(dir.path().join("parley.conf"), site).unwrap();
        let temp = |name: &str| dir.path().join(name).display().to_string();
        let main = format!(
            "pid {};\nerror_log {} warn;\nworker_processes 1;\nevents {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {};\n  proxy_temp_path {};\n  fastcgi_temp_path {};\n  uwsgi_temp_path {};\n  scgi_temp_path {};\n  include {};\n}}\n",
            temp("nginx.pid"),
            temp("error.log"),
            temp("client"),
            temp("proxy"),
            temp("fastcgi"),
            temp("uwsgi"),
            temp("scgi"),
            temp("parley.conf")
        );
        std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
        let binary = if Path::new("/usr/sbin/nginx").exists() { "/usr/sbin/nginx" } else { "nginx" };
        let child = Command::new(binary)
            .args(["-p", &temp(""), "-c", &temp("nginx.conf"), "-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let nginx = Nginx { base: format!("http://127.0.0.1:{port}"), child, _dir: dir };
        let client = reqwest::Client::new();
        let started = Instant::now();
        while !client.get(format!("{}/health", nginx.base)).send().await.is_ok_and(|r| r.status() == 200) {
            assert!(started.elapsed() < Duration::from_secs(20), "nginx did not answer within 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        nginx
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
#[ignore = "needs the container image: ./dev.sh test builds it and runs this with --ignored"]
async fn two_containers_on_the_tests_postgres_behind_nginx_share_logins_chats_and_logouts() {
    let admin = helpers::postgres_admin_url().expect("PARLEY_TEST_POSTGRES_URL names the tests' PostgreSQL");
    let db_url = helpers::fresh_postgres_database(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    // The host's network, so the containers reach the tests' PostgreSQL on loopback and nginx reaches them.
    let ports = [free_port(), free_port()];
    let instances: Vec<Container> = ports
        .iter()
        .map(|port| {
            let listen = format!("127.0.0.1:{port}");
            Container::run(
                dir.path(),
                &["--network", "host"],
                &[("DATABASE_URL", &db_url), ("LEPTOS_SITE_ADDR", &listen), ("PARLEY_TRUST_PROXY", "true")],
                None,
            )
        })
        .collect();
    let bases: Vec<String> = ports.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
    for (base, container) in bases.iter().zip(&instances) {
        wait_healthy(&client, base, container).await;
    }
    let nginx = Nginx::start(&ports).await;

    // Signed up through nginx; logged in on the first instance, chatting on the second and through nginx.
    let email = unique_email();
    signup(&client, &nginx.base, &email).await;
    let tokens = login(&client, &bases[0], &email).await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let conversation = chat(&client, &bases[1], &token, "asked on the second instance").await;
    send(&client, &nginx.base, &token, &conversation, "asked through nginx").await;
    let seen: Vec<Vec<(String, String)>> = {
        let mut seen = Vec::new();
        for base in bases.iter().chain([&nginx.base]) {
            seen.push(history(&client, base, &token, &conversation).await);
        }
        seen
    };
    assert_eq!(seen[0].len(), 4, "two questions, two answers: {:?}", seen[0]);
    assert!(seen.iter().all(|h| *h == seen[0]), "every instance reads the same history: {seen:?}");

    // Logging out on one instance ends the login on both.
    let response = client
        .post(format!("{}/api/v1/auth/logout", bases[1]))
        .bearer_auth(&token)
        .json(&json!({ "refresh_token": tokens["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    for base in &bases {
        let (status, body) = json(client.get(format!("{base}/api/v1/me")).bearer_auth(&token)).await;
        assert_eq!(status, 401, "{base}: {body}");
        let (status, _) = json(
            client
                .post(format!("{base}/api/v1/auth/refresh"))
                .json(&json!({ "refresh_token": tokens["refresh_token"] })),
        )
        .await;
        assert_eq!(status, 401, "{base}: the refresh token died with the login");
    }
}
