//! Opening a database: reading the URL, the pool's limits, and waiting (boundedly) for a server that is
//! not up yet.

use std::time::{Duration, Instant};

use sqlx::{
    ConnectOptions, Connection, PgPool, SqlitePool,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::DbError;
pub use crate::support::config::{DatabaseSettings, DbTarget};

/// Reads `DATABASE_URL` (see [`DbTarget::parse`]) as this layer's error.
pub fn target(url: &str) -> Result<DbTarget, DbError> {
    DbTarget::parse(url).map_err(DbError::InvalidUrl)
}

/// Opens (creating if needed) a SQLite file with WAL, foreign keys and a busy timeout.
pub(super) async fn sqlite(options: SqliteConnectOptions, settings: &DatabaseSettings) -> Result<SqlitePool, DbError> {
    /// How often opening the database is tried while another process holds the lock.
    const CONNECT_ATTEMPTS: u64 = 20;

    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL in WAL mode: a commit survives the process being killed (not a power cut), and the
        // fsync happens at checkpoints instead of on every commit.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(settings.statement_timeout);
    if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(DbError::CreateDir)?;
    }
    // Two instances opening one fresh file at once race to switch it to WAL, and SQLite answers the
    // loser "database is locked" at once instead of waiting; a short, bounded retry settles it.
    let mut attempt = 1;
    loop {
        let connected = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            // A file has no far end that could hang up; sqlx's test would cost each query a round trip to
            // the connection's worker thread.
            .test_before_acquire(false)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options.clone())
            .await;
        match connected {
            Ok(pool) => return Ok(pool),
            Err(error) if attempt < CONNECT_ATTEMPTS && is_sqlite_busy(&error) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            Err(error) => {
                return Err(DbError::Unreachable {
                    target: options.get_filename().display().to_string(),
                    waited_secs: 0,
                    cause: cause_of(&error),
                });
            }
        }
    }
}

fn is_sqlite_busy(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|e| e.code()).is_some_and(|code| code == "5" || code == "6")
}

/// A PostgreSQL connection idle at least this long is pinged before it is used again.
const TEST_CONNECTIONS_IDLE_FOR: Duration = Duration::from_secs(1);

/// Opens a pool on PostgreSQL, waiting up to `settings.connect_retry` for the server to answer.
pub(super) async fn postgres(options: PgConnectOptions, settings: &DatabaseSettings) -> Result<PgPool, DbError> {
    let target = format!("{}:{}/{}", options.get_host(), options.get_port(), options.get_database().unwrap_or(""));
    let options = options
        .application_name("parley")
        .options([("statement_timeout", format!("{}ms", settings.statement_timeout.as_millis()))]);
    let pool = PgPoolOptions::new()
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
        .connect_lazy_with(options.clone());

    // Probe with single connections rather than the pool: the pool retries a refused connection until its
    // acquire timeout and then reports only that it timed out, and the operator needs the real cause.
    let started = Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        let attempt = tokio::time::timeout(settings.acquire_timeout, options.connect()).await;
        let error = match attempt {
            Ok(Ok(connection)) => {
                let _ = connection.close().await;
                return Ok(pool);
            }
            Ok(Err(error)) => error,
            Err(_) => sqlx::Error::PoolTimedOut,
        };
        // Bad credentials or a missing database will not fix themselves: no point waiting.
        if is_permanent(&error) || started.elapsed() >= settings.connect_retry {
            return Err(DbError::Unreachable {
                target,
                waited_secs: started.elapsed().as_secs(),
                cause: cause_of(&error),
            });
        }
        tracing::warn!(database = %target, cause = %cause_of(&error), "database not reachable yet; retrying");
        let left = settings.connect_retry.saturating_sub(started.elapsed());
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
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
