//! Insights: a score (0 to 100) and a summary of each range of a conversation, computed in the background
//! by the assistant (the demo scores offline, a model answers in JSON), queued every
//! `PARLEY_ANALYSIS_EVERY` new messages and on request. A finished analysis, and one scored below
//! `PARLEY_ANALYSIS_FLAG_BELOW`, are announced to `PARLEY_WEBHOOK_URL` (`webhooks.rs`), through the queue too.

pub mod webhooks;

use std::sync::Arc;

use chrono::SecondsFormat;
use serde_json::Value;
use uuid::Uuid;

use super::{
    assistant::{Assistant, MAX_SUMMARY_CHARS, Role, Turn},
    jobs::{JobHandler, JobQueue},
};
use crate::{
    db::{Analysis, Database, DbError},
    support::{FieldErrors, Missing, Refusal},
};

/// The job kind analyses are computed as.
pub const ANALYSIS_JOB_KIND: &str = crate::db::ANALYSIS_JOB;
/// Attempts an analysis gets before it is `failed`.
pub const ANALYSIS_ATTEMPTS: i32 = 5;
/// The most messages of a range the assistant reads (the newest of them).
const MAX_MESSAGES_READ: u32 = 200;
/// The most analyses listed for one conversation (the newest).
const MAX_LISTED: u32 = 500;

#[derive(Debug, thiserror::Error)]
pub enum InsightError {
    #[error("some fields are invalid")]
    Validation(FieldErrors),
    #[error("no such conversation")]
    NoConversation,
    #[error("no such analysis")]
    NotFound,
    #[error("the database is unavailable")]
    Database(#[from] DbError),
}

impl From<InsightError> for Refusal {
    fn from(error: InsightError) -> Self {
        match error {
            InsightError::Validation(fields) => Refusal::Validation(fields),
            InsightError::NoConversation => Refusal::NotFound(Missing::Conversation),
            InsightError::NotFound => Refusal::NotFound(Missing::Analysis),
            InsightError::Database(cause) => cause.into(),
        }
    }
}

fn invalid(field: &str, message: &str) -> InsightError {
    InsightError::Validation(FieldErrors::from([(field.to_owned(), vec![message.to_owned()])]))
}

#[derive(Clone, Copy, Debug)]
pub struct InsightSettings {
    /// Queue an analysis by itself every this many new messages (0: only on request).
    pub every: u32,
    /// A score below this is announced as `analysis.flagged` too.
    pub flag_below: i32,
}

#[derive(Clone)]
pub struct InsightService {
    db: Database,
    queue: JobQueue,
    assistant: Arc<dyn Assistant>,
    settings: InsightSettings,
    webhooks: Option<webhooks::Webhooks>,
}

/// An analysis as the API shows it and as webhooks carry it: one shape for both.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = AnalysisBody)]
pub struct AnalysisView {
    id: String,
    conversation_id: String,
    /// `queued`, `running`, `done` or `failed`.
    state: String,
    /// 0 (going badly) to 100 (going well); null until done.
    chat_score: Option<i32>,
    summary: Option<String>,
    message_range: MessageRange,
    created_at: String,
    updated_at: String,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MessageRange {
    first_message_id: String,
    last_message_id: String,
    count: i32,
}

impl From<Analysis> for AnalysisView {
    fn from(analysis: Analysis) -> Self {
        AnalysisView {
            id: analysis.id.to_string(),
            conversation_id: analysis.conversation_id.to_string(),
            state: analysis.state,
            chat_score: analysis.chat_score,
            summary: analysis.summary,
            message_range: MessageRange {
                first_message_id: analysis.first_message_id.to_string(),
                last_message_id: analysis.last_message_id.to_string(),
                count: analysis.message_count,
            },
            created_at: analysis.created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            updated_at: analysis.updated_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    }
}

fn view(analysis: &Analysis) -> Value {
    serde_json::to_value(AnalysisView::from(analysis.clone())).expect("an analysis serialises")
}

impl InsightService {
    pub fn new(
        db: Database,
        queue: JobQueue,
        assistant: Arc<dyn Assistant>,
        settings: InsightSettings,
        webhooks: Option<webhooks::Webhooks>,
    ) -> Self {
        InsightService { db, queue, assistant, settings, webhooks }
    }

    /// Queues an analysis of the messages since the last one.
    pub async fn request(&self, user_id: Uuid, conversation_id: Uuid) -> Result<Analysis, InsightError> {
        self.db.find_conversation(user_id, conversation_id).await?.ok_or(InsightError::NoConversation)?;
        let analysis =
            self.db.queue_analysis(user_id, conversation_id, 1, ANALYSIS_ATTEMPTS).await?.ok_or_else(|| {
                invalid("conversation", "There are no new messages to analyse since the last analysis.")
            })?;
        self.queue.wake();
        Ok(analysis)
    }

    /// After new messages: queues an analysis once `every` of them have come since the last one.
    pub async fn after_new_messages(&self, user_id: Uuid, conversation_id: Uuid) {
        if self.settings.every == 0 {
            return;
        }
        let every = i64::from(self.settings.every);
        match self.db.queue_analysis(user_id, conversation_id, every, ANALYSIS_ATTEMPTS).await {
            Ok(Some(_)) => self.queue.wake(),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(error = %crate::support::error_chain(&error), "could not queue an analysis")
            }
        }
    }

    /// The conversation's analyses, oldest first.
    pub async fn list(&self, user_id: Uuid, conversation_id: Uuid) -> Result<Vec<Analysis>, InsightError> {
        self.db.find_conversation(user_id, conversation_id).await?.ok_or(InsightError::NoConversation)?;
        Ok(self.db.list_analyses(user_id, conversation_id, MAX_LISTED).await?)
    }

    pub async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Analysis, InsightError> {
        self.db.find_analysis(Some(user_id), id).await?.ok_or(InsightError::NotFound)
    }

    /// Replaces the summary: 1 to 2,000 characters after trimming.
    pub async fn update_summary(&self, user_id: Uuid, id: Uuid, summary: &str) -> Result<Analysis, InsightError> {
        self.get(user_id, id).await?;
        let summary = summary.trim();
        if summary.is_empty() || summary.chars().count() > MAX_SUMMARY_CHARS {
            return Err(invalid("summary", "The summary must be 1 to 2,000 characters."));
        }
        self.db.update_analysis_summary(user_id, id, summary).await?.ok_or(InsightError::NotFound)
    }

    pub async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), InsightError> {
        if self.db.delete_analysis(user_id, id).await? { Ok(()) } else { Err(InsightError::NotFound) }
    }

    /// The job: scores the range, stores the result, announces it.
    async fn compute(&self, id: Uuid) -> Result<(), String> {
        let db_error = |e: DbError| format!("database: {}", crate::support::error_chain(&e));
        // Deleted while queued: nothing to do.
        let Some(analysis) = self.db.find_analysis(None, id).await.map_err(db_error)? else { return Ok(()) };
        self.db.record_analysis(id, "running", None, None, None).await.map_err(db_error)?;
        let messages = self.db.analysis_messages(&analysis, MAX_MESSAGES_READ).await.map_err(db_error)?;
        let transcript: Vec<Turn> = messages
            .into_iter()
            .map(|m| Turn { role: if m.role == "user" { Role::User } else { Role::Assistant }, content: m.content })
            .collect();
        let assessment = match self.assistant.assess(transcript).await {
            Ok(assessment) => assessment,
            Err(error) => {
                let error = error.to_string();
                // Queued again by the worker (or failed, after the last attempt: see `give_up`).
                self.db.record_analysis(id, "queued", None, None, Some(&error)).await.map_err(db_error)?;
                return Err(error);
            }
        };
        let Some(done) = self
            .db
            .record_analysis(id, "done", Some(assessment.chat_score), Some(&assessment.summary), None)
            .await
            .map_err(db_error)?
        else {
            return Ok(());
        };
        if let Some(webhooks) = &self.webhooks {
            webhooks.announce("analysis.completed", view(&done)).await.map_err(db_error)?;
            if assessment.chat_score < self.settings.flag_below {
                webhooks.announce("analysis.flagged", view(&done)).await.map_err(db_error)?;
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl JobHandler for InsightService {
    async fn run(&self, payload: &str) -> Result<(), String> {
        let id: Uuid = payload.trim().parse().map_err(|_| format!("not an analysis id: {payload}"))?;
        self.compute(id).await
    }

    async fn give_up(&self, payload: &str, error: &str) {
        let Ok(id) = payload.trim().parse::<Uuid>() else { return };
        if let Err(e) = self.db.record_analysis(id, "failed", None, None, Some(error)).await {
            tracing::warn!(error = %crate::support::error_chain(&e), "could not mark an analysis failed");
        }
    }
}
