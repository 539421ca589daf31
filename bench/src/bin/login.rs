//! How long one login takes, and what a burst of 50 concurrent logins does to `/health` latency.

use std::time::{Duration, Instant};

use parley_bench::{bench_database_url, start_app, summary};
use serde_json::json;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let base = start_app(&bench_database_url(dir.path()), &[]).await;
    let client = reqwest::Client::new();
    let credentials = json!({ "email": "bench@example.com", "password": "Bench-pass-1" });
    client.post(format!("{base}/api/v1/auth/signup")).json(&credentials).send().await.unwrap();

    let mut logins = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let response = client.post(format!("{base}/api/v1/auth/login")).json(&credentials).send().await.unwrap();
        assert_eq!(response.status(), 200);
        logins.push(started.elapsed());
    }
    println!("one login (sequential):        {}", summary(&mut logins));

    let mut idle = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        client.get(format!("{base}/health")).send().await.unwrap();
        idle.push(started.elapsed());
    }
    println!("/health, idle:                 {}", summary(&mut idle));

    let burst_started = Instant::now();
    let burst = tokio::spawn({
        let (client, base, credentials) = (client.clone(), base.clone(), credentials.clone());
        async move {
            let logins = (0..50).map(|_| client.post(format!("{base}/api/v1/auth/login")).json(&credentials).send());
            futures_util::future::join_all(logins).await
        }
    });
    let mut during = Vec::new();
    while !burst.is_finished() && during.len() < 2000 {
        let started = Instant::now();
        client.get(format!("{base}/health")).send().await.unwrap();
        during.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let results = burst.await.unwrap();
    let ok = results.iter().filter(|r| r.as_ref().is_ok_and(|r| r.status() == 200)).count();
    println!("burst of 50 logins:            {ok}/50 ok in {:.0} ms", burst_started.elapsed().as_secs_f64() * 1000.0);
    println!("/health during the burst:      {}", summary(&mut during));
}
