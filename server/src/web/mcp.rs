//! `/mcp`: the assistant's tools for a user's own agents (desktop assistants, IDEs), over the Model Context
//! Protocol's Streamable HTTP transport (the official `rmcp` SDK).
//!
//! - **Authentication** is the API's: every request carries the user's bearer token, checked by
//!   [`require_bearer`] before the protocol sees it (`401` without one, the API's error shape). The user's
//!   id rides in the request's extensions, which rmcp hands to each call.
//! - **Stateless**: no MCP session is kept in memory, so any instance behind the load balancer can answer
//!   any request, as for the rest of the API.
//! - The tools are `crate::services::tools`, the same ones the chat's assistant calls, scoped to the token's user.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, InitializeResult,
        ListToolsResult, PaginatedRequestParams, ServerCapabilities, Tool,
    },
    service::RequestContext,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    services::{assistant::ToolBox, chat::ChatService, tools::specs},
    web::{AppState, error::ApiError, identity::BearerUser},
};

/// The user a request to `/mcp` acts for, put there by [`require_bearer`].
#[derive(Clone, Copy, Debug)]
pub struct McpUser(pub Uuid);

/// Refuses a request without a valid bearer token (`401 unauthorized`), as every API route does. Then
/// reads the body, whatever its transfer encoding, up to the API's limit (`413 payload_too_large`
/// beyond), and answers a body that is not JSON with a JSON-RPC error, before the protocol sees it.
pub async fn require_bearer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    match <BearerUser as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &state).await {
        Ok(auth) => {
            parts.extensions.insert(McpUser(auth.user.id));
        }
        Err(error) => return error.into_response(),
    }
    let Ok(bytes) = axum::body::to_bytes(body, state.config.max_body_bytes).await else {
        return ApiError::PayloadTooLarge.into_response();
    };
    if parts.method == axum::http::Method::POST {
        let json_type = parts
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !json_type {
            return json_rpc_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                -32600,
                "Send JSON-RPC messages as application/json.",
            );
        }
        if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
            return json_rpc_error(StatusCode::BAD_REQUEST, -32700, "Parse error: the body is not valid JSON.");
        }
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

/// A JSON-RPC error response with no request id (the request could not be read), as MCP clients expect.
fn json_rpc_error(status: StatusCode, code: i32, message: &str) -> Response {
    let body = serde_json::json!({ "jsonrpc": "2.0", "id": null, "error": { "code": code, "message": message } });
    (status, axum::Json(body)).into_response()
}

/// The protocol service, to nest at `/mcp` behind [`require_bearer`].
pub fn service(chat: ChatService) -> StreamableHttpService<ParleyMcp, LocalSessionManager> {
    // Host checks guard a server on a developer's machine against DNS rebinding; here every request must
    // carry a bearer token, and behind a proxy the host is whatever the deployment is called.
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .disable_allowed_hosts();
    StreamableHttpService::new(
        move || Ok(ParleyMcp { chat: chat.clone() }),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

#[derive(Clone)]
pub struct ParleyMcp {
    /// The tools come from the chat service, bound to the request's user: the same ones the assistant has.
    chat: ChatService,
}

impl ParleyMcp {
    fn user(context: &RequestContext<RoleServer>) -> Result<Uuid, ErrorData> {
        context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<McpUser>())
            .map(|user| user.0)
            .ok_or_else(|| ErrorData::invalid_request("no signed-in user", None))
    }
}

impl ServerHandler for ParleyMcp {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("parley", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Parley: the signed-in user's tasks, and search over their conversations with the assistant.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Self::user(&context)?;
        let tools = specs()
            .into_iter()
            .map(|spec| {
                let schema = match spec.parameters {
                    Value::Object(schema) => schema,
                    _ => Default::default(),
                };
                Tool::new(spec.name, spec.description, schema)
            })
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let user = Self::user(&context)?;
        if !specs().iter().any(|spec| spec.name == request.name) {
            return Err(ErrorData::invalid_params(format!("there is no tool called {}", request.name), None));
        }
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        let result = self.chat.tools_for(user).call(&request.name, &arguments).await;
        let text = ContentBlock::text(result.to_string());
        let outcome = if result.get("error").is_some() {
            CallToolResult::error(vec![text])
        } else {
            CallToolResult::success(vec![text])
        };
        Ok(outcome.into())
    }
}
