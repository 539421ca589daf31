//! The storage layer: the only module that knows SQL. Handlers, services and server functions call the
//! methods here and never see a query, so a PostgreSQL implementation can sit beside this one later.

mod conversations;
mod logins;
mod rate_limits;
mod sessions;
mod users;

pub use conversations::{Conversation, Message, Page, Position};
pub use logins::{NewRefreshToken, RefreshOutcome};
pub use sessions::{DbSessionStore, SESSION_USER_KEY};
pub use users::User;

use std::{str::FromStr, time::Duration};

use sqlx::{
    migrate::{MigrateError, Migrator},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};

static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// How long a statement waits for another connection's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request waits for a free connection before the database counts as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// How often opening the database is tried while another process holds the lock.
const CONNECT_ATTEMPTS: u64 = 20;

fn is_busy(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|e| e.code()).is_some_and(|code| code == "5" || code == "6")
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database URL is not valid")]
    InvalidUrl(#[source] sqlx::Error),
    #[error("PostgreSQL is not supported by this build yet; use a sqlite: DATABASE_URL")]
    PostgresNotYetSupported,
    #[error("could not create the folder for the database file")]
    CreateDir(#[source] std::io::Error),
    #[error("could not open the database")]
    Connect(#[source] sqlx::Error),
    #[error("could not apply the database migrations")]
    Migrate(#[from] MigrateError),
    #[error("a row with the same unique key already exists")]
    UniqueViolation,
    #[error("database error")]
    Query(#[source] sqlx::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(error: sqlx::Error) -> Self {
        match error.as_database_error() {
            Some(db_error) if db_error.is_unique_violation() => DbError::UniqueViolation,
            _ => DbError::Query(error),
        }
    }
}

/// Seconds since the Unix epoch: how expiries and rate-limit windows are stored.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[derive(Clone, Debug)]
pub struct Database {
    pool: SqlitePool,
}

impl Database {
    /// Opens (creating if needed) the SQLite file named by `url`, with WAL, foreign keys and a busy timeout.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        if url.starts_with("postgres") {
            return Err(DbError::PostgresNotYetSupported);
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(DbError::InvalidUrl)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(DbError::CreateDir)?;
        }
        // Two instances opening one fresh file at once race to switch it to WAL, and SQLite answers the
        // loser "database is locked" at once instead of waiting; a short, bounded retry settles it.
        let mut attempt = 1;
        loop {
            let connected = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options.clone())
                .await;
            match connected {
                Ok(pool) => return Ok(Database { pool }),
                Err(error) if attempt < CONNECT_ATTEMPTS && is_busy(&error) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(error) => return Err(DbError::Connect(error)),
            }
        }
    }

    /// Applies pending migrations. Safe to run again, and safe when several instances start on one fresh
    /// file at once: the whole run holds SQLite's write lock (`BEGIN IMMEDIATE`), so the others wait, then
    /// find nothing left to do.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        MIGRATOR.run(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Proves the database can take a write right now, for `/health`. Taking SQLite's write lock (and
    /// releasing it at once, writing nothing) is the honest probe: in WAL mode reads still succeed while
    /// another process holds the lock, yet every action of the app needs to write.
    pub async fn ping(&self) -> Result<(), DbError> {
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        tx.rollback().await?;
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        self.pool.is_closed()
    }

    /// Waits for checked-out connections to come back, then closes them all.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_postgres_url_is_refused_with_a_clear_reason() {
        let error = Database::connect("postgres://parley@127.0.0.1/parley").await.expect_err("not supported yet");
        assert!(error.to_string().contains("PostgreSQL"), "{error}");
    }
}
