//! The state every handler and middleware reaches: the configuration and the services.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::{
    db::Database,
    services::{
        accounts::AccountService, chat::ChatService, export::ExportService, imports::ImportService,
        insights::InsightService, tasks::TaskService,
    },
    support::{config::Config, readiness::Readiness},
};

/// The one piece of state every handler can reach. Every middleware and handler of every request takes a
/// copy, so a copy is one reference count ([`AppStateInner`] behind an `Arc`), not a dozen.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl AppState {
    pub fn new(inner: AppStateInner) -> Self {
        AppState(Arc::new(inner))
    }
}

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
    pub insights: InsightService,
    pub imports: ImportService,
    pub leptos_options: LeptosOptions,
    /// False until the database has answered and been migrated: until then every request but `/health`
    /// and the static files is answered 503.
    pub ready: Readiness,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
