//! The task list for the browser: listing (all, open or done), adding, ticking off, editing, deleting.
//! Every change ends in a redirect back to the list the person was looking at.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::accounts::FormError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskView {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub completed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskList {
    pub items: Vec<TaskView>,
    pub next_cursor: Option<String>,
}

/// Which tasks a list shows, as the page's `?status=` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskFilter {
    All,
    Open,
    Done,
}

impl TaskFilter {
    pub fn from_query(status: Option<&str>) -> Self {
        match status {
            Some("open") => TaskFilter::Open,
            Some("done") => TaskFilter::Done,
            _ => TaskFilter::All,
        }
    }

    pub fn query(self) -> Option<&'static str> {
        match self {
            TaskFilter::All => None,
            TaskFilter::Open => Some("open"),
            TaskFilter::Done => Some("done"),
        }
    }

    /// `Some(true)` for done tasks only, `Some(false)` for open ones.
    pub fn completed(self) -> Option<bool> {
        match self {
            TaskFilter::All => None,
            TaskFilter::Open => Some(false),
            TaskFilter::Done => Some(true),
        }
    }

    /// The list page showing this filter.
    pub fn href(self) -> String {
        match self.query() {
            None => "/tasks".to_owned(),
            Some(status) => format!("/tasks?status={status}"),
        }
    }
}

/// The server's side of these functions, provided as context by the server crate.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait TasksPort: Send + Sync + 'static {
    async fn list(&self, completed: Option<bool>, cursor: Option<String>) -> Result<TaskList, FormError>;
    async fn add(&self, title: String, description: Option<String>) -> Result<(), FormError>;
    async fn set_completed(&self, id: String, completed: bool) -> Result<(), FormError>;
    async fn edit(&self, id: String, title: String, description: Option<String>) -> Result<(), FormError>;
    async fn delete(&self, id: String) -> Result<(), FormError>;
}

#[cfg(feature = "ssr")]
pub type Tasks = std::sync::Arc<dyn TasksPort>;

#[cfg(feature = "ssr")]
fn tasks() -> Result<Tasks, FormError> {
    use_context::<Tasks>().ok_or_else(|| FormError::Transport("tasks are not configured".to_owned()))
}

/// Back to the list the form was on.
#[cfg(feature = "ssr")]
fn back_to(status: Option<String>) {
    leptos_axum::redirect(&TaskFilter::from_query(status.as_deref()).href());
}

#[server]
pub async fn list_tasks(status: Option<String>, cursor: Option<String>) -> Result<TaskList, FormError> {
    tasks()?.list(TaskFilter::from_query(status.as_deref()).completed(), cursor).await
}

#[server]
pub async fn add_task(title: String, description: Option<String>, status: Option<String>) -> Result<(), FormError> {
    tasks()?.add(title, description).await?;
    back_to(status);
    Ok(())
}

/// `completed` is the checkbox: present (any value) when ticked, absent when not.
#[server]
pub async fn set_task_completed(
    id: String,
    completed: Option<String>,
    status: Option<String>,
) -> Result<(), FormError> {
    tasks()?.set_completed(id, completed.is_some()).await?;
    back_to(status);
    Ok(())
}

#[server]
pub async fn edit_task(
    id: String,
    title: String,
    description: Option<String>,
    status: Option<String>,
) -> Result<(), FormError> {
    tasks()?.edit(id, title, description).await?;
    back_to(status);
    Ok(())
}

#[server]
pub async fn delete_task(id: String, status: Option<String>) -> Result<(), FormError> {
    tasks()?.delete(id).await?;
    back_to(status);
    Ok(())
}
