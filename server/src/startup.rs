//! Building and running the application. `main` and the integration tests both go through
//! [`Application::build`], so the tests exercise exactly what production runs.

use std::{
    future::Future,
    net::SocketAddr,
    sync::{Arc, OnceLock},
};

use app::server_fns::{accounts::Accounts, chat::Chat, tasks::Tasks};
use axum::{Router, extract::FromRef, http::header, middleware, routing::get, serve::ListenerExt};
use leptos::{config::LeptosOptions, prelude::*};
use leptos_axum::{AxumRouteListing, LeptosRoutes, ResponseOptions, generate_route_list};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha512};
use tokio::net::TcpListener;
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
    api,
    assistant::{
        Assistant,
        demo::DemoAssistant,
        openai::{OpenAiAssistant, OpenAiSettings},
    },
    auth::{
        AccountService, external::ExternalTokens, hashing::PasswordHasher, rate_limit::RateLimiter,
        service::AccountDeps, tokens::TokenKeys,
    },
    browser::{BrowserAccounts, BrowserChat, BrowserTasks, ConversationListMemo, SignedInMemo},
    chat::ChatService,
    config::{AssistantConfig, Config},
    db::{Database, DbSessionStore},
    export::ExportService,
    mail::Mailer,
    routes, security,
    tasks::TaskService,
    telemetry,
};

/// The one piece of state every handler can reach. Every middleware and handler of every request takes a
/// copy, so a copy is one reference count ([`AppStateInner`] behind an `Arc`), not a dozen.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

pub struct AppStateInner {
    pub config: Arc<Config>,
    pub db: Database,
    pub accounts: AccountService,
    pub chat: ChatService,
    pub tasks: TaskService,
    pub export: ExportService,
    pub leptos_options: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] crate::db::DbError),
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server error")]
    Serve(#[source] std::io::Error),
    #[error("could not set up the assistant")]
    Assistant(#[from] crate::assistant::AssistantError),
    #[error("could not prepare password hashing")]
    Hashing(#[from] crate::auth::hashing::HashingError),
    #[error("could not set up email")]
    Mail(#[from] crate::mail::MailError),
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    db: Database,
}

impl Application {
    /// Opens and migrates the database, binds the listener (port 0 picks a free port) and builds the
    /// router. Nothing is served until [`Application::run_until`].
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let db = Database::connect_with(config.database_url.expose_secret(), &config.database).await?;
        db.migrate().await?;
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .map_err(|source| StartupError::Bind { addr: config.listen_addr, source })?;

        let mut leptos_options = config.leptos_options();
        leptos_options.site_addr = listener.local_addr().map_err(StartupError::Serve)?;
        let accounts = AccountService::new(
            db.clone(),
            AccountDeps {
                hasher: PasswordHasher::new(config.hashing_concurrency)?,
                keys: TokenKeys::new(&config.jwt_secret),
                limiter: RateLimiter::new(db.clone(), config.rate_limits),
                mailer: Mailer::new(&config.mail)?,
                public_url: config.public_url.clone(),
                external: config.external_tokens.as_ref().map(ExternalTokens::new),
            },
        );
        let (assistant, history_chars) = assistant(&config.assistant)?;
        let chat =
            ChatService::new(db.clone(), assistant, history_chars, RateLimiter::new(db.clone(), config.rate_limits));
        let tasks = TaskService::new(db.clone());
        let export = ExportService::new(db.clone());
        let state = AppState(Arc::new(AppStateInner {
            config: Arc::new(config),
            db: db.clone(),
            accounts,
            chat,
            tasks,
            export,
            leptos_options,
        }));
        spawn_housekeeping(db.clone());
        Ok(Application { listener, router: router(state), db })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish and closes the pool.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), StartupError> {
        tracing::info!(addr = %self.local_addr(), "listening");
        // Pages stream in several writes (the shell, then each resolved part). With Nagle's algorithm on,
        // every write after the first waits for the client's ACK of the one before, which a client delays
        // by up to 40 ms: a streamed page took 40 ms however fast it rendered.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        axum::serve(listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(StartupError::Serve)?;
        tracing::info!("shutting down: closing the database pool");
        self.db.close().await;
        Ok(())
    }
}

fn assistant(config: &AssistantConfig) -> Result<(Arc<dyn Assistant>, usize), StartupError> {
    Ok(match config {
        AssistantConfig::Demo { chunk_delay } => (Arc::new(DemoAssistant { chunk_delay: *chunk_delay }), 24_000),
        AssistantConfig::OpenAi { base_url, api_key, model, connect_timeout, idle_timeout, history_chars } => {
            tracing::info!(base_url = %base_url, model = %model, "using an OpenAI-compatible assistant");
            let settings = OpenAiSettings {
                base_url: base_url.clone(),
                api_key: api_key.clone(),
                model: model.clone(),
                connect_timeout: *connect_timeout,
                idle_timeout: *idle_timeout,
            };
            (Arc::new(OpenAiAssistant::new(settings)?), *history_chars)
        }
    })
}

/// The app's page routes, generated once per process.
///
/// Generating them renders the app with resource loading switched off by a process-wide flag
/// (leptos-rs/leptos#4773): a page render that starts meanwhile, in another server built in the same
/// process (the integration tests build one per test), waits forever. One generation avoids that race.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

fn router(state: AppState) -> Router {
    let leptos_routes = page_routes();
    let shell_options = state.leptos_options.clone();
    let pkg_dir = format!("{}/{}", state.leptos_options.site_root, state.leptos_options.site_pkg_dir);

    let pages = Router::new()
        .leptos_routes_with_context(&state, leptos_routes, page_context(&state), move || {
            app::shell(shell_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(page_context(&state), app::shell))
        // The conversation API also takes the browser's session, for the chat page's streamed replies.
        .nest("/api/v1", api::router(state.config.max_body_bytes, &state.config.cors_origins))
        .layer(session_layer(&state.config, &state.db))
        .layer(middleware::from_fn(crate::error::session_store_outage))
        .layer(middleware::from_fn(routes::page_redirect::real_redirects_for_pages));

    // The bundle's file names do not change between builds, so browsers must revalidate them.
    let assets = Router::new()
        .nest_service("/pkg", ServeDir::new(pkg_dir).precompressed_br().precompressed_gzip())
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, header::HeaderValue::from_static("no-cache")));

    // The Model Context Protocol endpoint for the user's own agents: bearer token only, no session.
    let mcp = Router::new()
        .nest_service("/mcp", crate::mcp::service(state.db.clone()))
        .layer(middleware::from_fn_with_state(state.clone(), crate::mcp::require_bearer));

    Router::new()
        .route("/health", get(routes::health::health))
        .merge(assets)
        .merge(mcp)
        .merge(pages)
        .layer(middleware::from_fn_with_state(state.clone(), security::csrf_guard))
        .layer(middleware::from_fn_with_state(state.clone(), security::limit_body_size))
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
    axum::response::IntoResponse::into_response(crate::error::ApiError::Internal)
}

/// What every page render and server function gets: the accounts port, and a Content-Security-Policy
/// carrying the nonce Leptos put on this response's scripts.
fn page_context(state: &AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let accounts: Accounts =
        Arc::new(BrowserAccounts { accounts: state.accounts.clone(), trust_proxy: state.config.trust_proxy });
    let chat: Chat = Arc::new(BrowserChat { chat: state.chat.clone(), accounts: state.accounts.clone() });
    let tasks: Tasks = Arc::new(BrowserTasks { tasks: state.tasks.clone(), accounts: state.accounts.clone() });
    let reload_port = (!state.config.is_production()).then_some(state.config.reload_port);
    move || {
        provide_context(accounts.clone());
        provide_context(chat.clone());
        provide_context(tasks.clone());
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

/// Hourly removal of expired sessions, refresh tokens and rate-limit windows.
fn spawn_housekeeping(db: Database) {
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            if db.is_closed() {
                break;
            }
            if let Err(error) = db.delete_expired_rows().await {
                tracing::warn!(error = %crate::error::error_chain(&error), "housekeeping failed");
            }
        }
    });
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what process managers and orchestrators send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received");
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
