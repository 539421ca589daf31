//! Full-text search over a user's messages and titles, on each backend's own index: SQLite's FTS5 tables
//! `messages_fts` and `conversations_fts`, PostgreSQL's `search_vector` columns (GIN), all made by the
//! migrations over the rows' blind index (`support::at_rest`: keyed hashes of the words, never the words).
//! The query arrives parsed and hashed with the user's key ([`BlindQuery`]), so nothing a person types
//! reaches either engine's query syntax, and another user's messages cannot match at all.
//!
//! The statements differ only in how they match and rank, so each is written once with those pieces
//! spliced in per backend. Ranking is best first: bm25 on SQLite (lower is better), `ts_rank` normalised
//! by document length on PostgreSQL (higher is better, so it is negated); ties go to the newer message.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Backend, Conversation, Database, DbError, Position, on_pool};
use crate::support::{at_rest::BlindQuery, search_text::SearchQuery};

/// A message that matched, with the title of its conversation.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MessageHit {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub conversation_title: String,
    pub role: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

/// The pieces of SQL that differ per backend: the user's messages that match `$1` (the query in the
/// engine's syntax; `$2` is the user), the score to sort them by, ascending, and the conversations whose
/// title matches `$1`.
macro_rules! search_sql {
    (sqlite, $sql:ident) => {
        $sql!(
            "messages_fts JOIN messages m ON m.rowid = messages_fts.rowid",
            "messages_fts MATCH $1 AND m.user_id = $2",
            "bm25(messages_fts)",
            "c.rowid IN (SELECT rowid FROM conversations_fts WHERE conversations_fts MATCH $1)"
        )
    };
    // No `m.user_id = $2` on PostgreSQL: the tokens are the user's own (keyed per user) and the statements
    // check the owner of the message's conversation. With it, the generic plan PostgreSQL settles on for
    // this prepared statement ANDs the few index matches with every row of the user from `messages_user`:
    // 300 ms instead of under 5 for a 10-match search of a 1,000,000-message history (bench/run.sh).
    (postgres, $sql:ident) => {
        $sql!(
            "messages m",
            "m.search_vector @@ to_tsquery('simple', $1)",
            "-ts_rank(m.search_vector, to_tsquery('simple', $1), 1)",
            "c.search_vector @@ to_tsquery('simple', $1)"
        )
    };
}

macro_rules! hits_sql {
    ($from:literal, $matches:literal, $score:literal, $title_matches:literal) => {
        concat!(
            "SELECT m.id, m.conversation_id, c.title AS conversation_title, m.role, m.content, m.created_at
             FROM ",
            $from,
            " JOIN conversations c ON c.id = m.conversation_id
             WHERE ",
            $matches,
            " AND c.user_id = $2
             ORDER BY ",
            $score,
            ", m.created_at DESC, m.id DESC
             LIMIT $3 OFFSET $4"
        )
    };
}

/// Conversations whose title matches, or that hold a matching message; `$5` is the limit.
macro_rules! conversations_sql {
    ($from:literal, $matches:literal, $score:literal, $title_matches:literal) => {
        concat!(
            r"SELECT c.id, c.title, c.created_at, c.updated_at FROM conversations c
             WHERE c.user_id = $2 AND (c.updated_at, c.id) < ($4, $3)
               AND (",
            $title_matches,
            " OR c.id IN (SELECT m.conversation_id FROM ",
            $from,
            " WHERE ",
            $matches,
            "))
             ORDER BY c.updated_at DESC, c.id DESC LIMIT $5"
        )
    };
}

impl Database {
    /// The user's query in the index's terms: their words hashed with their key, in the engine's syntax.
    fn blind_query(&self, user_id: Uuid, query: &SearchQuery) -> Option<String> {
        let blind: BlindQuery = self.at_rest().search_key().for_user(user_id).query(query);
        if blind.is_empty() {
            return None;
        }
        Some(match self.backend() {
            Backend::Sqlite => blind.fts5(),
            Backend::Postgres => blind.tsquery(),
        })
    }

    /// The user's messages that match `query`, best first: `limit` of them after skipping `offset`.
    /// An empty query (no words at all) matches nothing.
    pub async fn search_messages(
        &self,
        user_id: Uuid,
        query: &SearchQuery,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<MessageHit>, DbError> {
        let Some(text) = self.blind_query(user_id, query) else { return Ok(Vec::new()) };
        let sql = match self.backend() {
            Backend::Sqlite => search_sql!(sqlite, hits_sql),
            Backend::Postgres => search_sql!(postgres, hits_sql),
        };
        let hits = on_pool!(self, |pool| sqlx::query_as::<_, MessageHit>(sql)
            .bind(&text)
            .bind(user_id)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(pool)
            .await)
        .or_else(no_match_if_unparsable)?;
        let at_rest = self.at_rest();
        Ok(hits
            .into_iter()
            .map(|hit| MessageHit {
                conversation_title: at_rest.open(hit.conversation_title),
                content: at_rest.open(hit.content),
                ..hit
            })
            .collect())
    }

    /// The conversation list filtered by a search: `fetch` rows after `after`, newest first. A search with
    /// no words (only punctuation) matches nothing, as in [`Database::search_messages`].
    pub(super) async fn search_conversations(
        &self,
        user_id: Uuid,
        fetch: i64,
        after: Position,
        query: &SearchQuery,
    ) -> Result<Vec<Conversation>, DbError> {
        let Some(text) = self.blind_query(user_id, query) else { return Ok(Vec::new()) };
        let sql = match self.backend() {
            Backend::Sqlite => search_sql!(sqlite, conversations_sql),
            Backend::Postgres => search_sql!(postgres, conversations_sql),
        };
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, Conversation>(sql)
            .bind(&text)
            .bind(user_id)
            .bind(after.id)
            .bind(after.at)
            .bind(fetch)
            .fetch_all(pool)
            .await)
        .or_else(no_match_if_unparsable)?)
    }
}

/// The query is built from hashes of letters only, so the engine should never find it unparsable; if it
/// ever did, the search finds nothing rather than failing.
fn no_match_if_unparsable<T>(error: sqlx::Error) -> Result<Vec<T>, sqlx::Error> {
    let syntax_error = error.as_database_error().and_then(|e| e.code()).is_some_and(|code| code == "42601");
    if syntax_error {
        tracing::warn!(error = %error, "a search query was not understood by the database");
        return Ok(Vec::new());
    }
    Err(error)
}
