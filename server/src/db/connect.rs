//! Opening a database: reading the URL, the pool's limits, and reaching the server. Opening does no I/O
//! (the pools connect on first use), so an instance can start, bind and say it is unhealthy while its
//! database is away; [`reach`](super::Database::reach) is one attempt to get through.

use std::time::Duration;

use sqlx::{
    ConnectOptions, Connection, PgPool, SqlitePool,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::DbError;
pub use crate::support::config::{DatabaseSettings, DbTarget, Pooler};

/// Reads `DATABASE_URL` (see [`DbTarget::parse`]) as this layer's error.
pub fn target(url: &str) -> Result<DbTarget, DbError> {
    DbTarget::parse(url).map_err(DbError::InvalidUrl)
}

/// Why one attempt to reach the database failed: where it was looked for, the innermost cause in one line
/// (never a password), and whether waiting could help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreached {
    pub target: String,
    pub cause: String,
    /// Bad credentials, a missing database, a folder that cannot be made: a person must act. A server that
    /// is not up yet is not permanent.
    pub permanent: bool,
}

/// A pool on a SQLite file (created, with its folder, on first use) with WAL, foreign keys and a busy
/// timeout.
pub(super) fn sqlite(options: SqliteConnectOptions, settings: &DatabaseSettings) -> SqlitePool {
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL in WAL mode: a commit survives the process being killed (not a power cut), and the
        // fsync happens at checkpoints instead of on every commit.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(settings.statement_timeout);
    SqlitePoolOptions::new()
        .max_connections(settings.max_connections)
        // A file has no far end that could hang up; sqlx's test would cost each query a round trip to
        // the connection's worker thread.
        .test_before_acquire(false)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with(options)
}

/// One attempt to open the SQLite file (making its folder first). Two instances opening one fresh file at
/// once race to switch it to WAL, and SQLite answers the loser "database is locked" at once instead of
/// waiting: that is not permanent, the next attempt settles it.
pub(super) async fn reach_sqlite(pool: &SqlitePool) -> Result<(), Unreached> {
    let options = pool.connect_options();
    let file = options.get_filename();
    let unreached = |cause: String, permanent: bool| Unreached { target: file.display().to_string(), cause, permanent };
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| unreached(format!("could not create its folder: {e}"), true))?;
    }
    match pool.acquire().await {
        Ok(_) => Ok(()),
        Err(error) => Err(unreached(cause_of(&error), !is_sqlite_busy(&error))),
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED, extended codes included (sqlx reports e.g. 517, BUSY_SNAPSHOT).
fn is_sqlite_busy(error: &sqlx::Error) -> bool {
    let code = error.as_database_error().and_then(|e| e.code()).and_then(|code| code.parse::<i32>().ok());
    code.is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

/// A PostgreSQL connection idle at least this long is pinged before it is used again.
const TEST_CONNECTIONS_IDLE_FOR: Duration = Duration::from_secs(1);

/// A pool on PostgreSQL; connections are made as requests need them.
pub(super) fn postgres(options: PgConnectOptions, settings: &DatabaseSettings) -> PgPool {
    let options = options.application_name("parley");
    let options = match settings.pooler {
        Pooler::None => options.options([("statement_timeout", timeout_ms(settings.statement_timeout))]),
        // A pooler in transaction mode refuses startup parameters it cannot carry from one server session to
        // the next: the timeout goes on the role instead (`Database::migrate`), and sqlx's
        // `extra_float_digits` (Parley reads no floats) is left out.
        Pooler::Transaction => options.extra_float_digits(None),
    };
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        // A connection that sat idle may have been cut by the server or a proxy: test it before use, and
        // let idle ones go, so a database restart costs no request an error. sqlx's own test pings on every
        // acquire, a round trip per query on top of the one it already makes when a connection is released
        // (which proves a busy connection sound); only one idle for a while is tested here.
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= TEST_CONNECTIONS_IDLE_FOR {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
        .idle_timeout(Duration::from_secs(300))
        .connect_lazy_with(options)
}

/// A duration as PostgreSQL reads a `statement_timeout`.
pub(super) fn timeout_ms(timeout: Duration) -> String {
    format!("{}ms", timeout.as_millis())
}

/// One attempt to reach PostgreSQL, on a single connection of its own rather than through the pool: the
/// pool retries a refused connection until its acquire timeout and then reports only that it timed out,
/// and the operator needs the real cause.
pub(super) async fn reach_postgres(pool: &PgPool) -> Result<(), Unreached> {
    let options = pool.connect_options();
    let target = format!("{}:{}/{}", options.get_host(), options.get_port(), options.get_database().unwrap_or(""));
    let error = match tokio::time::timeout(pool.options().get_acquire_timeout(), options.connect()).await {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            return Ok(());
        }
        Ok(Err(error)) => error,
        Err(_) => sqlx::Error::PoolTimedOut,
    };
    Err(Unreached { target, cause: cause_of(&error), permanent: is_permanent(&error) })
}

/// Authentication failures (28xxx) and a missing database (3D000) are configuration errors.
fn is_permanent(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|e| e.code()).is_some_and(|code| code.starts_with("28") || code == "3D000")
}

/// The innermost cause of a connection failure in one line, e.g. "Connection refused (os error 111)".
fn cause_of(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::PoolTimedOut => "no answer in time".to_owned(),
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_chooses_the_backend() {
        assert!(matches!(target("sqlite://data/parley.db"), Ok(DbTarget::Sqlite(_))));
        assert!(matches!(target("sqlite::memory:"), Ok(DbTarget::Sqlite(_))));
        assert!(matches!(target("postgres://parley:pw@db.internal:5432/parley"), Ok(DbTarget::Postgres(_))));
        assert!(matches!(target("postgresql://parley@127.0.0.1/parley"), Ok(DbTarget::Postgres(_))));
    }

    #[test]
    fn malformed_urls_are_clear_errors_that_do_not_repeat_the_url() {
        for url in [
            "mysql://root:hunter2@localhost/db",
            "hunter2",
            "postgres://user:hunter2@:5432/db",
            "postgres://user:hunter2@db.internal:notaport/db",
        ] {
            let error = target(url).expect_err(url).to_string();
            assert!(error.starts_with("the database URL is not valid"), "{url}: {error}");
            assert!(!error.contains("hunter2"), "{url}: {error}");
        }
    }
}
