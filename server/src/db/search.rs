//! Full-text search over a user's messages, on each backend's own index: SQLite's FTS5 table
//! `messages_fts` and PostgreSQL's `messages.search_vector` (GIN), both made by the migrations. The query
//! arrives parsed ([`SearchQuery`]), so nothing a person types reaches either engine's query syntax.
//!
//! The statements differ only in how they match and rank, so each is written once with those two pieces
//! spliced in per backend. Ranking is best first: bm25 on SQLite (lower is better), `ts_rank` normalised
//! by document length on PostgreSQL (higher is better, so it is negated); ties go to the newer message.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Backend, Conversation, Database, DbError, Position, on_pool};
use crate::support::search_text::SearchQuery;

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

/// The two pieces of SQL that differ per backend: which messages match `$1` (the query in the engine's
/// syntax), and the score to sort by, ascending.
macro_rules! message_search_sql {
    (sqlite, $sql:ident $(, $extra:literal)*) => {
        $sql!($($extra,)*
            "messages_fts JOIN messages m ON m.rowid = messages_fts.rowid",
            "messages_fts MATCH $1",
            "bm25(messages_fts)"
        )
    };
    (postgres, $sql:ident $(, $extra:literal)*) => {
        $sql!($($extra,)*
            "messages m",
            "m.search_vector @@ to_tsquery('simple', parley_unaccent($1))",
            "-ts_rank(m.search_vector, to_tsquery('simple', parley_unaccent($1)), 1)"
        )
    };
}

macro_rules! hits_sql {
    ($from:literal, $matches:literal, $score:literal) => {
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

/// Conversations whose title contains `$4` (`$like`: LIKE folds ASCII case on SQLite, ILIKE is needed on
/// PostgreSQL) or that hold a matching message; `$5` is the limit.
macro_rules! conversations_sql {
    ($like:literal, $from:literal, $matches:literal, $score:literal) => {
        concat!(
            r"SELECT c.id, c.title, c.created_at, c.updated_at FROM conversations c
             WHERE c.user_id = $2 AND (c.updated_at, c.id) < ($6, $3)
               AND (c.title ",
            $like,
            r" $4 ESCAPE '\'
                    OR c.id IN (SELECT m.conversation_id FROM ",
            $from,
            " WHERE ",
            $matches,
            "))
             ORDER BY c.updated_at DESC, c.id DESC LIMIT $5"
        )
    };
}

/// The conversation filter when the search has no words: titles only.
macro_rules! title_only_sql {
    ($like:literal) => {
        concat!(
            r"SELECT c.id, c.title, c.created_at, c.updated_at FROM conversations c
             WHERE c.user_id = $1 AND (c.updated_at, c.id) < ($2, $3) AND c.title ",
            $like,
            r" $4 ESCAPE '\'
             ORDER BY c.updated_at DESC, c.id DESC LIMIT $5"
        )
    };
}

impl Database {
    /// The user's messages that match `query`, best first: `limit` of them after skipping `offset`.
    /// An empty query (no words at all) matches nothing.
    pub async fn search_messages(
        &self,
        user_id: Uuid,
        query: &SearchQuery,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<MessageHit>, DbError> {
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let (sql, text) = match self.backend() {
            Backend::Sqlite => (message_search_sql!(sqlite, hits_sql), query.fts5()),
            Backend::Postgres => (message_search_sql!(postgres, hits_sql), query.tsquery()),
        };
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, MessageHit>(sql)
            .bind(&text)
            .bind(user_id)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(pool)
            .await)
        .or_else(no_match_if_unparsable)?)
    }

    /// The conversation list filtered by a search: `fetch` rows after `after`, newest first.
    pub(super) async fn search_conversations(
        &self,
        user_id: Uuid,
        fetch: i64,
        after: Position,
        query: &SearchQuery,
    ) -> Result<Vec<Conversation>, DbError> {
        let pattern = like_pattern(&query.text);
        // Without a word to look up in the index, only titles can match (an empty index query would be a
        // syntax error on SQLite, so it is never sent).
        if query.is_empty() {
            let sql = match self.backend() {
                Backend::Sqlite => title_only_sql!("LIKE"),
                Backend::Postgres => title_only_sql!("ILIKE"),
            };
            return Ok(on_pool!(self, |pool| sqlx::query_as::<_, Conversation>(sql)
                .bind(user_id)
                .bind(after.at)
                .bind(after.id)
                .bind(&pattern)
                .bind(fetch)
                .fetch_all(pool)
                .await)?);
        }
        let (sql, text) = match self.backend() {
            Backend::Sqlite => (message_search_sql!(sqlite, conversations_sql, "LIKE"), query.fts5()),
            Backend::Postgres => (message_search_sql!(postgres, conversations_sql, "ILIKE"), query.tsquery()),
        };
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, Conversation>(sql)
            .bind(&text)
            .bind(user_id)
            .bind(after.id)
            .bind(&pattern)
            .bind(fetch)
            .bind(after.at)
            .fetch_all(pool)
            .await)
        .or_else(no_match_if_unparsable)?)
    }
}

/// The query is built from letters and digits only, so the engine should never find it unparsable; if a
/// future unaccent rule (PostgreSQL) ever made it so, the search finds nothing rather than failing.
fn no_match_if_unparsable<T>(error: sqlx::Error) -> Result<Vec<T>, sqlx::Error> {
    let syntax_error = error.as_database_error().and_then(|e| e.code()).is_some_and(|code| code == "42601");
    if syntax_error {
        tracing::warn!(error = %error, "a search query was not understood by the database");
        return Ok(Vec::new());
    }
    Err(error)
}

/// A LIKE pattern matching `text` anywhere, with LIKE's own wildcards in `text` taken literally.
fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_wildcards_in_a_search_are_literal() {
        assert_eq!(like_pattern("keyset"), "%keyset%");
        assert_eq!(like_pattern("100%_done"), r"%100\%\_done%");
        assert_eq!(like_pattern(r"a\b"), r"%a\\b%");
    }
}
