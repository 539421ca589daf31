//! The yardstick: a bare axum handler that answers every request with the same 50-message JSON page
//! (built once, like Parley's history page in shape and size). Prints its address, then serves until
//! killed. `report` measures it in the same run as Parley, so each figure is also a ratio to it.

use axum::{Router, http::header, routing::get};
use serde_json::json;

#[tokio::main]
async fn main() {
    let messages: Vec<_> = (0..50)
        .map(|n| {
            json!({
                "id": format!("0193a0b4-0000-7000-8000-{n:012}"),
                "role": if n % 2 == 0 { "user" } else { "assistant" },
                "content": format!("message number {n} with some ordinary text in it"),
                "created_at": "2026-11-24T03:00:00.000000Z",
            })
        })
        .collect();
    let page = serde_json::to_vec(&json!({ "messages": messages, "next_cursor": null })).expect("serialisable");
    let app = Router::new().route(
        "/messages",
        get(move || {
            let page = page.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], page) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    println!("{}", listener.local_addr().expect("bound"));
    axum::serve(listener, app).await.expect("serves");
}
