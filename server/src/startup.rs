//! Building and running the application. `main` and the integration tests both go through
//! [`Application::build`], so the tests exercise exactly what production runs.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, serve::ListenerExt};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::{
    db::Database,
    services::{
        accounts::{
            AccountService, external::ExternalTokens, hashing::PasswordHasher, rate_limit::RateLimiter,
            service::AccountDeps, tokens::TokenKeys,
        },
        assistant::{
            Assistant,
            demo::DemoAssistant,
            openai::{OpenAiAssistant, OpenAiSettings},
        },
        chat::{ChatDeps, ChatService},
        export::ExportService,
        imports::{ImportService, ImportSettings, JOB_KIND as IMPORT_JOB, ZipLimits},
        insights::{
            ANALYSIS_JOB_KIND, InsightService, InsightSettings,
            webhooks::{WEBHOOK_JOB, WebhookSender, Webhooks},
        },
        jobs::{JobQueue, JobSettings, Worker},
        mail::{MAIL_JOB, Mailer},
        tasks::TaskService,
    },
    support::{
        config::{AssistantConfig, Config},
        readiness::Readiness,
    },
    web::{AppState, AppStateInner, router},
};

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
    Assistant(#[from] crate::services::assistant::AssistantError),
    #[error("could not prepare password hashing")]
    Hashing(#[from] crate::services::accounts::hashing::HashingError),
    #[error("could not set up email")]
    Mail(#[from] crate::services::mail::MailError),
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    db: Database,
    ready: Readiness,
}

impl Application {
    /// Binds the listener (port 0 picks a free port), builds the router, and starts bringing the database
    /// up in the background: reaching it and migrating it, retried with backoff for as long as it takes,
    /// so an instance whose database is away starts anyway, answers 503 and `/health` says so, and it serves
    /// once the database is there, without a restart. Only a malformed `DATABASE_URL` fails here. Nothing
    /// is served until [`Application::run_until`].
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let db =
            Database::open(config.database_url.expose_secret(), &config.database)?.with_at_rest(config.at_rest.clone());
        let ready = Readiness::default();
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .map_err(|source| StartupError::Bind { addr: config.listen_addr, source })?;

        let mut leptos_options = config.leptos_options();
        leptos_options.site_addr = listener.local_addr().map_err(StartupError::Serve)?;
        let queue = JobQueue::new(db.clone());
        let mailer = Mailer::new(&config.mail, queue.clone())?;
        let accounts = AccountService::new(
            db.clone(),
            AccountDeps {
                hasher: PasswordHasher::new(config.hashing_concurrency)?,
                keys: TokenKeys::new(&config.jwt_secret),
                limiter: RateLimiter::new(db.clone(), config.rate_limits),
                mailer: mailer.clone(),
                public_url: config.public_url.clone(),
                external: config.external_tokens.as_ref().map(ExternalTokens::new),
                terms_required: config.terms_url.is_some(),
            },
        );
        let (assistant, history_chars) = assistant(&config.assistant)?;
        let tasks = TaskService::new(db.clone());
        let limiter = RateLimiter::new(db.clone(), config.rate_limits);
        let insights_config = &config.insights;
        let run_jobs = insights_config.run_jobs;
        let webhook =
            insights_config.webhook.as_ref().and_then(|w| WebhookSender::new(&w.url, w.secret.expose_secret()));
        let insights = InsightService::new(
            db.clone(),
            queue.clone(),
            assistant.clone(),
            InsightSettings { every: insights_config.every, flag_below: insights_config.flag_below },
            webhook.is_some().then(|| Webhooks::new(queue.clone())),
        );
        let imports = ImportService::new(
            db.clone(),
            queue.clone(),
            ImportSettings {
                max_bytes: config.max_import_bytes,
                spool_dir: std::env::temp_dir(),
                // A JSON export deflates about tenfold; a zip bomb a thousandfold.
                zip: ZipLimits { max_expanded_bytes: config.max_import_bytes.saturating_mul(20), max_ratio: 200 },
            },
        );
        let mut worker = Worker::new(
            queue.clone(),
            JobSettings {
                retry_base: insights_config.job_retry_base,
                lease: insights_config.job_lease,
                poll: Duration::from_secs(1),
            },
        )
        .handle(MAIL_JOB, Arc::new(mailer))
        .handle(ANALYSIS_JOB_KIND, Arc::new(insights.clone()))
        .handle(IMPORT_JOB, Arc::new(imports.clone()));
        if let Some(sender) = webhook {
            worker = worker.handle(WEBHOOK_JOB, Arc::new(sender));
        }
        let chat = ChatService::new(
            db.clone(),
            ChatDeps { assistant, history_chars, limiter, tasks: tasks.clone(), insights: insights.clone() },
        );
        let export = ExportService::new(db.clone());
        let state = AppState::new(AppStateInner {
            config: Arc::new(config),
            db: db.clone(),
            accounts,
            chat,
            tasks,
            export,
            insights,
            imports,
            leptos_options,
            ready: ready.clone(),
        });
        tokio::spawn(bring_up(db.clone(), ready.clone(), run_jobs.then_some(worker)));
        Ok(Application { listener, router: router(state), db, ready })
    }

    /// Completes once the database has answered and been migrated and requests are served.
    pub fn readiness(&self) -> Readiness {
        self.ready.clone()
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

/// Reaches the database and migrates it, again and again with growing pauses (up to 5 s) until both
/// succeed, whatever the reason they fail: a server not up yet, a password not changed yet, a database not
/// created yet. Each failure is logged with its cause. Then the instance is ready, and the work that needs
/// the database (housekeeping, the job worker) starts.
async fn bring_up(db: Database, ready: Readiness, worker: Option<Worker>) {
    const LONGEST_PAUSE: Duration = Duration::from_secs(5);
    let mut pause = Duration::from_millis(100);
    loop {
        if db.is_closed() {
            return; // shut down before the database ever came
        }
        match db.reach().await {
            Ok(()) => match db.migrate().await {
                Ok(()) => break,
                Err(error) => tracing::error!(
                    error = %crate::support::error_chain(&error),
                    "could not migrate the database; retrying"
                ),
            },
            Err(unreached) => tracing::warn!(
                database = %unreached.target,
                cause = %unreached.cause,
                "database not reachable; serving 503 until it is"
            ),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
    ready.set_ready();
    tracing::info!("database reached and migrated; serving");
    spawn_housekeeping(db);
    if let Some(worker) = worker {
        worker.spawn();
    }
}

/// Hourly removal of expired sessions, refresh tokens and rate-limit windows.
fn spawn_housekeeping(db: Database) {
    // Rows from before the blind index existed are indexed once, in the background (a search meanwhile
    // misses what is not indexed yet, and says nothing wrong about the rest).
    let indexer = db.clone();
    tokio::spawn(async move {
        match indexer.index_all_missing(500).await {
            Ok(0) => {}
            Ok(indexed) => tracing::info!(indexed, "indexed the rows written before the search index"),
            Err(error) => tracing::warn!(error = %crate::support::error_chain(&error), "indexing old rows failed"),
        }
    });
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            if db.is_closed() {
                break;
            }
            if let Err(error) = db.delete_expired_rows().await {
                tracing::warn!(error = %crate::support::error_chain(&error), "housekeeping failed");
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
