//! Analyses of conversations: a score and a summary of a range of messages, queued with the job that
//! computes it in one transaction, so a queued analysis never lacks its job. Every statement a person's
//! request reaches is scoped to the owning user.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Database, DbError, Message, db_now, jobs::INSERT_JOB, jobs::now_millis, on_pool};
use crate::support::at_rest::AtRest;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Analysis {
    pub id: Uuid,
    pub user_id: Uuid,
    pub conversation_id: Uuid,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    pub chat_score: Option<i32>,
    pub summary: Option<String>,
    pub error: Option<String>,
    pub first_message_id: Uuid,
    pub last_message_id: Uuid,
    pub last_message_at: DateTime<Utc>,
    pub message_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Analysis {
    fn opened(mut self, at_rest: &AtRest) -> Self {
        self.summary = at_rest.open_opt(self.summary);
        self
    }
}

macro_rules! analysis_columns {
    () => {
        "id, user_id, conversation_id, state, chat_score, summary, error, first_message_id, last_message_id,
         last_message_at, message_count, created_at, updated_at"
    };
}

/// Where the conversation's last analysis ended.
const LAST_ANALYSED: &str = "SELECT last_message_at, last_message_id FROM analyses WHERE conversation_id = $1
     ORDER BY created_at DESC, id DESC LIMIT 1";
/// How many of the conversation's messages come after a position.
const COUNT_SINCE: &str = "SELECT count(*) FROM messages WHERE conversation_id = $1 AND (created_at, id) > ($2, $3)";

/// The job an analysis is computed by: its kind, and the payload (the analysis id).
pub const ANALYSIS_JOB: &str = "analysis";

impl Database {
    /// Queues an analysis of the conversation's messages since the last analysis (all of them for the
    /// first), with its job, if there are at least `at_least` of them; `None` otherwise (or when the user has
    /// no such conversation).
    pub async fn queue_analysis(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        at_least: i64,
        max_attempts: i32,
    ) -> Result<Option<Analysis>, DbError> {
        // Every reply asks whether one is due; most of the time it is not, and that answer needs no write
        // lock (on SQLite, the whole database's). The transaction below checks again before it writes.
        if at_least > 1 && self.messages_since_last_analysis(conversation_id).await? < at_least {
            return Ok(None);
        }
        let _turn = self.write_turn().await?;
        let now = db_now();
        let id = Uuid::now_v7();
        let analysis = on_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let owned: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM conversations WHERE id = $1 AND user_id = $2")
                .bind(conversation_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
            if owned.is_none() {
                return Ok(None);
            }
            // Where the last analysis ended (before everything when there is none).
            let (after_at, after_id): (DateTime<Utc>, Uuid) = sqlx::query_as(LAST_ANALYSED)
                .bind(conversation_id)
                .fetch_optional(&mut *tx)
                .await?
                .unwrap_or((DateTime::<Utc>::UNIX_EPOCH, Uuid::nil()));
            let (count,): (i64,) = sqlx::query_as(COUNT_SINCE)
                .bind(conversation_id)
                .bind(after_at)
                .bind(after_id)
                .fetch_one(&mut *tx)
                .await?;
            if count < at_least.max(1) {
                return Ok(None);
            }
            let (first,): (Uuid,) = sqlx::query_as(
                "SELECT id FROM messages WHERE conversation_id = $1 AND (created_at, id) > ($2, $3)
                 ORDER BY created_at, id LIMIT 1",
            )
            .bind(conversation_id)
            .bind(after_at)
            .bind(after_id)
            .fetch_one(&mut *tx)
            .await?;
            let (last, last_at): (Uuid, DateTime<Utc>) = sqlx::query_as(
                "SELECT id, created_at FROM messages WHERE conversation_id = $1
                 ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .bind(conversation_id)
            .fetch_one(&mut *tx)
            .await?;
            let analysis = sqlx::query_as::<_, Analysis>(concat!(
                "INSERT INTO analyses (id, user_id, conversation_id, state, first_message_id, last_message_id,
                                       last_message_at, message_count, created_at, updated_at)
                 VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $8)
                 RETURNING ",
                analysis_columns!()
            ))
            .bind(id)
            .bind(user_id)
            .bind(conversation_id)
            .bind(first)
            .bind(last)
            .bind(last_at)
            .bind(count as i32)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(INSERT_JOB)
                .bind(Uuid::now_v7())
                .bind(ANALYSIS_JOB)
                .bind(self.at_rest().seal(&id.to_string()))
                .bind(max_attempts)
                .bind(now_millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(analysis))
        }
        .await)?;
        Ok(analysis)
    }

    /// How many of the conversation's messages the last analysis did not cover (all, before the first).
    async fn messages_since_last_analysis(&self, conversation_id: Uuid) -> Result<i64, DbError> {
        Ok(on_pool!(self, |pool| async {
            let (after_at, after_id): (DateTime<Utc>, Uuid) = sqlx::query_as(LAST_ANALYSED)
                .bind(conversation_id)
                .fetch_optional(pool)
                .await?
                .unwrap_or((DateTime::<Utc>::UNIX_EPOCH, Uuid::nil()));
            let (count,): (i64,) =
                sqlx::query_as(COUNT_SINCE).bind(conversation_id).bind(after_at).bind(after_id).fetch_one(pool).await?;
            Ok::<_, sqlx::Error>(count)
        }
        .await)?)
    }

    /// The conversation's analyses, oldest first (at most `limit`, the newest ones).
    pub async fn list_analyses(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        limit: u32,
    ) -> Result<Vec<Analysis>, DbError> {
        let mut rows = on_pool!(self, |pool| sqlx::query_as::<_, Analysis>(concat!(
            "SELECT ",
            analysis_columns!(),
            " FROM analyses WHERE conversation_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(conversation_id)
        .bind(user_id)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await)?;
        rows.reverse();
        Ok(rows.into_iter().map(|a| a.opened(self.at_rest())).collect())
    }

    /// One analysis; `user_id` `None` only for the job that computes it.
    pub async fn find_analysis(&self, user_id: Option<Uuid>, id: Uuid) -> Result<Option<Analysis>, DbError> {
        let row = on_pool!(self, |pool| sqlx::query_as::<_, Analysis>(concat!(
            "SELECT ",
            analysis_columns!(),
            " FROM analyses WHERE id = $1 AND ($2 IS NULL OR user_id = $2)"
        ))
        .bind(id)
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|a| a.opened(self.at_rest())))
    }

    /// Replaces the summary of one of the user's analyses.
    pub async fn update_analysis_summary(
        &self,
        user_id: Uuid,
        id: Uuid,
        summary: &str,
    ) -> Result<Option<Analysis>, DbError> {
        let sealed = self.at_rest().seal(summary);
        let _turn = self.write_turn().await?;
        let row = on_pool!(self, |pool| sqlx::query_as::<_, Analysis>(concat!(
            "UPDATE analyses SET summary = $1, updated_at = $2 WHERE id = $3 AND user_id = $4 RETURNING ",
            analysis_columns!()
        ))
        .bind(&sealed)
        .bind(db_now())
        .bind(id)
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|a| a.opened(self.at_rest())))
    }

    /// `false` when the user has no such analysis.
    pub async fn delete_analysis(&self, user_id: Uuid, id: Uuid) -> Result<bool, DbError> {
        let _turn = self.write_turn().await?;
        let deleted = on_pool!(self, |pool| sqlx::query("DELETE FROM analyses WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(deleted == 1)
    }

    /// The job's progress: `running`, then `done` with the score and summary, or `failed` with the error.
    /// A deleted analysis stays deleted (no row to update).
    pub async fn record_analysis(
        &self,
        id: Uuid,
        state: &str,
        score: Option<i32>,
        summary: Option<&str>,
        error: Option<&str>,
    ) -> Result<Option<Analysis>, DbError> {
        let sealed = self.at_rest().seal_opt(summary);
        let _turn = self.write_turn().await?;
        let row = on_pool!(self, |pool| sqlx::query_as::<_, Analysis>(concat!(
            "UPDATE analyses SET state = $1, chat_score = COALESCE($2, chat_score), summary = COALESCE($3, summary),
                 error = $4, updated_at = $5
             WHERE id = $6 RETURNING ",
            analysis_columns!()
        ))
        .bind(state)
        .bind(score)
        .bind(&sealed)
        .bind(error)
        .bind(db_now())
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|a| a.opened(self.at_rest())))
    }

    /// The messages of an analysis's range, oldest first (at most `limit`, the newest of them).
    pub async fn analysis_messages(&self, analysis: &Analysis, limit: u32) -> Result<Vec<Message>, DbError> {
        let mut rows = on_pool!(self, |pool| sqlx::query_as::<_, Message>(
            "SELECT m.id, m.conversation_id, m.role, m.content, m.created_at, m.tool_calls
             FROM messages m, messages f
             WHERE f.id = $2 AND m.conversation_id = $1
               AND (m.created_at, m.id) >= (f.created_at, f.id) AND (m.created_at, m.id) <= ($3, $4)
             ORDER BY m.created_at DESC, m.id DESC LIMIT $5",
        )
        .bind(analysis.conversation_id)
        .bind(analysis.first_message_id)
        .bind(analysis.last_message_at)
        .bind(analysis.last_message_id)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await)?;
        rows.reverse();
        Ok(rows.into_iter().map(|m| m.opened(self.at_rest())).collect())
    }
}
