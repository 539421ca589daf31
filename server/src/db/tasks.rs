//! A user's tasks. Every statement is scoped to the owning user: another user's id behaves exactly like an
//! unknown one.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Database, DbError, Page, Position, db_now, on_pool};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Task {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub completed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Task {
    /// The row as read, with its title and description opened.
    fn opened(mut self, at_rest: &crate::support::at_rest::AtRest) -> Self {
        self.title = at_rest.open(self.title);
        self.description = at_rest.open_opt(self.description);
        self
    }
}

/// What a change to a task sets; `None` leaves a field as it is. `description: Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct TaskChange {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub completed: Option<bool>,
}

impl Database {
    pub async fn create_task(&self, user_id: Uuid, title: &str, description: Option<&str>) -> Result<Task, DbError> {
        let (title, description) = (self.at_rest().seal(title), self.at_rest().seal_opt(description));
        let _turn = self.write_turn().await?;
        let now = db_now();
        let row = on_pool!(self, |pool| sqlx::query_as::<_, Task>(
            "INSERT INTO tasks (id, user_id, title, description, completed, created_at, updated_at)
             VALUES ($1, $2, $3, $4, FALSE, $5, $5)
             RETURNING id, title, description, completed, created_at, updated_at",
        )
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(&title)
        .bind(&description)
        .bind(now)
        .fetch_one(pool)
        .await)?;
        Ok(row.opened(self.at_rest()))
    }

    pub async fn find_task(&self, user_id: Uuid, id: Uuid) -> Result<Option<Task>, DbError> {
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, Task>(
            "SELECT id, title, description, completed, created_at, updated_at FROM tasks WHERE id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(pool)
        .await
        })?;
        Ok(row.map(|task| task.opened(self.at_rest())))
    }

    /// The user's tasks, newest first; with `completed`, only the done (or the open) ones.
    pub async fn list_tasks(
        &self,
        user_id: Uuid,
        completed: Option<bool>,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Task>, DbError> {
        let fetch = i64::from(limit) + 1;
        let after = after.unwrap_or_else(Position::past_everything);
        // `$2 IS NULL OR completed = $2` would serve both lists with one text, but neither backend can then
        // use the (user, completed, …) index: two statements, one per way of listing.
        let mut rows = match completed {
            None => on_pool!(self, |pool| sqlx::query_as::<_, Task>(
                "SELECT id, title, description, completed, created_at, updated_at FROM tasks
                 WHERE user_id = $1 AND (created_at, id) < ($2, $3)
                 ORDER BY created_at DESC, id DESC LIMIT $4",
            )
            .bind(user_id)
            .bind(after.at)
            .bind(after.id)
            .bind(fetch)
            .fetch_all(pool)
            .await)?,
            Some(completed) => on_pool!(self, |pool| sqlx::query_as::<_, Task>(
                "SELECT id, title, description, completed, created_at, updated_at FROM tasks
                 WHERE user_id = $1 AND completed = $2 AND (created_at, id) < ($3, $4)
                 ORDER BY created_at DESC, id DESC LIMIT $5",
            )
            .bind(user_id)
            .bind(completed)
            .bind(after.at)
            .bind(after.id)
            .bind(fetch)
            .fetch_all(pool)
            .await)?,
        };
        let next = if rows.len() as i64 > i64::from(limit) {
            rows.truncate(limit as usize);
            rows.last().map(|t| Position { at: t.created_at, id: t.id })
        } else {
            None
        };
        Ok(Page { items: rows.into_iter().map(|task| task.opened(self.at_rest())).collect(), next })
    }

    /// Applies `change` to the user's task; `None` when there is no such task.
    pub async fn update_task(&self, user_id: Uuid, id: Uuid, change: &TaskChange) -> Result<Option<Task>, DbError> {
        let (set_description, description) = match &change.description {
            Some(description) => (true, self.at_rest().seal_opt(description.as_deref())),
            None => (false, None),
        };
        let title = change.title.as_deref().map(|title| self.at_rest().seal(title));
        let _turn = self.write_turn().await?;
        let now = db_now();
        let row = on_pool!(self, |pool| sqlx::query_as::<_, Task>(
            "UPDATE tasks SET
                 title = COALESCE($3, title),
                 description = CASE WHEN $4 THEN $5 ELSE description END,
                 completed = COALESCE($6, completed),
                 updated_at = $7
             WHERE id = $1 AND user_id = $2
             RETURNING id, title, description, completed, created_at, updated_at",
        )
        .bind(id)
        .bind(user_id)
        .bind(&title)
        .bind(set_description)
        .bind(&description)
        .bind(change.completed)
        .bind(now)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|task| task.opened(self.at_rest())))
    }

    /// `false` when there was no such task.
    pub async fn delete_task(&self, user_id: Uuid, id: Uuid) -> Result<bool, DbError> {
        let _turn = self.write_turn().await?;
        let deleted = on_pool!(self, |pool| sqlx::query("DELETE FROM tasks WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(deleted > 0)
    }
}
