//! Opening a database: reading the URL, the pool's limits, and waiting (boundedly) for a server that is
//! not up yet.

use std::{
    str::FromStr,
    time::{Duration, Instant},
};

use sqlx::{
    ConnectOptions, Connection, PgPool, SqlitePool,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::DbError;

/// The pool's size and time limits (from `PARLEY_DB_*`, see `Config`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseSettings {
    /// Connections this instance keeps at most. With PostgreSQL, instances × this must stay below the
    /// server's `max_connections` (or go through PgBouncer).
    pub max_connections: u32,
    /// How long a request waits for a free (or new) connection before the database counts as unavailable
    /// and the request is answered 503.
    pub acquire_timeout: Duration,
    /// PostgreSQL cancels any statement running longer than this. SQLite waits this long at most for
    /// another connection's write lock.
    pub statement_timeout: Duration,
    /// At start, how long an unreachable PostgreSQL is retried before the binary gives up.
    pub connect_retry: Duration,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
            connect_retry: Duration::from_secs(30),
        }
    }
}

/// A parsed `DATABASE_URL`.
#[derive(Debug)]
pub enum DbTarget {
    Sqlite(SqliteConnectOptions),
    Postgres(PgConnectOptions),
}

impl DbTarget {
    /// Reads the URL; its scheme chooses the backend. Error messages never repeat the URL, which may hold a
    /// password.
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("sqlite") => SqliteConnectOptions::from_str(url)
                .map(DbTarget::Sqlite)
                .map_err(|e| DbError::InvalidUrl(e.to_string())),
            Some("postgres" | "postgresql") => {
                // sqlx accepts a URL without a host and silently uses a local socket; a URL meant for a
                // server must name one, so a typo cannot connect somewhere unexpected.
                let parsed = url::Url::parse(url).map_err(|e| DbError::InvalidUrl(e.to_string()))?;
                if parsed.host_str().is_none_or(str::is_empty) && !parsed.query_pairs().any(|(k, _)| k == "host") {
                    return Err(DbError::InvalidUrl("a postgres:// URL must name a host".to_owned()));
                }
                PgConnectOptions::from_str(url).map(DbTarget::Postgres).map_err(|e| DbError::InvalidUrl(e.to_string()))
            }
            _ => Err(DbError::InvalidUrl("it must start with sqlite: or postgres://".to_owned())),
        }
    }
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
        assert!(matches!(DbTarget::parse("sqlite://data/parley.db"), Ok(DbTarget::Sqlite(_))));
        assert!(matches!(DbTarget::parse("sqlite::memory:"), Ok(DbTarget::Sqlite(_))));
        assert!(matches!(DbTarget::parse("postgres://parley:pw@db.internal:5432/parley"), Ok(DbTarget::Postgres(_))));
        assert!(matches!(DbTarget::parse("postgresql://parley@127.0.0.1/parley"), Ok(DbTarget::Postgres(_))));
    }

    #[test]
    fn malformed_urls_are_clear_errors_that_do_not_repeat_the_url() {
        for url in [
            "mysql://root:hunter2@localhost/db",
            "hunter2",
            "postgres://user:hunter2@:5432/db",
            "postgres://user:hunter2@db.internal:notaport/db",
        ] {
            let error = DbTarget::parse(url).expect_err(url).to_string();
            assert!(error.starts_with("the database URL is not valid"), "{url}: {error}");
            assert!(!error.contains("hunter2"), "{url}: {error}");
        }
    }
}
