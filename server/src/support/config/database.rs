//! The database section: `DATABASE_URL` and the pool's limits (`PARLEY_DB_*`).

use std::{str::FromStr, time::Duration};

use sqlx::{postgres::PgConnectOptions, sqlite::SqliteConnectOptions};

use super::reader::Reader;

const DEV_DATABASE_URL: &str = "sqlite://data/parley.db";

/// The pool's size and time limits (from `PARLEY_DB_*`).
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
    /// What stands between Parley and PostgreSQL (`PARLEY_DB_POOLER`).
    pub pooler: Pooler,
}

/// A connection pooler in front of PostgreSQL, as hosted PostgreSQL hands out (Supabase, Neon).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pooler {
    /// Parley's connections are PostgreSQL sessions of their own (direct, or a pooler in session mode).
    #[default]
    None,
    /// A pooler in transaction mode (PgBouncer ≥ 1.21 with `max_prepared_statements`, Supavisor): a server
    /// session is Parley's only for one transaction, so nothing may rest on the session. Parley sends no
    /// startup options (such poolers refuse them), sets its statement timeout on its role in its database
    /// instead, and holds its migration lock for a transaction.
    Transaction,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
            connect_retry: Duration::from_secs(30),
            pooler: Pooler::None,
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
    pub fn parse(url: &str) -> Result<Self, String> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("sqlite") => SqliteConnectOptions::from_str(url).map(DbTarget::Sqlite).map_err(|e| e.to_string()),
            Some("postgres" | "postgresql") => {
                // sqlx accepts a URL without a host and silently uses a local socket; a URL meant for a
                // server must name one, so a typo cannot connect somewhere unexpected.
                let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
                if parsed.host_str().is_none_or(str::is_empty) && !parsed.query_pairs().any(|(k, _)| k == "host") {
                    return Err("a postgres:// URL must name a host".to_owned());
                }
                PgConnectOptions::from_str(url).map(DbTarget::Postgres).map_err(|e| e.to_string())
            }
            _ => Err("it must start with sqlite: or postgres://".to_owned()),
        }
    }
}

/// `DATABASE_URL` (checked, never echoed) and the pool's settings.
pub(super) fn read(env: &mut Reader) -> (String, DatabaseSettings) {
    let url = match env.get("DATABASE_URL") {
        Some(url) => match DbTarget::parse(&url) {
            Ok(_) => url,
            Err(error) => {
                env.problem(format!("DATABASE_URL: the database URL is not valid ({error})"));
                String::new()
            }
        },
        None if env.production => {
            env.problem("DATABASE_URL is missing");
            String::new()
        }
        None => DEV_DATABASE_URL.to_owned(),
    };
    let defaults = DatabaseSettings::default();
    let millis = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
    let mut duration_ms =
        |key: &str, default: Duration| Duration::from_millis(u64::from(env.number(key, millis(default), 100)));
    let acquire_timeout = duration_ms("PARLEY_DB_ACQUIRE_TIMEOUT_MS", defaults.acquire_timeout);
    let statement_timeout = duration_ms("PARLEY_DB_STATEMENT_TIMEOUT_MS", defaults.statement_timeout);
    let pooler = match env.get("PARLEY_DB_POOLER").as_deref() {
        None | Some("" | "none") => Pooler::None,
        Some("transaction") => Pooler::Transaction,
        Some(_) => {
            env.problem("PARLEY_DB_POOLER must be none or transaction");
            Pooler::None
        }
    };
    let settings = DatabaseSettings {
        max_connections: env.number("PARLEY_DB_MAX_CONNECTIONS", defaults.max_connections, 1),
        acquire_timeout,
        statement_timeout,
        connect_retry: Duration::from_secs(u64::from(env.number(
            "PARLEY_DB_CONNECT_RETRY_SECS",
            defaults.connect_retry.as_secs() as u32,
            0,
        ))),
        pooler,
    };
    (url, settings)
}

impl DatabaseSettings {
    /// The pool's settings alone, from `PARLEY_DB_*` (for the commands that need no other configuration,
    /// such as `copy-from-sqlite`): every problem found, or the settings.
    pub fn from_env() -> Result<DatabaseSettings, String> {
        // DATABASE_URL is the command's own business: a placeholder keeps `read` from asking for it.
        let lookup = |key: &str| match key {
            "DATABASE_URL" => Some(DEV_DATABASE_URL.to_owned()),
            _ => std::env::var(key).ok(),
        };
        let mut env = Reader::new(&lookup);
        let (_, settings) = read(&mut env);
        if env.problems.is_empty() { Ok(settings) } else { Err(env.problems.join("; ")) }
    }
}

#[cfg(test)]
pub(super) const DEV_URL: &str = DEV_DATABASE_URL;
