//! The storage layer: the only module that knows SQL. Handlers, services and server functions call the
//! methods here and never see a query.
//!
//! Two backends sit behind one [`Database`]: SQLite (an embedded file, the default) and PostgreSQL (one
//! shared server for many instances), chosen by the scheme of `DATABASE_URL`. Every statement is written
//! once, with `$1`-style placeholders that both understand (SQLite binds `$N` to the N-th argument), and
//! [`on_pool!`] expands it against whichever pool this database holds. Only what the two engines really
//! do differently (connecting, locking, the health probe, case-insensitive LIKE, full-text search) is written
//! per backend.

mod account_tokens;
mod analyses;
mod connect;
mod conversations;
mod imports;
mod jobs;
mod logins;
mod rate_limits;
mod reencrypt;
mod search;
mod sessions;
mod tasks;
pub mod transfer;
mod users;

pub use account_tokens::{NewAccountToken, RECOVERY_TOKEN_SECONDS, ResetDone, TokenPurpose, VerifyOutcome};
pub use analyses::{ANALYSIS_JOB, Analysis};
pub use connect::{DatabaseSettings, DbTarget, Pooler, Unreached, target};
pub use conversations::{Conversation, Message, Page, Position};
pub use imports::{Added, IMPORT_JOB, Import, ImportedConversation, ImportedMessage};
pub use jobs::{FailedJob, Job, now_millis};
use logins::end_sign_ins;
pub use logins::{ApiLogin, LoginStart, NewRefreshToken, RefreshOutcome};
pub use reencrypt::{Progress, RewriteReport, SEALED_TABLES};
pub use search::MessageHit;
pub use sessions::{
    BrowserSession, DbSessionStore, SESSION_CLIENT_KEY, SESSION_USER_KEY, SessionClient, forget_signed_in_row,
    public_session_id, signed_in_row,
};
pub use tasks::{Task, TaskChange};
pub use users::{ExternalLogin, ExternalSignIn, NewUser, User};

use std::{
    sync::{Arc, LazyLock},
    time::Duration,
};

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

use crate::support::at_rest::{AtRest, IndexedText};
use sqlx::{
    PgPool, SqlitePool,
    migrate::{MigrateError, Migrator},
};

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");
/// Without sqlx's own lock, which is a session's: [`Database::migrate`] takes one for its transaction.
static POSTGRES_MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("../migrations/postgres");
    migrator.set_locking(false);
    migrator
});

/// The advisory lock key sqlx's migrator takes for `database`, so that an instance of an older release,
/// which still locks through sqlx, and a newer one never migrate at once.
fn migration_lock_id(database: &str) -> i64 {
    // sqlx: 0x3d32ad9e times the CRC-32 (IEEE) of the database's name.
    0x3d32_ad9e * i64::from(crc32fast::hash(database.as_bytes()))
}

/// Sets `statement_timeout` for the current role in `database` (only there), which every server session the
/// pooler opens from now on takes up: a pooler in transaction mode carries no startup option. A role may set
/// its own defaults without any privilege; should a hosted service still refuse, the start goes on with a
/// warning that says what to run by hand (in a savepoint, so the migration transaction survives it).
async fn set_role_statement_timeout(tx: &mut sqlx::PgConnection, database: &str, timeout: Duration) {
    use sqlx::Connection;
    let statement = format!(
        "ALTER ROLE CURRENT_USER IN DATABASE \"{}\" SET statement_timeout = '{}'",
        database.replace('"', "\"\""),
        connect::timeout_ms(timeout)
    );
    let set = async {
        let mut savepoint = tx.begin().await?;
        sqlx::query(&statement).execute(&mut *savepoint).await?;
        savepoint.commit().await
    };
    if let Err(error) = set.await {
        tracing::warn!(error = %error, statement = %statement, "could not set the statement timeout on the database role; run the statement by hand");
    }
}

/// Runs one block of code, written once, against whichever backend `$db` holds. Inside the block `$pool`
/// is the concrete pool (`&SqlitePool` or `&PgPool`), so the compiler checks that every bound value and
/// every row type can be encoded and decoded by both backends. The SQL text itself is checked only when it
/// runs: the integration tests run every statement on both backends.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &$db.pool {
            $crate::db::Pool::Sqlite($pool) => $body,
            $crate::db::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which engine a [`Database`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database URL is not valid ({0})")]
    InvalidUrl(String),
    /// Names where the database was looked for and why it did not answer; never the password.
    #[error("could not reach the database at {target} after {waited_secs} s: {cause}")]
    Unreachable { target: String, waited_secs: u64, cause: String },
    #[error("could not apply the database migrations")]
    Migrate(#[from] MigrateError),
    #[error("a row with the same unique key already exists")]
    UniqueViolation,
    #[error("the text holds a character the database cannot store")]
    UnstorableText,
    #[error("database error")]
    Query(#[source] sqlx::Error),
}

/// What a way in tells of a storage failure: an outage (logged here with its cause), or text the database
/// cannot store.
impl From<DbError> for crate::support::Refusal {
    fn from(error: DbError) -> Self {
        match error {
            DbError::UnstorableText => crate::support::Refusal::Validation(crate::support::one_field_error(
                "text",
                "This text holds a character that cannot be stored.",
            )),
            cause => {
                tracing::error!(error = %crate::support::error_chain(&cause), "database error");
                crate::support::Refusal::Unavailable
            }
        }
    }
}

impl From<sqlx::Error> for DbError {
    fn from(error: sqlx::Error) -> Self {
        match error.as_database_error() {
            Some(db_error) if db_error.is_unique_violation() => DbError::UniqueViolation,
            // PostgreSQL's "invalid byte sequence" (a NUL) and "untranslatable character": the data, not
            // an outage. Requests never get here with a NUL (`web::security::refuse_nul_text`); other
            // paths in (the assistant's tools, copies) must not read it as the database being down.
            Some(db_error) if matches!(db_error.code().as_deref(), Some("22021" | "22P05")) => DbError::UnstorableText,
            _ => DbError::Query(error),
        }
    }
}

/// Seconds since the Unix epoch: how expiries and rate-limit windows are stored.
pub fn unix_now() -> i64 {
    Utc::now().timestamp()
}

/// The current time as both backends store it: PostgreSQL keeps microseconds, so every timestamp is cut
/// to microseconds before it is written. The same value then sorts and compares the same everywhere.
pub fn db_now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

#[derive(Clone, Debug)]
pub struct Database {
    pub(crate) pool: Pool,
    /// SQLite only: the turn to write (see [`Database::write_turn`]).
    write_gate: Option<Arc<WriteGate>>,
    /// How text people write is stored: every write of it seals and indexes through this, every read opens.
    at_rest: Arc<AtRest>,
    /// PostgreSQL behind a pooler in transaction mode: the statement timeout to set on Parley's role in its
    /// database, since no startup option can carry it.
    role_statement_timeout: Option<Duration>,
}

/// SQLite lets one connection write at a time, and a connection that finds the lock taken polls for it
/// with growing sleeps, so under many concurrent writers an unlucky one keeps losing the race until its
/// timeout (a 503), while holding a pool connection all along. Writers of this process therefore queue
/// here first, in arrival order, and reach SQLite one at a time; readers never wait (WAL). PostgreSQL
/// locks rows, not the database, and needs none of this.
#[derive(Debug)]
struct WriteGate {
    turn: tokio::sync::Mutex<()>,
    /// The longest wait for the turn, as for a pool connection, before the database counts as unavailable.
    timeout: Duration,
}

/// Held while writing; dropping it gives the next writer its turn.
pub(crate) struct WriteTurn<'a>(#[allow(dead_code)] Option<tokio::sync::MutexGuard<'a, ()>>);

impl Database {
    /// Opens the database named by `url` (`sqlite:` or `postgres:`/`postgresql:`) with default settings.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        Self::connect_with(url, &DatabaseSettings::default()).await
    }

    /// Opens the database named by `url` and waits until it answers: an unreachable server is retried for
    /// `settings.connect_retry`, then reported by host and cause; bad credentials are reported at once.
    /// For the commands that need the database to do anything at all; the server itself starts without it
    /// (see [`Database::open`]).
    pub async fn connect_with(url: &str, settings: &DatabaseSettings) -> Result<Self, DbError> {
        let db = Self::open(url, settings)?;
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let unreached = match db.reach().await {
                Ok(()) => return Ok(db),
                Err(unreached) => unreached,
            };
            if unreached.permanent || started.elapsed() >= settings.connect_retry {
                let Unreached { target, cause, .. } = unreached;
                return Err(DbError::Unreachable { target, waited_secs: started.elapsed().as_secs(), cause });
            }
            tracing::warn!(database = %unreached.target, cause = %unreached.cause, "database not reachable yet; retrying");
            tokio::time::sleep(pause.min(settings.connect_retry.saturating_sub(started.elapsed()))).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// The database named by `url`, without touching it: only a malformed URL fails here. Connections are
    /// made when first needed; [`Database::reach`] tells whether they can be.
    pub fn open(url: &str, settings: &DatabaseSettings) -> Result<Self, DbError> {
        let (pool, write_gate) = match connect::target(url)? {
            DbTarget::Sqlite(options) => {
                let gate = WriteGate { turn: tokio::sync::Mutex::new(()), timeout: settings.acquire_timeout };
                (Pool::Sqlite(connect::sqlite(options, settings)), Some(Arc::new(gate)))
            }
            DbTarget::Postgres(options) => (Pool::Postgres(connect::postgres(options, settings)), None),
        };
        let role_statement_timeout = match (&pool, settings.pooler) {
            (Pool::Postgres(_), Pooler::Transaction) => Some(settings.statement_timeout),
            _ => None,
        };
        Ok(Database { pool, write_gate, at_rest: Arc::new(AtRest::default()), role_statement_timeout })
    }

    /// One attempt to reach the database (bounded by the pool's acquire timeout), and why it failed.
    pub async fn reach(&self) -> Result<(), Unreached> {
        match &self.pool {
            Pool::Sqlite(pool) => connect::reach_sqlite(pool).await,
            Pool::Postgres(pool) => connect::reach_postgres(pool).await,
        }
    }

    /// This database, storing text people write as `at_rest` says (the default: plain text, public search key).
    pub fn with_at_rest(mut self, at_rest: AtRest) -> Self {
        self.at_rest = Arc::new(at_rest);
        self
    }

    pub(crate) fn at_rest(&self) -> &AtRest {
        &self.at_rest
    }

    /// The search index of `text`, written by `user_id`: with the id of the key that made it.
    pub(crate) fn index_of(&self, user_id: Uuid, text: &str) -> (IndexedText, &str) {
        let key = self.at_rest.search_key();
        (key.for_user(user_id).index(text), key.id())
    }

    /// Waits for this process's turn to write (SQLite; at once on PostgreSQL). Every method that writes
    /// takes it first, and calls no other method that writes while holding it.
    pub(crate) async fn write_turn(&self) -> Result<WriteTurn<'_>, DbError> {
        let Some(gate) = &self.write_gate else { return Ok(WriteTurn(None)) };
        match tokio::time::timeout(gate.timeout, gate.turn.lock()).await {
            Ok(guard) => Ok(WriteTurn(Some(guard))),
            Err(_) => Err(DbError::Query(sqlx::Error::PoolTimedOut)),
        }
    }

    /// How to start a transaction that will write. On SQLite, a deferred transaction that another process
    /// (a second instance on the same file, `parley reencrypt`) writes past fails at once with "database is
    /// locked" instead of waiting its turn, so every writing transaction takes the write lock up front
    /// (`BEGIN IMMEDIATE`, which waits as long as the busy timeout allows).
    pub(crate) fn begin_write(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations. Safe to run again, and safe when several instances start on one empty
    /// database at once: the whole run is one transaction holding a lock, so the others wait, then find
    /// nothing left to do. SQLite: the write lock (`BEGIN IMMEDIATE`). PostgreSQL: an advisory lock held to
    /// the end of the transaction, not of the session as sqlx's own would be: behind a pooler in transaction
    /// mode a session lock can be taken on one server connection and released on another, and then stays.
    /// Each migration is a savepoint; a failing one undoes the whole run.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                // `run_direct`, not `run`: `run`'s generic `Acquire` bound keeps the compiler from proving a
                // spawned task that awaits this `Send`.
                SQLITE_MIGRATOR.run_direct(&mut *tx).await?;
                tx.commit().await?;
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&mut *tx).await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(migration_lock_id(&database))
                    .execute(&mut *tx)
                    .await?;
                POSTGRES_MIGRATOR.run_direct(&mut *tx).await?;
                if let Some(timeout) = self.role_statement_timeout {
                    set_role_statement_timeout(&mut tx, &database, timeout).await;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Proves the database can take a write right now, for `/health`. On SQLite, taking the write lock
    /// (and releasing it at once, writing nothing) is the honest probe: in WAL mode reads still succeed
    /// while another process holds the lock, yet every action of the app needs to write. PostgreSQL has no
    /// database-wide write lock; a round trip on a pooled connection is what can fail there.
    pub async fn ping(&self) -> Result<(), DbError> {
        match &self.pool {
            Pool::Sqlite(pool) => pool.begin_with("BEGIN IMMEDIATE").await?.rollback().await?,
            Pool::Postgres(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        on_pool!(self, |pool| pool.is_closed())
    }

    /// Waits for checked-out connections to come back, then closes them all.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_migration_lock_is_the_key_sqlx_takes() {
        // sqlx 0.8's generate_lock_id("parley"); by hand: 0x3d32ad9e * zlib.crc32(b"parley") in Python.
        assert_eq!(super::migration_lock_id("parley"), 3_016_313_030_835_581_524);
    }
}
