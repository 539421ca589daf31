//! Fetching the newest 50 messages of a 100,000-message conversation against a 100-message one: keyset
//! pagination should make them cost the same.

use std::time::Instant;

use parley::db::Database;
use parley_bench::{bench_database_url, start_app, summary, SECRET};
use serde_json::json;

async fn seed(db: &Database, user: uuid::Uuid, messages: usize) -> uuid::Uuid {
    let conversation = db.create_conversation(user, "bench").await.unwrap();
    for n in 0..messages {
        let role = if n % 2 == 0 { "user" } else { "assistant" };
        db.add_message(conversation.id, role, &format!("message number {n} with some ordinary text in it"), None)
            .await
            .unwrap();
    }
    conversation.id
}

#[tokio::main]
async fn main() {
    let _ = SECRET;
    let dir = tempfile::tempdir().unwrap();
    let url = bench_database_url(dir.path());
    println!("database: {}", url.split(':').next().unwrap_or("?"));
    let base = start_app(&url, &[]).await;
    let client = reqwest::Client::new();
    let signup: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({ "email": "history@example.com", "password": "Bench-pass-1" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["access_token"].as_str().unwrap().to_owned();
    let user: uuid::Uuid = signup["user"]["id"].as_str().unwrap().parse().unwrap();

    let db = Database::connect(&url).await.unwrap();
    let seeding = Instant::now();
    let small = seed(&db, user, 100).await;
    let large = seed(&db, user, 100_000).await;
    println!("seeded 100,100 messages in {:.1} s", seeding.elapsed().as_secs_f64());

    for (name, id) in [("100 messages", small), ("100,000 messages", large)] {
        let mut samples = Vec::new();
        for _ in 0..200 {
            let started = Instant::now();
            let response = client
                .get(format!("{base}/api/v1/conversations/{id}/messages?limit=50"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["messages"].as_array().unwrap().len(), 50);
            samples.push(started.elapsed());
        }
        println!("newest 50 of {name:>16}: {}", summary(&mut samples));
    }
    // Deep in the big one: page 1,000 costs what page 1 costs.
    let mut cursor: Option<String> = None;
    let mut deep = Vec::new();
    for page in 0..1000 {
        let mut url = format!("{base}/api/v1/conversations/{large}/messages?limit=100");
        if let Some(c) = &cursor {
            url.push_str(&format!("&before={c}"));
        }
        let started = Instant::now();
        let body: serde_json::Value = client.get(url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if page >= 990 {
            deep.push(started.elapsed());
        }
        cursor = body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    println!("pages 991-1000 (limit 100) of the big one: {}", summary(&mut deep));
}
