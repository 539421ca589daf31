//! Imports of other products' exports: the import's row (state and counts), the uploaded file kept in
//! sealed chunks until the import ends, and the statement that writes one imported conversation. Every
//! statement a person's request reaches is scoped to the owning user.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Database, DbError, db_now, jobs::INSERT_JOB, jobs::now_millis, on_pool};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Import {
    pub id: Uuid,
    pub user_id: Uuid,
    /// `receiving` (the upload is still arriving), `queued`, `running`, `done` or `failed`.
    pub state: String,
    pub format: Option<String>,
    pub byte_count: i64,
    pub conversations: i32,
    pub messages: i32,
    pub total_messages: Option<i32>,
    pub skipped: i32,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const IMPORT_COLUMNS: &str = "id, user_id, state, format, byte_count, conversations, messages, total_messages, \
                              skipped, error, created_at, updated_at";

/// The job an import runs in: its kind; the payload is the import's id.
pub const IMPORT_JOB: &str = "import";

/// One conversation as an export holds it, ready to store: its current branch, oldest message first.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedConversation {
    /// Where it came from, e.g. `chatgpt:<id>`: found again on a second import.
    pub source_id: String,
    /// A conversation of Parley's own export restored into the account it came from keeps its id.
    pub same_id: Option<Uuid>,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub messages: Vec<ImportedMessage>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ImportedMessage {
    pub source_id: String,
    /// `user` or `assistant`.
    pub role: &'static str,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub model: Option<String>,
}

/// What storing one conversation added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Added {
    pub conversation: bool,
    pub messages: u32,
}

impl Database {
    /// A new import of `user_id`'s, receiving its upload.
    pub async fn start_import(&self, user_id: Uuid) -> Result<Import, DbError> {
        let now = db_now();
        let _turn = self.write_turn().await?;
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, Import>(&format!(
            "INSERT INTO imports (id, user_id, state, byte_count, created_at, updated_at)
             VALUES ($1, $2, 'receiving', 0, $3, $3) RETURNING {IMPORT_COLUMNS}"
        ))
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(now)
        .fetch_one(pool)
        .await)?)
    }

    /// Stores the `seq`-th piece of the upload, sealed.
    pub async fn add_import_chunk(&self, import_id: Uuid, seq: i32, bytes: &[u8]) -> Result<(), DbError> {
        let sealed = self.at_rest().seal_bytes(bytes);
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query("INSERT INTO import_chunks (import_id, seq, data) VALUES ($1, $2, $3)")
            .bind(import_id)
            .bind(seq)
            .bind(&sealed)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The upload is complete (`byte_count` bytes): the import is queued with its job, in one transaction.
    pub async fn queue_import(&self, import_id: Uuid, byte_count: i64, max_attempts: i32) -> Result<Import, DbError> {
        let now = db_now();
        let _turn = self.write_turn().await?;
        Ok(on_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let import = sqlx::query_as::<_, Import>(&format!(
                "UPDATE imports SET state = 'queued', byte_count = $2, updated_at = $3 WHERE id = $1
                 RETURNING {IMPORT_COLUMNS}"
            ))
            .bind(import_id)
            .bind(byte_count)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(INSERT_JOB)
                .bind(Uuid::now_v7())
                .bind(IMPORT_JOB)
                .bind(self.at_rest().seal(&import_id.to_string()))
                .bind(max_attempts)
                .bind(now_millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(import)
        }
        .await)?)
    }

    /// Forgets an upload that never completed (too large, or the client went away), chunks and all.
    pub async fn discard_import(&self, import_id: Uuid) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query("DELETE FROM imports WHERE id = $1")
            .bind(import_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// One of the user's imports.
    pub async fn find_import(&self, user_id: Uuid, id: Uuid) -> Result<Option<Import>, DbError> {
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, Import>(&format!(
            "SELECT {IMPORT_COLUMNS} FROM imports WHERE id = $1 AND user_id = $2 AND state <> 'receiving'"
        ))
        .bind(id)
        .bind(user_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// The user's imports, newest first.
    pub async fn list_imports(&self, user_id: Uuid, limit: u32) -> Result<Vec<Import>, DbError> {
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, Import>(&format!(
            "SELECT {IMPORT_COLUMNS} FROM imports WHERE user_id = $1 AND state <> 'receiving'
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(user_id)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await)?)
    }

    /// An import as its job sees it (any user's).
    pub async fn import_for_job(&self, id: Uuid) -> Result<Option<Import>, DbError> {
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, Import>(&format!(
            "SELECT {IMPORT_COLUMNS} FROM imports WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    /// The `seq`-th piece of the upload, opened; `None` past the last.
    pub async fn import_chunk(&self, import_id: Uuid, seq: i32) -> Result<Option<Vec<u8>>, DbError> {
        let row: Option<(Vec<u8>,)> =
            on_pool!(self, |pool| sqlx::query_as("SELECT data FROM import_chunks WHERE import_id = $1 AND seq = $2")
                .bind(import_id)
                .bind(seq)
                .fetch_optional(pool)
                .await)?;
        Ok(row.map(|(data,)| self.at_rest().open_bytes(data)))
    }

    /// The import's job has checked the file: it now runs, with this format, this many messages to add at
    /// most (the progress bar's end) and this many parts that cannot be kept. The counts of what was added
    /// carry over from an attempt that was interrupted: a rerun adds only what that one did not.
    pub async fn import_running(
        &self,
        id: Uuid,
        format: Option<&str>,
        total_messages: i32,
        skipped: i32,
    ) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query(
            "UPDATE imports SET state = 'running', format = $2, total_messages = $3, skipped = $4, error = NULL,
                 updated_at = $5
             WHERE id = $1"
        )
        .bind(id)
        .bind(format)
        .bind(total_messages)
        .bind(skipped)
        .bind(db_now())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Adds to the import's counts as conversations are stored.
    pub async fn import_progress(&self, id: Uuid, conversations: i32, messages: i32) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query(
            "UPDATE imports SET conversations = conversations + $2, messages = messages + $3, updated_at = $4
             WHERE id = $1"
        )
        .bind(id)
        .bind(conversations)
        .bind(messages)
        .bind(db_now())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The import ended: `done`, or `failed` with what went wrong; the upload is no longer needed.
    pub async fn finish_import(&self, id: Uuid, error: Option<&str>) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            sqlx::query("UPDATE imports SET state = $2, error = $3, updated_at = $4 WHERE id = $1")
                .bind(id)
                .bind(if error.is_some() { "failed" } else { "done" })
                .bind(error)
                .bind(db_now())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM import_chunks WHERE import_id = $1").bind(id).execute(&mut *tx).await?;
            tx.commit().await
        }
        .await)?;
        Ok(())
    }

    /// Stores one imported conversation in one transaction: the conversation (unless the user already has
    /// it, by its source or its id) and those of its messages the user does not have yet. Importing the same
    /// export twice adds nothing; a newer one adds only what is new.
    pub async fn import_conversation(&self, user_id: Uuid, imported: &ImportedConversation) -> Result<Added, DbError> {
        const ROWS_PER_STATEMENT: usize = 400;
        const COLUMNS: usize = 11;
        let at_rest = self.at_rest();
        let (title_index, key_id) = self.index_of(user_id, &imported.title);
        let sealed_title = at_rest.seal(&imported.title);
        let rows: Vec<_> = imported
            .messages
            .iter()
            .map(|m| (at_rest.seal(&m.content), self.index_of(user_id, &m.content).0))
            .collect();
        let statement = |rows: usize| {
            let values: Vec<String> = (0..rows)
                .map(|row| {
                    let placeholders: Vec<String> = (1..=COLUMNS).map(|n| format!("${}", row * COLUMNS + n)).collect();
                    format!("({})", placeholders.join(", "))
                })
                .collect();
            format!(
                "INSERT INTO messages (id, conversation_id, role, content, created_at, user_id, index_words,
                                       index_prefixes, indexed_with, source_id, model)
                 VALUES {}
                 ON CONFLICT (conversation_id, source_id) WHERE source_id IS NOT NULL DO NOTHING",
                values.join(", ")
            )
        };
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let existing: Option<(Uuid,)> =
                sqlx::query_as("SELECT id FROM conversations WHERE user_id = $1 AND (source_id = $2 OR id = $3)")
                    .bind(user_id)
                    .bind(&imported.source_id)
                    .bind(imported.same_id.unwrap_or(Uuid::nil()))
                    .fetch_optional(&mut *tx)
                    .await?;
            let mut added = Added::default();
            let conversation_id = match existing {
                // Restored into the account it came from: that conversation is already here, whole.
                Some((id,)) if Some(id) == imported.same_id => return Ok(added),
                Some((id,)) => id,
                None => {
                    let id = Uuid::now_v7();
                    sqlx::query(
                        "INSERT INTO conversations (id, user_id, title, created_at, updated_at, default_title,
                                                    index_words, index_prefixes, indexed_with, source_id)
                         VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7, $8, $9)",
                    )
                    .bind(id)
                    .bind(user_id)
                    .bind(&sealed_title)
                    .bind(imported.created_at)
                    .bind(imported.updated_at)
                    .bind(&title_index.words)
                    .bind(&title_index.prefixes)
                    .bind(key_id)
                    .bind(&imported.source_id)
                    .execute(&mut *tx)
                    .await?;
                    added.conversation = true;
                    id
                }
            };
            for (messages, rows) in imported.messages.chunks(ROWS_PER_STATEMENT).zip(rows.chunks(ROWS_PER_STATEMENT)) {
                let sql = statement(messages.len());
                let mut query = sqlx::query(&sql);
                for (message, (content, index)) in messages.iter().zip(rows) {
                    query = query
                        .bind(Uuid::now_v7())
                        .bind(conversation_id)
                        .bind(message.role)
                        .bind(content)
                        .bind(message.created_at)
                        .bind(user_id)
                        .bind(&index.words)
                        .bind(&index.prefixes)
                        .bind(key_id)
                        .bind(&message.source_id)
                        .bind(&message.model);
                }
                added.messages += query.execute(&mut *tx).await?.rows_affected() as u32;
            }
            if added.messages > 0 && !added.conversation {
                // New messages in a conversation imported before: it moves up the list, as a chat does.
                sqlx::query("UPDATE conversations SET updated_at = $1 WHERE id = $2 AND updated_at < $1")
                    .bind(imported.updated_at)
                    .bind(conversation_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(added)
        }
        .await)
        .map_err(DbError::from)
    }
}
