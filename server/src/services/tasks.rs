//! The task service: a user's task list, for the JSON API, the Tasks page and (next) the assistant's tools.
//! The rules live here once: a title as `crate::services::fields::title` says, a description of at most
//! 2,000 (blank means none), pages of 1 to 100 newest first.

use uuid::Uuid;

use crate::{
    db::{Database, DbError, Task, TaskChange},
    services::chat::cursor,
    support::{FieldErrors, Missing, Refusal},
};

pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
pub const DEFAULT_PAGE: u32 = 20;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("some fields are invalid")]
    Validation(FieldErrors),
    #[error("no such task")]
    NotFound,
    #[error("the database is unavailable")]
    Database(#[from] DbError),
}

impl From<TaskError> for Refusal {
    fn from(error: TaskError) -> Self {
        match error {
            TaskError::Validation(fields) => Refusal::Validation(fields),
            TaskError::NotFound => Refusal::NotFound(Missing::Task),
            TaskError::Database(cause) => cause.into(),
        }
    }
}

/// What a caller asks to change; absent fields stay as they are, `description: Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct TaskEdit {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub completed: Option<bool>,
}

#[derive(Clone)]
pub struct TaskService {
    db: Database,
}

fn invalid(field: &str, message: &str) -> TaskError {
    TaskError::Validation(FieldErrors::from([(field.to_owned(), vec![message.to_owned()])]))
}

fn parse_title(raw: &str) -> Result<String, TaskError> {
    crate::services::fields::title(raw).map_err(TaskError::Validation)
}

/// A blank description is no description.
fn parse_description(raw: Option<&str>) -> Result<Option<String>, TaskError> {
    match raw.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) if d.chars().count() > MAX_DESCRIPTION_CHARS => {
            Err(invalid("description", "Description must be at most 2,000 characters."))
        }
        Some(d) => Ok(Some(d.to_owned())),
    }
}

impl TaskService {
    pub fn new(db: Database) -> Self {
        TaskService { db }
    }

    /// Newest first; with `completed`, only done (or only open) tasks.
    pub async fn list(
        &self,
        user_id: Uuid,
        completed: Option<bool>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<(Vec<Task>, Option<String>), TaskError> {
        let limit = cursor::page_limit(limit, DEFAULT_PAGE).map_err(TaskError::Validation)?;
        let after = cursor::from_param(cursor, "cursor").map_err(TaskError::Validation)?;
        let page = self.db.list_tasks(user_id, completed, limit, after).await?;
        Ok((page.items, page.next.map(cursor::encode)))
    }

    pub async fn create(&self, user_id: Uuid, title: &str, description: Option<&str>) -> Result<Task, TaskError> {
        let title = parse_title(title);
        let description = parse_description(description);
        let (title, description) = both(title, description)?;
        Ok(self.db.create_task(user_id, &title, description.as_deref()).await?)
    }

    pub async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Task, TaskError> {
        self.db.find_task(user_id, id).await?.ok_or(TaskError::NotFound)
    }

    pub async fn edit(&self, user_id: Uuid, id: Uuid, edit: TaskEdit) -> Result<Task, TaskError> {
        // Existence first: an unknown (or another user's) id is 404 whatever the body says.
        self.get(user_id, id).await?;
        let title = edit.title.as_deref().map(parse_title).transpose();
        let description = edit.description.map(|d| parse_description(d.as_deref())).transpose();
        let (title, description) = both(title, description)?;
        let change = TaskChange { title, description, completed: edit.completed };
        self.db.update_task(user_id, id, &change).await?.ok_or(TaskError::NotFound)
    }

    pub async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), TaskError> {
        if self.db.delete_task(user_id, id).await? { Ok(()) } else { Err(TaskError::NotFound) }
    }
}

/// Both values, or every field's messages at once (a form shows them all, not the first).
fn both<A, B>(a: Result<A, TaskError>, b: Result<B, TaskError>) -> Result<(A, B), TaskError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(TaskError::Validation(mut x)), Err(TaskError::Validation(y))) => {
            x.extend(y);
            Err(TaskError::Validation(x))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_descriptions_follow_the_rules() {
        assert_eq!(parse_title("  Buy milk ").unwrap(), "Buy milk");
        assert!(matches!(parse_title("   "), Err(TaskError::Validation(f)) if f.contains_key("title")));
        assert!(parse_title(&"x".repeat(200)).is_ok());
        assert!(parse_title(&"x".repeat(201)).is_err());
        assert_eq!(parse_description(Some("  ")).unwrap(), None);
        assert_eq!(parse_description(Some(" two words ")).unwrap().as_deref(), Some("two words"));
        assert!(parse_description(Some(&"é".repeat(2_000))).is_ok());
        assert!(parse_description(Some(&"é".repeat(2_001))).is_err());
        let both_wrong = both(parse_title(""), parse_description(Some(&"x".repeat(2_001))));
        assert!(matches!(both_wrong, Err(TaskError::Validation(f)) if f.len() == 2));
    }
}
