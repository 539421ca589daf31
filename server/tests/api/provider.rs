//! The OpenAI-compatible assistant against a fake chat-completions server on loopback.

use std::{convert::Infallible, net::SocketAddr, time::Duration};

use axum::{Router, body::Body, extract::Path, http::StatusCode, response::Response, routing::post};
use futures_util::stream;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{error_code, spawn_app_with};

fn chunk(text: &str) -> String {
    format!("data: {}\n\n", json!({ "choices": [{ "delta": { "content": text } }] }))
}

/// `/{behaviour}/v1/chat/completions` answers as the behaviour says.
async fn fake_completions(Path(behaviour): Path<String>, body: String) -> Response {
    let request: Value = serde_json::from_str(&body).unwrap_or_default();
    let last = request["messages"].as_array().and_then(|m| m.last()).cloned().unwrap_or_default();
    // An assessment (insights): one JSON answer, not a stream. "ok" answers the JSON asked for; every other
    // behaviour answers in prose, as a model that ignores JSON mode does.
    if request["stream"] == false {
        let content = match behaviour.as_str() {
            "ok" => json!({ "chat_score": 72, "summary": "  Going fine.  " }).to_string(),
            _ => "I would rather not put a number on it.".to_owned(),
        };
        let answer = json!({ "choices": [{ "message": { "role": "assistant", "content": content } }] });
        return Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(answer.to_string()))
            .unwrap();
    }
    let streamed = |parts: Vec<String>, pause: Duration| {
        let body = stream::unfold(parts.into_iter(), move |mut parts| async move {
            let part = parts.next()?;
            tokio::time::sleep(pause).await;
            Some((Ok::<_, Infallible>(part), parts))
        });
        Response::builder().header("content-type", "text/event-stream").body(Body::from_stream(body)).unwrap()
    };
    match behaviour.as_str() {
        "ok" => {
            let echo = format!("You said {}", last["content"].as_str().unwrap_or(""));
            let mut parts: Vec<String> =
                vec![format!("data: {}\n\n", json!({ "choices": [{ "delta": { "role": "assistant" } }] }))];
            parts.extend(echo.split_inclusive(' ').map(chunk));
            parts.push("data: [DONE]\n\n".to_owned());
            streamed(parts, Duration::from_millis(5))
        }
        // Describes the first message it was given: where custom instructions must be.
        "first" => {
            let first = request["messages"].as_array().and_then(|m| m.first()).cloned().unwrap_or_default();
            let text =
                format!("First {}: {}", first["role"].as_str().unwrap_or("?"), first["content"].as_str().unwrap_or(""));
            streamed(vec![chunk(&text), "data: [DONE]\n\n".to_owned()], Duration::from_millis(1))
        }
        // Function calling: the tools this behaviour calls in its first answer, then (once results are
        // back) an answer in words quoting them; "tools-forever" never stops calling.
        tools if tools.starts_with("tools-") => {
            let messages = request["messages"].as_array().cloned().unwrap_or_default();
            let results: Vec<String> = messages
                .iter()
                .filter(|m| m["role"] == "tool")
                .map(|m| m["content"].as_str().unwrap_or("").to_owned())
                .collect();
            let offered = request["tools"].as_array().map_or(0, Vec::len);
            let calls: Vec<(&str, &str)> = match tools {
                "tools-one" => vec![("add_task", r#"{"title": "Buy oat milk"}"#)],
                "tools-two" => vec![("add_task", r#"{"title": "Water the tomatoes"}"#), ("list_tasks", "{}")],
                "tools-error" => vec![("complete_task", r#"{"id": "not-a-task"}"#)],
                _ => vec![("list_tasks", r#"{"completed": false}"#)],
            };
            let mut parts = Vec::new();
            if results.is_empty() || tools == "tools-forever" {
                for (index, (name, arguments)) in calls.iter().enumerate() {
                    let head = json!({ "index": index, "id": format!("call_{index}"), "type": "function", "function": { "name": name, "arguments": "" } });
                    parts.push(format!("data: {}\n\n", json!({ "choices": [{ "delta": { "tool_calls": [head] } }] })));
                    // The arguments arrive in two pieces, as real servers split them.
                    let (a, b) = arguments.split_at(arguments.len() / 2);
                    for piece in [a, b] {
                        let more = json!({ "index": index, "function": { "arguments": piece } });
                        parts.push(format!(
                            "data: {}\n\n",
                            json!({ "choices": [{ "delta": { "tool_calls": [more] } }] })
                        ));
                    }
                }
                parts.push(format!(
                    "data: {}\n\n",
                    json!({ "choices": [{ "delta": {}, "finish_reason": "tool_calls" }] })
                ));
            } else {
                parts.push(chunk(&format!(
                    "Saw {} results of {offered} tools: {}",
                    results.len(),
                    results.join(" | ")
                )));
            }
            parts.push("data: [DONE]\n\n".to_owned());
            streamed(parts, Duration::from_millis(1))
        }
        "error" => Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).body(Body::from("boom")).unwrap(),
        "stall" => streamed(vec![chunk("Thinking"), chunk(" slowly")], Duration::from_secs(3)),
        "garbage" => {
            streamed(vec![chunk("Fine so far"), "data: {this is not json\n\n".to_owned()], Duration::from_millis(5))
        }
        _ => Response::builder().status(StatusCode::NOT_FOUND).body(Body::empty()).unwrap(),
    }
}

async fn fake_provider() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route("/{behaviour}/v1/chat/completions", post(fake_completions));
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// Sends one message through an app whose assistant behaves as `behaviour`; returns the response and the
/// conversation's stored messages afterwards.
async fn send_with(behaviour: &str, content: &str) -> (reqwest::StatusCode, Value, Vec<Value>) {
    let provider = fake_provider().await;
    let base_url = format!("http://{provider}/{behaviour}/v1");
    let app = spawn_app_with(&[
        ("ASSISTANT_BASE_URL", &base_url),
        ("ASSISTANT_MODEL", "fake-model"),
        ("ASSISTANT_API_KEY", "sk-test"),
        ("ASSISTANT_IDLE_TIMEOUT_SECS", "1"),
    ])
    .await;
    let token = app.new_user_token().await;
    let id = app.new_conversation(&token).await;
    let path = format!("/api/v1/conversations/{id}/messages");
    let response = app.send_authed(Method::POST, &path, &token, Some(&json!({ "content": content }))).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    let history: Value = app.get_authed(&path, &token).await.json().await.unwrap();
    (status, body, history["messages"].as_array().unwrap().clone())
}

#[tokio::test]
async fn streamed_chunks_become_the_stored_reply() {
    let (status, body, stored) = send_with("ok", "hello model").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["reply"]["content"], "You said hello model");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1]["content"], "You said hello model");
}

#[tokio::test]
async fn a_provider_failure_is_reported_and_keeps_the_users_message() {
    for behaviour in ["error", "stall", "garbage"] {
        let (status, body, stored) = send_with(behaviour, "please keep me").await;
        assert_eq!(status, 502, "{behaviour}: {body}");
        assert_eq!(body["error"]["code"], "assistant_unavailable", "{behaviour}");
        assert!(body["error"]["message"].as_str().unwrap().contains("Your message was saved"), "{behaviour}");
        assert_eq!(stored.len(), 1, "{behaviour}: only the user's message is stored");
        assert_eq!(stored[0]["content"], "please keep me", "{behaviour}");
    }
}

#[tokio::test]
async fn after_a_failure_the_reply_can_be_retried() {
    let provider = fake_provider().await;
    let app = spawn_app_with(&[
        ("ASSISTANT_BASE_URL", &format!("http://{provider}/error/v1")),
        ("ASSISTANT_MODEL", "fake-model"),
    ])
    .await;
    let token = app.new_user_token().await;
    let id = app.new_conversation(&token).await;
    let path = format!("/api/v1/conversations/{id}/messages");
    let failed = app.send_authed(Method::POST, &path, &token, Some(&json!({ "content": "again?" }))).await;
    assert_eq!(error_code(failed, 502).await, "assistant_unavailable");

    let retried = app.send_authed(Method::POST, &format!("/api/v1/conversations/{id}/reply"), &token, None).await;
    assert_eq!(
        error_code(retried, 502).await,
        "assistant_unavailable",
        "the fake still fails, but the retry is accepted"
    );
    let history: Value = app.get_authed(&path, &token).await.json().await.unwrap();
    assert_eq!(history["messages"].as_array().unwrap().len(), 1, "retrying never duplicates the user's message");
}

#[tokio::test]
async fn custom_instructions_arrive_as_the_system_message() {
    let provider = fake_provider().await;
    let base_url = format!("http://{provider}/first/v1");
    let app = spawn_app_with(&[
        ("ASSISTANT_BASE_URL", &base_url),
        ("ASSISTANT_MODEL", "fake-model"),
        ("ASSISTANT_API_KEY", "sk-test"),
    ])
    .await;
    let token = app.new_user_token().await;
    let id = app.new_conversation(&token).await;
    let path = format!("/api/v1/conversations/{id}/messages");

    let plain = app.send_authed(Method::POST, &path, &token, Some(&json!({ "content": "hello" }))).await;
    let plain: Value = plain.json().await.unwrap();
    assert_eq!(plain["reply"]["content"], "First user: hello", "no instructions, no system message");

    let me = app
        .send_authed(
            Method::PATCH,
            "/api/v1/me",
            &token,
            Some(&json!({ "instructions": "  I grow tomatoes; answer briefly.  " })),
        )
        .await;
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["instructions"], "I grow tomatoes; answer briefly.");
    let instructed = app.send_authed(Method::POST, &path, &token, Some(&json!({ "content": "again" }))).await;
    let instructed: Value = instructed.json().await.unwrap();
    assert_eq!(instructed["reply"]["content"], "First system: I grow tomatoes; answer briefly.");
}

/// Sends `content` through an app whose model behaves as `behaviour`; returns the token, the reply, and
/// the app (to look at the user's tasks).
async fn ask_with_tools(behaviour: &str, content: &str) -> (crate::helpers::TestApp, String, Value) {
    let provider = fake_provider().await;
    let base_url = format!("http://{provider}/{behaviour}/v1");
    let app = spawn_app_with(&[
        ("ASSISTANT_BASE_URL", &base_url),
        ("ASSISTANT_MODEL", "fake-model"),
        ("ASSISTANT_API_KEY", "sk-test"),
    ])
    .await;
    let token = app.new_user_token().await;
    let id = app.new_conversation(&token).await;
    let path = format!("/api/v1/conversations/{id}/messages");
    let response = app.send_authed(Method::POST, &path, &token, Some(&json!({ "content": content }))).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    // The history holds the same reply, tool calls included.
    let history: Value = app.get_authed(&path, &token).await.json().await.unwrap();
    assert_eq!(history["messages"][1], body["reply"], "the stored reply is the one returned");
    (app, token, body["reply"].clone())
}

async fn task_titles(app: &crate::helpers::TestApp, token: &str) -> Vec<String> {
    let tasks: Value = app.get_authed("/api/v1/tasks", token).await.json().await.unwrap();
    tasks["tasks"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_tool_call_is_run_for_the_user_and_its_result_sent_back() {
    let (app, token, reply) = ask_with_tools("tools-one", "remember to buy milk").await;
    assert_eq!(task_titles(&app, &token).await, ["Buy oat milk"]);
    let calls = reply["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["name"], "add_task");
    assert_eq!(calls[0]["arguments"], json!({ "title": "Buy oat milk" }), "arguments reassembled from their pieces");
    assert_eq!(calls[0]["result"]["title"], "Buy oat milk");
    let text = reply["content"].as_str().unwrap();
    assert!(text.starts_with("Saw 1 results of 6 tools: "), "{text}");
    assert!(text.contains(r#""title":"Buy oat milk""#), "the model got the result: {text}");
}

#[tokio::test]
async fn two_tool_calls_in_one_answer_run_in_order() {
    let (app, token, reply) = ask_with_tools("tools-two", "plan my day").await;
    let names: Vec<&str> =
        reply["tool_calls"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["add_task", "list_tasks"]);
    assert_eq!(
        reply["tool_calls"][1]["result"]["tasks"][0]["title"], "Water the tomatoes",
        "the second saw the first's work"
    );
    assert!(reply["content"].as_str().unwrap().starts_with("Saw 2 results"), "{}", reply["content"]);
    assert_eq!(task_titles(&app, &token).await, ["Water the tomatoes"]);
}

#[tokio::test]
async fn a_failing_tool_reports_its_error_to_the_model_and_the_reply_goes_on() {
    let (_app, _token, reply) = ask_with_tools("tools-error", "finish it").await;
    let call = &reply["tool_calls"][0];
    assert_eq!(call["name"], "complete_task");
    assert_eq!(call["result"], json!({ "error": "No such task." }));
    assert!(reply["content"].as_str().unwrap().contains("No such task."), "{}", reply["content"]);
}

#[tokio::test]
async fn a_model_that_never_stops_calling_tools_is_stopped_after_the_round_limit() {
    let (_app, _token, reply) = ask_with_tools("tools-forever", "loop").await;
    let rounds = parley::services::assistant::openai::MAX_TOOL_ROUNDS;
    assert_eq!(reply["tool_calls"].as_array().unwrap().len(), rounds);
    let text = reply["content"].as_str().unwrap();
    assert!(text.contains(&format!("stopped after {rounds} rounds")), "{text}");
}

/// Issue 23: a model scores a range in JSON mode; an answer that is not the JSON asked for fails the analysis
/// after its retries, with a clear error kept.
#[tokio::test]
async fn a_model_scores_analyses_in_json_and_a_malformed_answer_fails_them_clearly() {
    let provider = fake_provider().await;
    for (behaviour, state) in [("ok", "done"), ("first", "failed")] {
        let base_url = format!("http://{provider}/{behaviour}/v1");
        let app = spawn_app_with(&[
            ("ASSISTANT_BASE_URL", &base_url),
            ("ASSISTANT_MODEL", "fake-model"),
            ("ASSISTANT_IDLE_TIMEOUT_SECS", "2"),
            ("PARLEY_ANALYSIS_EVERY", "0"),
            ("PARLEY_JOB_RETRY_BASE_MS", "5"),
        ])
        .await;
        let token = app.new_user_token().await;
        let id = app.new_conversation(&token).await;
        app.say(&token, &id, "How is this going?").await;
        let path = format!("/api/v1/conversations/{id}/analyses");
        let queued = app.send_authed(Method::POST, &path, &token, Some(&json!({}))).await;
        assert_eq!(queued.status(), 202);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let analysis = loop {
            let body: Value = app.get_authed(&path, &token).await.json().await.unwrap();
            let first = body["analyses"][0].clone();
            if first["state"] == "done" || first["state"] == "failed" {
                break first;
            }
            assert!(std::time::Instant::now() < deadline, "{behaviour}: never finished: {body}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        assert_eq!(analysis["state"], state, "{behaviour}: {analysis}");
        if state == "done" {
            assert_eq!(
                (analysis["chat_score"].as_i64(), analysis["summary"].as_str()),
                (Some(72), Some("Going fine."))
            );
        } else {
            assert!(analysis["chat_score"].is_null());
            let errors = crate::helpers::sql_texts(&app.db_url, "SELECT error FROM analyses").await;
            assert!(errors[0].contains("not the JSON asked for"), "{errors:?}");
            let attempts = crate::helpers::sql(
                &app.db_url,
                "SELECT CAST(max(attempts) AS BIGINT) FROM jobs WHERE state = 'failed'",
            )
            .await;
            assert_eq!(attempts, Some(5), "retried, then given up");
        }
    }
}
