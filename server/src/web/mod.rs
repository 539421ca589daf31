//! The ways in: the JSON API, the pages' server functions, `/mcp` and `/health`, each over the services,
//! with the request identity, the error shapes and the HTTP protections they share. [`router`] puts them
//! together; nothing below this floor knows about HTTP.

pub mod api;
pub mod error;
pub mod health;
pub mod identity;
pub mod mcp;
pub mod page_redirect;
pub mod pages;
pub mod security;
mod state;

pub use state::{AppState, AppStateInner};

use std::sync::{Arc, OnceLock};

use app::server_fns::{accounts::Accounts, chat::Chat, imports::Imports, tasks::Tasks};
use axum::{Router, http::header, middleware, routing::get};
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes, ResponseOptions, generate_route_list};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha512};
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};
use tower_sessions::{
    Expiry, SessionManagerLayer,
    cookie::{Key, SameSite},
};

use crate::{
    db::{Database, DbSessionStore},
    support::{config::Config, telemetry},
};
use pages::{BrowserAccounts, BrowserChat, BrowserImports, BrowserTasks, ConversationListMemo, SignedInMemo};

/// The app's page routes, generated once per process.
///
/// Generating them renders the app with resource loading switched off by a process-wide flag
/// (leptos-rs/leptos#4773): a page render that starts meanwhile, in another server built in the same
/// process (the integration tests build one per test), waits forever. One generation avoids that race.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

/// Every route of the app, its middleware and its state.
pub fn router(state: AppState) -> Router {
    let leptos_routes = page_routes();
    let shell_options = state.leptos_options.clone();
    let pkg_dir = format!("{}/{}", state.leptos_options.site_root, state.leptos_options.site_pkg_dir);

    let pages = Router::new()
        .leptos_routes_with_context(&state, leptos_routes, page_context(&state), move || {
            app::shell(shell_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(page_context(&state), app::shell))
        // The account page's import form: a streamed multipart upload, so a route of its own, without
        // axum's 2 MB limit for multipart bodies (the import counts against PARLEY_MAX_IMPORT_BYTES).
        .route(
            "/account/import",
            axum::routing::post(pages::imports::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        // The conversation API also takes the browser's session, for the chat page's streamed replies.
        .nest("/api/v1", api::router(state.config.max_body_bytes, &state.config.cors_origins))
        .layer(session_layer(&state.config, &state.db))
        .layer(middleware::from_fn(error::session_store_outage))
        .layer(middleware::from_fn(page_redirect::real_redirects_for_pages));

    // The bundle's file names do not change between builds, so browsers must revalidate them.
    let assets = Router::new()
        .nest_service("/pkg", ServeDir::new(pkg_dir).precompressed_br().precompressed_gzip())
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, header::HeaderValue::from_static("no-cache")));

    // The Model Context Protocol endpoint for the user's own agents: bearer token only, no session.
    let mcp = Router::new()
        .nest_service("/mcp", mcp::service(state.chat.clone()))
        .layer(middleware::from_fn_with_state(state.clone(), mcp::require_bearer));

    Router::new()
        .route("/health", get(health::health))
        .merge(assets)
        .merge(mcp)
        .merge(pages)
        .layer(middleware::from_fn_with_state(state.clone(), security::refuse_nul_text))
        .layer(middleware::from_fn_with_state(state.clone(), security::csrf_guard))
        .layer(middleware::from_fn_with_state(state.clone(), security::limit_body_size))
        .layer(middleware::from_fn_with_state(state.clone(), health::until_ready))
        .layer(middleware::from_fn_with_state(state.clone(), security::security_headers))
        .with_state(state)
        // A bug must cost one request a clear 500, never the connection without an answer.
        .layer(CatchPanicLayer::custom(panic_response))
        // Layers run bottom-up on the way in: the id is set first, so the trace span can record it.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    // The panic message itself is printed by the panic hook; it may hold request data, so it is not echoed.
    tracing::error!("a request handler panicked");
    axum::response::IntoResponse::into_response(error::ApiError::Internal)
}

/// What every page render and server function gets: the accounts port, and a Content-Security-Policy
/// carrying the nonce Leptos put on this response's scripts.
fn page_context(state: &AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let accounts: Accounts =
        Arc::new(BrowserAccounts { accounts: state.accounts.clone(), trust_proxy: state.config.trust_proxy });
    let chat: Chat = Arc::new(BrowserChat {
        chat: state.chat.clone(),
        accounts: state.accounts.clone(),
        insights: state.insights.clone(),
    });
    let tasks: Tasks = Arc::new(BrowserTasks { tasks: state.tasks.clone(), accounts: state.accounts.clone() });
    let imports: Imports =
        Arc::new(BrowserImports { imports: state.imports.clone(), accounts: state.accounts.clone() });
    let reload_port = (!state.config.is_production()).then_some(state.config.reload_port);
    let signup = app::server_fns::accounts::SignupSettings { terms_url: state.config.terms_url.clone() };
    move || {
        provide_context(accounts.clone());
        provide_context(signup.clone());
        provide_context(chat.clone());
        provide_context(tasks.clone());
        provide_context(imports.clone());
        provide_context(SignedInMemo::default());
        provide_context(ConversationListMemo::default());
        if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<ResponseOptions>())
            && let Ok(value) = header::HeaderValue::from_str(&security::page_csp(&nonce, reload_port))
        {
            response.insert_header(header::CONTENT_SECURITY_POLICY, value);
        }
    }
}

fn session_layer(
    config: &Config,
    db: &Database,
) -> SessionManagerLayer<DbSessionStore, tower_sessions::service::SignedCookie> {
    // The cookie signing key is derived from SESSION_SECRET (64 bytes, as the signer needs).
    let key = Key::from(&Sha512::digest(config.session_secret.expose_secret().as_bytes()));
    SessionManagerLayer::new(DbSessionStore::new(db.clone()))
        .with_name(security::SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.is_production())
        .with_expiry(Expiry::OnInactivity(time::Duration::days(i64::from(config.session_ttl_days))))
        // Saving on every request that has a session keeps the expiry rolling.
        .with_always_save(true)
        .with_signed(key)
}

#[cfg(test)]
mod tests {
    use axum::{Router, body::Body, http::Request, routing::get};
    use tower::ServiceExt;
    use tower_http::catch_panic::CatchPanicLayer;

    use super::panic_response;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_the_error_shape() {
        let router: Router = Router::new()
            .route(
                "/",
                get(|| async {
                    if true {
                        panic!("a bug")
                    }
                }),
            )
            .layer(CatchPanicLayer::custom(panic_response));

        let response = router.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();

        assert_eq!(response.status(), 500);
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "internal_error");
        assert!(!body.to_string().contains("a bug"), "the panic message is not echoed");
    }
}
