//! `/mcp` with a real Model Context Protocol client (rmcp's, over Streamable HTTP): initialize, list the
//! tools, add a task and list it back, as the token's user only; no token, no protocol.

use rmcp::{
    ServiceExt,
    model::CallToolRequestParams,
    transport::{StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig},
};
use serde_json::{Value, json};

use crate::helpers::{error_code, spawn_app};

async fn client_for(url: String, token: &str) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).auth_header(token),
    );
    ().serve(transport).await.expect("the MCP handshake succeeds")
}

fn arguments(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().cloned().unwrap()
}

/// The JSON a tool answered, from its text content.
fn answer(result: &rmcp::model::CallToolResult) -> Value {
    let text = result.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone()).expect("a text answer");
    serde_json::from_str(&text).expect("the answer is JSON")
}

#[tokio::test]
async fn an_mcp_client_lists_the_tools_and_manages_the_users_tasks() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let other = app.new_user_token().await;
    let client = client_for(app.url("/mcp"), &token).await;

    let info = client.peer_info().expect("the server introduced itself");
    assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("parley"));
    let mut names: Vec<String> =
        client.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        ["add_task", "complete_task", "delete_task", "list_tasks", "search_conversations", "update_task"]
    );

    let added = client
        .call_tool(
            CallToolRequestParams::new("add_task").with_arguments(arguments(json!({ "title": "Review the MCP spec" }))),
        )
        .await
        .unwrap();
    assert_eq!(added.is_error, Some(false));
    assert_eq!(answer(&added)["title"], "Review the MCP spec");
    let listed = client.call_tool(CallToolRequestParams::new("list_tasks")).await.unwrap();
    assert_eq!(answer(&listed)["tasks"][0]["title"], "Review the MCP spec");

    // The same task through the JSON API: it is the token's user's, and only theirs.
    let mine: Value = app.get_authed("/api/v1/tasks", &token).await.json().await.unwrap();
    assert_eq!(mine["tasks"].as_array().unwrap().len(), 1);
    let theirs = client_for(app.url("/mcp"), &other).await;
    let empty = theirs.call_tool(CallToolRequestParams::new("list_tasks")).await.unwrap();
    assert_eq!(answer(&empty)["tasks"], json!([]));
    let id = answer(&added)["id"].as_str().unwrap().to_owned();
    let refused = theirs
        .call_tool(CallToolRequestParams::new("complete_task").with_arguments(arguments(json!({ "id": id }))))
        .await
        .unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert_eq!(answer(&refused), json!({ "error": "No such task." }));

    client.cancel().await.ok();
    theirs.cancel().await.ok();
}

#[tokio::test]
async fn mcp_without_a_valid_token_is_401() {
    let app = spawn_app().await;
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": { "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "curl", "version": "1" } }
    });
    let client = reqwest::Client::new();
    for auth in [None, Some("Bearer not.a.token")] {
        let mut request =
            client.post(app.url("/mcp")).header("Accept", "application/json, text/event-stream").json(&initialize);
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        assert_eq!(error_code(request.send().await.unwrap(), 401).await, "unauthorized", "{auth:?}");
    }
}

/// Issue 21, finding 5: the body limit holds for every transfer encoding, and a body that is not JSON gets
/// a JSON-RPC error, not a plain-text answer.
#[tokio::test]
async fn mcp_bounds_chunked_bodies_and_answers_malformed_json_in_the_protocols_shape() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let post = |body: reqwest::Body| {
        app.client
            .post(app.url("/mcp"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body)
            .send()
    };
    // 1 MiB in chunks, no Content-Length.
    let chunks = futures_util::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(vec![b' '; 16 * 1024])));
    let big = post(reqwest::Body::wrap_stream(chunks)).await.unwrap();
    assert_eq!(error_code(big, 413).await, "payload_too_large");

    let malformed = post("{\"jsonrpc\": \"2.0\", \"method\": ".into()).await.unwrap();
    assert_eq!(malformed.status(), 400);
    let body: Value = malformed.json().await.expect("a JSON body");
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["error"]["code"], -32700);
}
