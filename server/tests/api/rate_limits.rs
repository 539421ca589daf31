//! Rate limits on authentication: counted in the database, answered with 429 and `Retry-After`.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::json;

use crate::helpers::{PASSWORD, error_code, spawn_app_with, unique_email};

fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::from(ip))).build().unwrap()
}

#[tokio::test]
async fn auth_requests_per_ip_are_limited_and_other_ips_are_unaffected() {
    let app = spawn_app_with(&[("PARLEY_RATE_LIMIT_AUTH_PER_IP", "5")]).await;
    let busy = client_from([127, 0, 0, 1]);
    let other = client_from([127, 0, 0, 2]);
    let login = |client: &reqwest::Client| {
        client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({ "email": unique_email(), "password": PASSWORD }))
            .send()
    };

    for attempt in 1..=5 {
        assert_eq!(login(&busy).await.unwrap().status(), 401, "attempt {attempt} is within the limit");
    }
    let refused = login(&busy).await.unwrap();
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(error_code(refused, 429).await, "rate_limited");
    let signup = busy
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({ "email": unique_email(), "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), 429, "signup shares the per-IP budget");

    assert_eq!(login(&other).await.unwrap().status(), 401, "another IP is not limited");
}

#[tokio::test]
async fn failed_logins_per_email_are_limited_and_other_emails_are_unaffected() {
    let app = spawn_app_with(&[("PARLEY_RATE_LIMIT_LOGIN_FAILURES", "3")]).await;
    let target = unique_email();
    let bystander = unique_email();
    app.signup(&target, PASSWORD).await;
    app.signup(&bystander, PASSWORD).await;

    for attempt in 1..=3 {
        assert_eq!(app.login(&target, "Wrong-guess-1").await.status(), 401, "failure {attempt}");
    }
    let locked = app.login(&target.to_uppercase(), PASSWORD).await;
    assert!(locked.headers().contains_key("retry-after"));
    assert_eq!(error_code(locked, 429).await, "rate_limited", "even the right password waits, in any letter case");

    assert_eq!(app.login(&bystander, PASSWORD).await.status(), 200, "another email is not limited");
}

#[tokio::test]
async fn limits_are_shared_by_instances_on_one_database() {
    let first = spawn_app_with(&[("PARLEY_RATE_LIMIT_LOGIN_FAILURES", "2")]).await;
    let second = crate::helpers::spawn_app_on_with(&first.db_url, &[("PARLEY_RATE_LIMIT_LOGIN_FAILURES", "2")]).await;
    let email = unique_email();

    assert_eq!(first.login(&email, "Wrong-guess-1").await.status(), 401);
    assert_eq!(second.login(&email, "Wrong-guess-1").await.status(), 401);

    assert_eq!(error_code(first.login(&email, "Wrong-guess-1").await, 429).await, "rate_limited");
}
