//! Browser sessions: the tower-sessions store, kept in the application's database so that sessions survive
//! restarts and every instance sees the same ones.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
};
use uuid::Uuid;

use super::{Database, DbError, User, on_pool, unix_now};

/// The session key holding the signed-in user's id.
pub const SESSION_USER_KEY: &str = "user_id";
/// The session key under which a loaded record carries its user's row (see `DbSessionStore::load`).
const SESSION_USER_ROW_KEY: &str = "_user_row";
/// The session key holding where and when the browser signed in ([`SessionClient`]), for the sessions list.
pub const SESSION_CLIENT_KEY: &str = "client";

/// Where a browser session or API login comes from, as the sessions list shows it.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct SessionClient {
    /// When it signed in (Unix seconds).
    pub since: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl SessionClient {
    /// The longest user agent kept; browsers send about 150 characters.
    const MAX_USER_AGENT_CHARS: usize = 512;

    pub fn new(user_agent: Option<&str>, ip: &str) -> Self {
        SessionClient {
            since: unix_now(),
            user_agent: user_agent.map(|ua| ua.chars().take(Self::MAX_USER_AGENT_CHARS).collect()),
            ip: Some(ip.to_owned()),
        }
    }
}

/// One signed-in browser session as the sessions list shows it. `public_id` stands for the session id,
/// which is a secret (the cookie) and never leaves the server.
#[derive(Clone, Debug)]
pub struct BrowserSession {
    pub public_id: Uuid,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// The public stand-in for a session id: the first 128 bits of its SHA-256, shown as a UUID.
pub fn public_session_id(session_id: &str) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("parley-session:{session_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// A rolling expiry is pushed forward in storage at most this often: a page view that changes nothing in
/// the session then writes nothing at all.
const EXPIRY_REFRESH_SECS: i64 = 3600;
/// The most sessions whose last stored state this instance remembers; past it, it starts over.
const REMEMBERED_SESSIONS: usize = 100_000;

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Database,
    /// What this instance last read or wrote for each session id: a hash of the data and the expiry.
    stored: Arc<Mutex<HashMap<String, (u64, i64)>>>,
}

impl DbSessionStore {
    pub fn new(db: Database) -> Self {
        DbSessionStore { db, stored: Arc::default() }
    }

    fn remember(&self, id: &Id, data: &str, expires_at: i64) {
        if let Ok(mut stored) = self.stored.lock() {
            if stored.len() >= REMEMBERED_SESSIONS {
                stored.clear();
            }
            stored.insert(id.to_string(), (hash_of(data), expires_at));
        }
    }

    fn forget(&self, id: &Id) {
        if let Ok(mut stored) = self.stored.lock() {
            stored.remove(&id.to_string());
        }
    }

    /// Whether saving `data` with `expires_at` would only move the expiry forward by less than
    /// [`EXPIRY_REFRESH_SECS`] from what is stored.
    fn unchanged(&self, id: &Id, data: &str, expires_at: i64) -> bool {
        let Ok(stored) = self.stored.lock() else { return false };
        stored.get(&id.to_string()).is_some_and(|(hash, stored_expiry)| {
            *hash == hash_of(data) && expires_at - stored_expiry < EXPIRY_REFRESH_SECS
        })
    }
}

fn hash_of(data: &str) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    static KEYS: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
    KEYS.get_or_init(RandomState::new).hash_one(data)
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

/// The record's data as stored: without the user's row that `load` added for the request, and with its
/// keys in order. The record holds a `HashMap`, whose order differs from one map to the next; in order,
/// a session saved unchanged serialises to the text it was loaded from, so `save` sees that nothing
/// changed and writes nothing.
fn stored_data(data: &HashMap<String, serde_json::Value>) -> session_store::Result<String> {
    let stored: std::collections::BTreeMap<&String, &serde_json::Value> =
        data.iter().filter(|(key, _)| *key != SESSION_USER_ROW_KEY).collect();
    serde_json::to_string(&stored).map_err(|e| session_store::Error::Encode(e.to_string()))
}

/// A session with the columns of the user it is signed in as, all `NULL` when it is not (or the account
/// is gone).
#[derive(sqlx::FromRow)]
struct SessionRow {
    data: String,
    expires_at: i64,
    user_id: Option<Uuid>,
    email: Option<String>,
    display_name: Option<String>,
    instructions: Option<String>,
    email_verified_at: Option<DateTime<Utc>>,
    created_at: Option<DateTime<Utc>>,
    terms_accepted_at: Option<DateTime<Utc>>,
}

impl SessionRow {
    fn user(&self) -> Option<User> {
        Some(User {
            id: self.user_id?,
            email: self.email.clone()?,
            display_name: self.display_name.clone(),
            instructions: self.instructions.clone(),
            email_verified_at: self.email_verified_at,
            created_at: self.created_at?,
            terms_accepted_at: self.terms_accepted_at,
        })
    }
}

/// The user that `session` is signed in as, as read with the session at the start of this request, if
/// it is `id`. `None` means: look them up (the row was dropped after a change to the user, see
/// [`forget_signed_in_row`], or the session was not loaded from storage).
pub async fn signed_in_row(session: &tower_sessions::Session, id: Uuid) -> Option<User> {
    let user: User = session.get(SESSION_USER_ROW_KEY).await.ok().flatten()?;
    (user.id == id).then_some(user)
}

/// Drops the user's row read with the session, after this request changed the user.
pub async fn forget_signed_in_row(session: &tower_sessions::Session) {
    let _ = session.remove_value(SESSION_USER_ROW_KEY).await;
}

fn owner(record: &Record) -> Option<Uuid> {
    record.data.get(SESSION_USER_KEY)?.as_str()?.parse().ok()
}

/// Where the session signed in from, when it has signed in (see `browser::accounts::sign_in`).
fn client(record: &Record) -> Option<SessionClient> {
    record.data.get(SESSION_CLIENT_KEY).and_then(|value| serde_json::from_value(value.clone()).ok())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let _turn = self.db.write_turn().await.map_err(backend)?;
        // A fresh random id collides with an existing one essentially never; if it does, draw again.
        loop {
            let data = stored_data(&record.data)?;
            let client =
                client(record).unwrap_or_else(|| SessionClient { since: unix_now(), ..SessionClient::default() });
            let inserted = on_pool!(self.db, |pool| sqlx::query(
                "INSERT INTO sessions (id, user_id, data, expires_at, created_at, last_seen_at, user_agent, ip)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(record.id.to_string())
            .bind(owner(record))
            .bind(&data)
            .bind(record.expiry_date.unix_timestamp())
            .bind(client.since)
            .bind(unix_now())
            .bind(&client.user_agent)
            .bind(&client.ip)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
            .map_err(backend)?;
            if inserted == 1 {
                self.remember(&record.id, &data, record.expiry_date.unix_timestamp());
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    /// Updates an existing session only. New sessions (and new ids after a cycle) always go through
    /// `create`; an upsert here would let a request that was already running when the session was ended
    /// (logout, "sign out everywhere", a password change) write it back when it finishes.
    ///
    /// A session saved unchanged (every page view saves, to keep the expiry rolling) is written only when
    /// its stored expiry is more than [`EXPIRY_REFRESH_SECS`] old.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = stored_data(&record.data)?;
        let expires_at = record.expiry_date.unix_timestamp();
        if self.unchanged(&record.id, &data, expires_at) {
            return Ok(());
        }
        let _turn = self.db.write_turn().await.map_err(backend)?;
        // A session that signs in takes its sign-in's time and place; otherwise they stay as stored.
        let client = client(record);
        on_pool!(self.db, |pool| sqlx::query(
            "UPDATE sessions SET user_id = $1, data = $2, expires_at = $3, last_seen_at = $4,
                 created_at = COALESCE($5, created_at), user_agent = COALESCE($6, user_agent), ip = COALESCE($7, ip)
             WHERE id = $8",
        )
        .bind(owner(record))
        .bind(&data)
        .bind(expires_at)
        .bind(unix_now())
        .bind(client.as_ref().map(|c| c.since))
        .bind(client.as_ref().and_then(|c| c.user_agent.clone()))
        .bind(client.as_ref().and_then(|c| c.ip.clone()))
        .bind(record.id.to_string())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
        .map_err(backend)?;
        self.remember(&record.id, &data, expires_at);
        Ok(())
    }

    /// Reads the session and, in the same statement, the user it is signed in as: nearly every request
    /// that has a session asks who that is next. The user's row rides in the record under
    /// [`SESSION_USER_ROW_KEY`] for this request only (see [`signed_in_row`]); it is never stored.
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row: Option<SessionRow> = on_pool!(self.db, |pool| sqlx::query_as(
            "SELECT s.data, s.expires_at,
                    u.id AS user_id, u.email, u.display_name, u.instructions, u.email_verified_at, u.created_at, u.terms_accepted_at
             FROM sessions s LEFT JOIN users u ON u.id = s.user_id
             WHERE s.id = $1 AND s.expires_at > $2",
        )
        .bind(id.to_string())
        .bind(unix_now())
        .fetch_optional(pool)
        .await)
        .map_err(backend)?;
        let Some(row) = row else {
            self.forget(id);
            return Ok(None);
        };
        let mut data: HashMap<String, serde_json::Value> =
            serde_json::from_str(&row.data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        // Only what this statement read is trusted as the user's row, never a stored value of that name.
        data.remove(SESSION_USER_ROW_KEY);
        self.remember(id, &stored_data(&data)?, row.expires_at);
        if let Some(user) = row.user().map(|user| user.opened(self.db.at_rest())) {
            let user = serde_json::to_value(user).map_err(|e| session_store::Error::Encode(e.to_string()))?;
            data.insert(SESSION_USER_ROW_KEY.to_owned(), user);
        }
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date: time::OffsetDateTime::from_unix_timestamp(row.expires_at).map_err(backend)?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let _turn = self.db.write_turn().await.map_err(backend)?;
        self.forget(id);
        on_pool!(self.db, |pool| sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.db.delete_expired_rows().await.map_err(backend)
    }
}

impl Database {
    /// The user's live browser sessions, most recently seen first.
    pub async fn list_browser_sessions(&self, user_id: Uuid) -> Result<Vec<(String, BrowserSession)>, DbError> {
        /// id, created_at, last_seen_at, user_agent, ip
        type Row = (String, i64, i64, Option<String>, Option<String>);
        let rows: Vec<Row> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, created_at, last_seen_at, user_agent, ip FROM sessions
             WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, created_at DESC",
        )
        .bind(user_id)
        .bind(unix_now())
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|(id, created_at, last_seen_at, user_agent, ip)| {
                let public_id = public_session_id(&id);
                (id, BrowserSession { public_id, created_at, last_seen_at, user_agent, ip })
            })
            .collect())
    }

    /// Ends the user's browser session whose public id is `public_id`; `false` when they have none such.
    pub async fn end_browser_session(&self, user_id: Uuid, public_id: Uuid) -> Result<bool, DbError> {
        let sessions = self.list_browser_sessions(user_id).await?;
        let Some((id, _)) = sessions.into_iter().find(|(_, s)| s.public_id == public_id) else { return Ok(false) };
        let _turn = self.write_turn().await?;
        let deleted = on_pool!(self, |pool| sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(&id)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(deleted == 1)
    }

    /// Housekeeping: drops expired sessions, refresh tokens and old rate-limit hits.
    pub async fn delete_expired_rows(&self) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        let now = unix_now();
        on_pool!(self, |pool| sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        on_pool!(self, |pool| sqlx::query("DELETE FROM refresh_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        on_pool!(self, |pool| sqlx::query("DELETE FROM account_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        on_pool!(self, |pool| sqlx::query("DELETE FROM rate_limit_hits WHERE window_start < $1")
            .bind(now - 24 * 3600)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tower_sessions::{
        SessionStore,
        session::{Id, Record},
    };

    use super::{Database, DbSessionStore};
    use crate::db::Pool;

    #[tokio::test]
    async fn a_session_ended_while_a_request_ran_is_not_written_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::connect(&format!("sqlite://{}", dir.path().join("sessions.db").display())).await.unwrap();
        db.migrate().await.unwrap();
        let store = DbSessionStore::new(db);
        let mut record = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        store.create(&mut record).await.unwrap();
        assert!(store.load(&record.id).await.unwrap().is_some());

        // Logout (or "sign out everywhere") deletes the row; then a request that had loaded the session
        // before finishes and saves it.
        store.delete(&record.id).await.unwrap();
        store.save(&record).await.unwrap();

        assert!(store.load(&record.id).await.unwrap().is_none(), "the ended session stays ended");
    }

    #[tokio::test]
    async fn an_unchanged_session_is_written_only_when_its_expiry_has_moved_an_hour() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::connect(&format!("sqlite://{}", dir.path().join("sessions.db").display())).await.unwrap();
        db.migrate().await.unwrap();
        let store = DbSessionStore::new(db.clone());
        let now = time::OffsetDateTime::now_utc();
        let mut record =
            Record { id: Id::default(), data: Default::default(), expiry_date: now + time::Duration::days(14) };
        store.create(&mut record).await.unwrap();
        let stored_expiry = || async {
            let Pool::Sqlite(pool) = &db.pool else { unreachable!() };
            let (expiry,): (i64,) = sqlx::query_as("SELECT expires_at FROM sessions").fetch_one(pool).await.unwrap();
            expiry
        };
        let first = stored_expiry().await;

        // A page view a minute later: same data, expiry a minute further. Nothing is written.
        record.expiry_date = now + time::Duration::days(14) + time::Duration::minutes(1);
        store.save(&record).await.unwrap();
        assert_eq!(stored_expiry().await, first);

        // Two hours later the rolling expiry is stored.
        record.expiry_date = now + time::Duration::days(14) + time::Duration::hours(2);
        store.save(&record).await.unwrap();
        assert_eq!(stored_expiry().await, record.expiry_date.unix_timestamp());

        // Changed data is always written.
        record.data.insert("k".to_owned(), serde_json::json!("v"));
        store.save(&record).await.unwrap();
        assert!(store.load(&record.id).await.unwrap().unwrap().data.contains_key("k"));
    }
}
