//! What the real binary writes to its logs while people sign up, log in and refresh: never a secret.

use std::{
    io::Read,
    net::TcpListener,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TEST_FERNET_KEY, TEST_SEARCH_KEY, TEST_SECRET};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn logs_of_signup_login_and_refresh_contain_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_parley"))
        .env_clear()
        .env("PARLEY_ENV", "production")
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("logs.db").display()))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("SESSION_SECRET", TEST_SECRET)
        .env("JWT_SECRET", TEST_SECRET)
        .env("PARLEY_ENCRYPTION_KEYS", TEST_FERNET_KEY)
        .env("PARLEY_SEARCH_KEY", TEST_SEARCH_KEY)
        .env("PARLEY_MAIL_FROM", "Parley <noreply@parley.test>")
        .env("PARLEY_MAIL_OUTBOX", dir.path().join("outbox"))
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // Read both pipes as the server writes: a debug log fills a pipe's buffer within seconds, and a server
    // whose log writes block answers nothing.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(server.stdout.take().unwrap()));
    let stderr = drain(Box::new(server.stderr.take().unwrap()));

    let client = reqwest::Client::new();
    let started = Instant::now();
    // It listens at once and serves once its database is migrated: wait for a 200, not just an answer.
    while !client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status() == 200) {
        assert!(started.elapsed() < Duration::from_secs(20), "server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let email = "secret-keeper@example.com";
    let signup: Value = client
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let login: Value = login.json().await.unwrap();
    let refreshed: Value = client
        .post(format!("{base}/api/v1/auth/refresh"))
        .json(&json!({ "refresh_token": login["refresh_token"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wrong = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": "Wrong-secret-77" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    // SIGTERM: the server shuts down cleanly and exits 0, closing its output.
    let pid = server.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = server.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status:?}");
    let logs = stdout.join().unwrap() + &stderr.join().unwrap();

    assert!(logs.contains("account created"), "the logs were captured: {logs}");
    let secrets = [
        PASSWORD.to_owned(),
        "Wrong-secret-77".to_owned(),
        TEST_SECRET.to_owned(),
        TEST_FERNET_KEY.to_owned(),
        TEST_SEARCH_KEY.to_owned(),
        signup["access_token"].as_str().unwrap().to_owned(),
        signup["refresh_token"].as_str().unwrap().to_owned(),
        login["access_token"].as_str().unwrap().to_owned(),
        login["refresh_token"].as_str().unwrap().to_owned(),
        refreshed["access_token"].as_str().unwrap().to_owned(),
        refreshed["refresh_token"].as_str().unwrap().to_owned(),
        "$argon2id$".to_owned(),
    ];
    for secret in secrets {
        assert!(!logs.contains(&secret), "a secret leaked into the logs: {secret}");
    }
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        assert!(serde_json::from_str::<Value>(line).is_ok(), "production logs are JSON lines: {line}");
    }
}
