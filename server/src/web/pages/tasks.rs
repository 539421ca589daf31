//! The Tasks page's port: the task service, for the signed-in user of this request.

use app::server_fns::{
    accounts::FormError,
    tasks::{TaskList, TaskView, TasksPort},
};
use uuid::Uuid;

use super::{session, signed_in_user};
use crate::{
    services::accounts::AccountService,
    services::tasks::{TaskEdit, TaskService},
};

/// The most tasks the page shows at once; "Older tasks" pages on.
const PAGE: u32 = 50;

pub struct BrowserTasks {
    pub tasks: TaskService,
    pub accounts: AccountService,
}

fn task_id(raw: &str) -> Result<Uuid, FormError> {
    raw.parse().map_err(|_| FormError::TaskNotFound)
}

impl BrowserTasks {
    async fn user_id(&self) -> Result<Uuid, FormError> {
        let user = signed_in_user(&self.accounts, &session().await?).await?;
        user.map(|u| u.id).ok_or(FormError::Unauthorized)
    }
}

#[async_trait::async_trait]
impl TasksPort for BrowserTasks {
    async fn list(&self, completed: Option<bool>, cursor: Option<String>) -> Result<TaskList, FormError> {
        let user = self.user_id().await?;
        let (items, next_cursor) = self.tasks.list(user, completed, Some(PAGE), cursor.as_deref()).await?;
        Ok(TaskList {
            items: items
                .into_iter()
                .map(|t| TaskView {
                    id: t.id.to_string(),
                    title: t.title,
                    description: t.description,
                    completed: t.completed,
                })
                .collect(),
            next_cursor,
        })
    }

    async fn add(&self, title: String, description: Option<String>) -> Result<(), FormError> {
        let user = self.user_id().await?;
        self.tasks.create(user, &title, description.as_deref()).await?;
        Ok(())
    }

    async fn set_completed(&self, id: String, completed: bool) -> Result<(), FormError> {
        let user = self.user_id().await?;
        self.tasks.edit(user, task_id(&id)?, TaskEdit { completed: Some(completed), ..TaskEdit::default() }).await?;
        Ok(())
    }

    async fn edit(&self, id: String, title: String, description: Option<String>) -> Result<(), FormError> {
        let user = self.user_id().await?;
        let edit = TaskEdit { title: Some(title), description: Some(description), completed: None };
        self.tasks.edit(user, task_id(&id)?, edit).await?;
        Ok(())
    }

    async fn delete(&self, id: String) -> Result<(), FormError> {
        let user = self.user_id().await?;
        self.tasks.delete(user, task_id(&id)?).await?;
        Ok(())
    }
}
