//! Conversations and messages. Every statement is scoped to the owning user: another user's id behaves
//! exactly like an unknown one.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Database, DbError, db_now, on_pool};
use crate::support::{at_rest::AtRest, search_text::SearchQuery};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Conversation {
    pub id: Uuid,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Message {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub role: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
    /// The tools the assistant called for this reply, as a JSON array (see `chat::tool_calls_of`).
    pub tool_calls: Option<String>,
}

impl Conversation {
    /// The row as read, with its title opened.
    pub(super) fn opened(mut self, at_rest: &AtRest) -> Self {
        self.title = at_rest.open(self.title);
        self
    }
}

impl Message {
    /// The row as read, with its content and tool calls opened.
    pub(super) fn opened(mut self, at_rest: &AtRest) -> Self {
        self.content = at_rest.open(self.content);
        self.tool_calls = at_rest.open_opt(self.tool_calls);
        self
    }
}

/// A position in a list: the sort key of the last item seen. Pages continue with a row-value comparison
/// (`(created_at, id) < (?, ?)`), which the index serves directly; the equivalent `a < ? OR (a = ? AND …)`
/// made SQLite scan, so page 1,000 cost twenty times page 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Position {
    /// A position before every real row, so that reading forward from it starts at the first.
    pub fn before_everything() -> Self {
        Position { at: DateTime::<Utc>::UNIX_EPOCH, id: Uuid::nil() }
    }

    /// A position after every real row, so that the first page is "everything before the end".
    pub(super) fn past_everything() -> Self {
        let far_future = DateTime::<Utc>::from_timestamp(253_402_300_799, 0).expect("9999-12-31 is a valid time");
        Position { at: far_future, id: Uuid::max() }
    }
}

/// One page of a list, and where the next page starts (if there is one).
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Position>,
}

const FIND_CONVERSATION: &str =
    "SELECT id, title, created_at, updated_at FROM conversations WHERE id = $1 AND user_id = $2";

/// The newest messages of conversation `$1` before position (`$3`, `$4`), at most `$5`, newest first. The
/// ownership check (`$2`) rides along in the same statement: no message of another user's conversation
/// can ever be read.
const NEWEST_MESSAGES_BEFORE: &str = "SELECT m.id, m.conversation_id, m.role, m.content, m.created_at, m.tool_calls
     FROM messages m JOIN conversations c ON c.id = m.conversation_id
     WHERE m.conversation_id = $1 AND c.user_id = $2 AND (m.created_at, m.id) < ($3, $4)
     ORDER BY m.created_at DESC, m.id DESC LIMIT $5";

/// A page from [`NEWEST_MESSAGES_BEFORE`] rows fetched with one row more than `limit`: oldest first, and
/// where the page before it ends, if there is one.
fn newest_page(rows: Vec<Message>, limit: u32, at_rest: &AtRest) -> Page<Message> {
    let mut rows: Vec<Message> = rows.into_iter().map(|m| m.opened(at_rest)).collect();
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    rows.reverse();
    let next = if more { rows.first().map(|m| Position { at: m.created_at, id: m.id }) } else { None };
    Page { items: rows, next }
}

/// A new message moves its conversation to the top of the list: every write of messages runs this in the
/// same transaction.
const TOUCH_CONVERSATION: &str = "UPDATE conversations SET updated_at = $1 WHERE id = $2";

impl Database {
    /// A new conversation; `default_title` when nobody chose `title`, so the first message may replace it.
    pub async fn create_conversation(
        &self,
        user_id: Uuid,
        title: &str,
        default_title: bool,
    ) -> Result<Conversation, DbError> {
        let (index, key_id) = self.index_of(user_id, title);
        let sealed = self.at_rest().seal(title);
        let _turn = self.write_turn().await?;
        let now = db_now();
        let row = on_pool!(self, |pool| sqlx::query_as::<_, Conversation>(
            "INSERT INTO conversations
                 (id, user_id, title, created_at, updated_at, default_title, index_words, index_prefixes, indexed_with)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             RETURNING id, title, created_at, updated_at",
        )
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(&sealed)
        .bind(now)
        .bind(now)
        .bind(default_title)
        .bind(&index.words)
        .bind(&index.prefixes)
        .bind(key_id)
        .fetch_one(pool)
        .await)?;
        Ok(row.opened(self.at_rest()))
    }

    pub async fn find_conversation(&self, user_id: Uuid, id: Uuid) -> Result<Option<Conversation>, DbError> {
        let row = on_pool!(self, |pool| sqlx::query_as::<_, Conversation>(FIND_CONVERSATION)
            .bind(id)
            .bind(user_id)
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(|c| c.opened(self.at_rest())))
    }

    /// The user's conversations, most recently updated first; with `search`, only those whose title or one
    /// of whose messages matches it (see `db::search`).
    pub async fn list_conversations(
        &self,
        user_id: Uuid,
        limit: u32,
        after: Option<Position>,
        search: Option<&SearchQuery>,
    ) -> Result<Page<Conversation>, DbError> {
        let fetch = i64::from(limit) + 1;
        let after = after.unwrap_or_else(Position::past_everything);
        let mut rows = match search {
            None => on_pool!(self, |pool| sqlx::query_as::<_, Conversation>(
                "SELECT id, title, created_at, updated_at FROM conversations
                     WHERE user_id = $1 AND (updated_at, id) < ($2, $3)
                     ORDER BY updated_at DESC, id DESC LIMIT $4",
            )
            .bind(user_id)
            .bind(after.at)
            .bind(after.id)
            .bind(fetch)
            .fetch_all(pool)
            .await)?,
            Some(search) => self.search_conversations(user_id, fetch, after, search).await?,
        };
        let next = (rows.len() > limit as usize).then(|| {
            rows.truncate(limit as usize);
            rows.last().map(|c| Position { at: c.updated_at, id: c.id })
        });
        let items = rows.into_iter().map(|c| c.opened(self.at_rest())).collect();
        Ok(Page { items, next: next.flatten() })
    }

    /// Renaming is an update: the conversation moves to the top of the list.
    pub async fn rename_conversation(
        &self,
        user_id: Uuid,
        id: Uuid,
        title: &str,
    ) -> Result<Option<Conversation>, DbError> {
        let (index, key_id) = self.index_of(user_id, title);
        let sealed = self.at_rest().seal(title);
        let _turn = self.write_turn().await?;
        let row = on_pool!(self, |pool| sqlx::query_as::<_, Conversation>(
            "UPDATE conversations SET title = $1, updated_at = $2, default_title = FALSE,
                 index_words = $5, index_prefixes = $6, indexed_with = $7
             WHERE id = $3 AND user_id = $4
             RETURNING id, title, created_at, updated_at",
        )
        .bind(&sealed)
        .bind(db_now())
        .bind(id)
        .bind(user_id)
        .bind(&index.words)
        .bind(&index.prefixes)
        .bind(key_id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|c| c.opened(self.at_rest())))
    }

    /// Deletes the conversation and its messages; `false` when the user has no such conversation.
    pub async fn delete_conversation(&self, user_id: Uuid, id: Uuid) -> Result<bool, DbError> {
        let _turn = self.write_turn().await?;
        let deleted = on_pool!(self, |pool| sqlx::query("DELETE FROM conversations WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(deleted == 1)
    }

    /// The user's conversation and its newest `limit` messages before `before` (oldest first): opening a
    /// conversation is the commonest read there is, so both statements run on one connection, taken from
    /// the pool once. `None` when the user has no such conversation.
    pub async fn open_conversation(
        &self,
        user_id: Uuid,
        id: Uuid,
        limit: u32,
        before: Option<Position>,
    ) -> Result<Option<(Conversation, Page<Message>)>, DbError> {
        let before = before.unwrap_or_else(Position::past_everything);
        let found = on_pool!(self, |pool| async {
            let mut connection = pool.acquire().await?;
            let Some(conversation) = sqlx::query_as::<_, Conversation>(FIND_CONVERSATION)
                .bind(id)
                .bind(user_id)
                .fetch_optional(&mut *connection)
                .await?
            else {
                return Ok(None);
            };
            let rows = sqlx::query_as::<_, Message>(NEWEST_MESSAGES_BEFORE)
                .bind(id)
                .bind(user_id)
                .bind(before.at)
                .bind(before.id)
                .bind(i64::from(limit) + 1)
                .fetch_all(&mut *connection)
                .await?;
            Ok::<_, sqlx::Error>(Some((conversation, rows)))
        }
        .await)?;
        let at_rest = self.at_rest();
        Ok(found.map(|(conversation, rows)| (conversation.opened(at_rest), newest_page(rows, limit, at_rest))))
    }

    /// The newest `limit` messages before `before` (all of them when `None`), returned oldest first.
    pub async fn list_messages(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        limit: u32,
        before: Option<Position>,
    ) -> Result<Page<Message>, DbError> {
        let before = before.unwrap_or_else(Position::past_everything);
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, Message>(NEWEST_MESSAGES_BEFORE)
            .bind(conversation_id)
            .bind(user_id)
            .bind(before.at)
            .bind(before.id)
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await)?;
        Ok(newest_page(rows, limit, self.at_rest()))
    }

    /// The first `limit` messages at or after `from`, oldest first; `next` is where the following page
    /// starts (the first message not returned), if there is one.
    pub async fn list_messages_from(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        limit: u32,
        from: Position,
    ) -> Result<Page<Message>, DbError> {
        let mut rows = on_pool!(self, |pool| sqlx::query_as::<_, Message>(
            "SELECT m.id, m.conversation_id, m.role, m.content, m.created_at, m.tool_calls
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.conversation_id = $1 AND c.user_id = $2 AND (m.created_at, m.id) >= ($3, $4)
             ORDER BY m.created_at, m.id LIMIT $5",
        )
        .bind(conversation_id)
        .bind(user_id)
        .bind(from.at)
        .bind(from.id)
        .bind(i64::from(limit) + 1)
        .fetch_all(pool)
        .await)?;
        let next = if rows.len() > limit as usize {
            rows.pop().map(|m| Position { at: m.created_at, id: m.id })
        } else {
            None
        };
        let items = rows.into_iter().map(|m| m.opened(self.at_rest())).collect();
        Ok(Page { items, next })
    }

    /// One message of one of the user's conversations.
    pub async fn find_message(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Message>, DbError> {
        let row = on_pool!(self, |pool| sqlx::query_as::<_, Message>(
            "SELECT m.id, m.conversation_id, m.role, m.content, m.created_at, m.tool_calls
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.id = $1 AND m.conversation_id = $2 AND c.user_id = $3",
        )
        .bind(id)
        .bind(conversation_id)
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|m| m.opened(self.at_rest())))
    }

    /// Appends a message to one of `user_id`'s conversations and marks the conversation as active, in one
    /// transaction.
    pub async fn add_message(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        role: &str,
        content: &str,
        not_before: Option<DateTime<Utc>>,
        tool_calls: Option<&str>,
    ) -> Result<Message, DbError> {
        let (index, key_id) = self.index_of(user_id, content);
        let sealed = self.at_rest().seal(content);
        let sealed_calls = self.at_rest().seal_opt(tool_calls);
        let _turn = self.write_turn().await?;
        // A reply must sort after the message it answers even when both land in the same microsecond.
        let mut now = db_now();
        if let Some(floor) = not_before
            && now <= floor
        {
            now = floor + chrono::Duration::microseconds(1);
        }
        let message = on_pool!(self, |pool| {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let message = sqlx::query_as::<_, Message>(
                "INSERT INTO messages (id, conversation_id, role, content, created_at, tool_calls,
                                       user_id, index_words, index_prefixes, indexed_with)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 RETURNING id, conversation_id, role, content, created_at, tool_calls",
            )
            .bind(Uuid::now_v7())
            .bind(conversation_id)
            .bind(role)
            .bind(&sealed)
            .bind(now)
            .bind(&sealed_calls)
            .bind(user_id)
            .bind(&index.words)
            .bind(&index.prefixes)
            .bind(key_id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(TOUCH_CONVERSATION).bind(now).bind(conversation_id).execute(&mut *tx).await?;
            tx.commit().await?;
            message
        });
        Ok(message.opened(self.at_rest()))
    }

    /// Replaces the content of one of the user's messages and deletes every later message of its
    /// conversation, in one transaction; `None` when the user has no such user message there.
    pub async fn replace_from(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
        content: &str,
    ) -> Result<Option<Message>, DbError> {
        let (index, key_id) = self.index_of(user_id, content);
        let sealed = self.at_rest().seal(content);
        let _turn = self.write_turn().await?;
        let message = on_pool!(self, |pool| {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let message = sqlx::query_as::<_, Message>(
                "UPDATE messages SET content = $1, index_words = $5, index_prefixes = $6, indexed_with = $7
                 WHERE id = $2 AND conversation_id = $3 AND role = 'user'
                   AND conversation_id IN (SELECT id FROM conversations WHERE id = $3 AND user_id = $4)
                 RETURNING id, conversation_id, role, content, created_at, tool_calls",
            )
            .bind(&sealed)
            .bind(message_id)
            .bind(conversation_id)
            .bind(user_id)
            .bind(&index.words)
            .bind(&index.prefixes)
            .bind(key_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(message) = &message {
                sqlx::query("DELETE FROM messages WHERE conversation_id = $1 AND (created_at, id) > ($2, $3)")
                    .bind(conversation_id)
                    .bind(message.created_at)
                    .bind(message.id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(TOUCH_CONVERSATION).bind(db_now()).bind(conversation_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            message
        });
        Ok(message.map(|m| m.opened(self.at_rest())))
    }

    /// Stores a conversation's history in one transaction, alternating user and assistant messages with
    /// the given contents, a microsecond apart (imports and benchmarks: `add_message` per message would
    /// commit each one). Rows go in a few hundred per statement, which both backends take as one
    /// `VALUES` list (well under SQLite's limit of 32,766 parameters).
    pub async fn add_message_history(&self, conversation_id: Uuid, contents: &[String]) -> Result<(), DbError> {
        const ROWS_PER_STATEMENT: usize = 500;
        const COLUMNS: usize = 9;
        let (user_id,): (Uuid,) =
            on_pool!(self, |pool| sqlx::query_as("SELECT user_id FROM conversations WHERE id = $1")
                .bind(conversation_id)
                .fetch_one(pool)
                .await)?;
        let rows: Vec<(String, crate::support::at_rest::IndexedText)> =
            contents.iter().map(|content| (self.at_rest().seal(content), self.index_of(user_id, content).0)).collect();
        let key_id = self.at_rest().search_key().id();
        let _turn = self.write_turn().await?;
        let start = db_now();
        let statement = |rows: usize| {
            let values: Vec<String> = (0..rows)
                .map(|row| {
                    let placeholders: Vec<String> = (1..=COLUMNS).map(|n| format!("${}", row * COLUMNS + n)).collect();
                    format!("({})", placeholders.join(", "))
                })
                .collect();
            format!(
                "INSERT INTO messages (id, conversation_id, role, content, created_at,
                                       user_id, index_words, index_prefixes, indexed_with) VALUES {}",
                values.join(", ")
            )
        };
        let full = statement(ROWS_PER_STATEMENT);
        on_pool!(self, |pool| {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            for (batch, chunk) in rows.chunks(ROWS_PER_STATEMENT).enumerate() {
                let partial;
                let sql = if chunk.len() == ROWS_PER_STATEMENT {
                    full.as_str()
                } else {
                    partial = statement(chunk.len());
                    partial.as_str()
                };
                let mut query = sqlx::query(sql);
                for (i, (content, index)) in chunk.iter().enumerate() {
                    let n = batch * ROWS_PER_STATEMENT + i;
                    let role = if n.is_multiple_of(2) { "user" } else { "assistant" };
                    query = query
                        .bind(Uuid::now_v7())
                        .bind(conversation_id)
                        .bind(role)
                        .bind(content)
                        .bind(start + chrono::Duration::microseconds(n as i64))
                        .bind(user_id)
                        .bind(&index.words)
                        .bind(&index.prefixes)
                        .bind(key_id);
                }
                query.execute(&mut *tx).await?;
            }
            let last = start + chrono::Duration::microseconds(contents.len() as i64);
            sqlx::query(TOUCH_CONVERSATION).bind(last).bind(conversation_id).execute(&mut *tx).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// Sets the title only if it is still the default, so a first message names a new chat but never
    /// overrides a title the user chose.
    pub async fn set_title_if_default(&self, user_id: Uuid, conversation_id: Uuid, title: &str) -> Result<(), DbError> {
        let (index, key_id) = self.index_of(user_id, title);
        let sealed = self.at_rest().seal(title);
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query(
            "UPDATE conversations SET title = $1, default_title = FALSE,
                 index_words = $4, index_prefixes = $5, indexed_with = $6
             WHERE id = $2 AND user_id = $3 AND default_title"
        )
        .bind(&sealed)
        .bind(conversation_id)
        .bind(user_id)
        .bind(&index.words)
        .bind(&index.prefixes)
        .bind(key_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The most recent `max_messages` messages of a conversation, newest first.
    pub async fn recent_messages(&self, conversation_id: Uuid, max_messages: u32) -> Result<Vec<Message>, DbError> {
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, Message>(
            "SELECT id, conversation_id, role, content, created_at, tool_calls FROM messages
             WHERE conversation_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(conversation_id)
        .bind(i64::from(max_messages))
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(|m| m.opened(self.at_rest())).collect())
    }
}
