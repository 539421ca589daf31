//! Moving a deployment from SQLite to PostgreSQL: every account, login, session, conversation, message and task
//! copied into an empty, migrated PostgreSQL database, in one transaction (all or nothing). Rate-limit
//! counters are left behind: they only matter for the next few minutes.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use uuid::Uuid;

use super::{Database, DbError, Pool};

/// How many rows of each table were copied, in copy order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the source must be a SQLite database and the destination a PostgreSQL one")]
    WrongBackends,
    #[error("the destination already holds {0} users; copy only into an empty database")]
    DestinationNotEmpty(i64),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<sqlx::Error> for CopyError {
    fn from(error: sqlx::Error) -> Self {
        CopyError::Database(error.into())
    }
}

/// Streams `SELECT columns FROM table` out of SQLite as typed tuples and inserts each row into the same
/// table on PostgreSQL; the types check that the two schemas agree. Parents are copied before children,
/// so every foreign key already has its row.
macro_rules! copy_table {
    ($from:expr, $to:expr, $report:expr, $table:literal, $columns:literal, $placeholders:literal,
     ($($index:tt : $type:ty),+ $(,)?)) => {{
        let mut rows = sqlx::query_as::<_, ($($type,)+)>(concat!("SELECT ", $columns, " FROM ", $table)).fetch($from);
        let mut copied = 0u64;
        while let Some(row) = rows.try_next().await? {
            sqlx::query(concat!("INSERT INTO ", $table, " (", $columns, ") VALUES (", $placeholders, ")"))
                $(.bind(row.$index))+
                .execute(&mut *$to)
                .await?;
            copied += 1;
        }
        $report.tables.push(($table, copied));
    }};
}

/// Copies everything from `from` (SQLite) into `to` (PostgreSQL). Both must be migrated; `to` must hold no
/// users yet, so a second run cannot duplicate or mix data.
pub async fn copy_sqlite_to_postgres(from: &Database, to: &Database) -> Result<CopyReport, CopyError> {
    let (Pool::Sqlite(source), Pool::Postgres(destination)) = (&from.pool, &to.pool) else {
        return Err(CopyError::WrongBackends);
    };
    let mut tx = destination.begin().await?;
    let (existing,): (i64,) = sqlx::query_as("SELECT count(*) FROM users").fetch_one(&mut *tx).await?;
    if existing > 0 {
        return Err(CopyError::DestinationNotEmpty(existing));
    }
    let mut report = CopyReport::default();
    copy_table!(source, tx, report, "users",
        "id, email, display_name, password_hash, created_at, updated_at, instructions, terms_accepted_at",
        "$1, $2, $3, $4, $5, $6, $7, $8",
        (0: Uuid, 1: String, 2: Option<String>, 3: String, 4: DateTime<Utc>, 5: DateTime<Utc>, 6: Option<String>,
         7: Option<DateTime<Utc>>));
    copy_table!(source, tx, report, "api_logins", "id, user_id, created_at, revoked_at", "$1, $2, $3, $4",
        (0: Uuid, 1: Uuid, 2: i64, 3: Option<i64>));
    copy_table!(source, tx, report, "refresh_tokens", "token_hash, login_id, expires_at, used_at", "$1, $2, $3, $4",
        (0: Vec<u8>, 1: Uuid, 2: i64, 3: Option<i64>));
    copy_table!(source, tx, report, "sessions", "id, user_id, data, expires_at", "$1, $2, $3, $4",
        (0: String, 1: Option<Uuid>, 2: String, 3: i64));
    // Sealed text and the blind index are copied as stored: the same keys read them on the other side.
    copy_table!(source, tx, report, "conversations",
        "id, user_id, title, created_at, updated_at, default_title, index_words, index_prefixes, indexed_with",
        "$1, $2, $3, $4, $5, $6, $7, $8, $9",
        (0: Uuid, 1: Uuid, 2: String, 3: DateTime<Utc>, 4: DateTime<Utc>, 5: bool, 6: Option<String>,
         7: Option<String>, 8: Option<String>));
    copy_table!(source, tx, report, "messages",
        "id, conversation_id, role, content, created_at, tool_calls, user_id, index_words, index_prefixes, indexed_with",
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10",
        (0: Uuid, 1: Uuid, 2: String, 3: String, 4: DateTime<Utc>, 5: Option<String>, 6: Uuid, 7: Option<String>,
         8: Option<String>, 9: Option<String>));
    copy_table!(source, tx, report, "tasks", "id, user_id, title, description, completed, created_at, updated_at",
        "$1, $2, $3, $4, $5, $6, $7",
        (0: Uuid, 1: Uuid, 2: String, 3: Option<String>, 4: bool, 5: DateTime<Utc>, 6: DateTime<Utc>));
    copy_table!(source, tx, report, "analyses",
        "id, user_id, conversation_id, state, chat_score, summary, error, first_message_id, last_message_id,
         last_message_at, message_count, created_at, updated_at",
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13",
        (0: Uuid, 1: Uuid, 2: Uuid, 3: String, 4: Option<i32>, 5: Option<String>, 6: Option<String>, 7: Uuid,
         8: Uuid, 9: DateTime<Utc>, 10: i32, 11: DateTime<Utc>, 12: DateTime<Utc>));
    tx.commit().await?;
    Ok(report)
}
