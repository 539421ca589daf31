//! Where the user is signed in: browser sessions and API logins, listed together, each one endable.

use uuid::Uuid;

use super::service::{AccountError, AccountService};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Browser,
    Api,
}

impl SessionKind {
    /// As the API and the pages name it.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Browser => "browser",
            SessionKind::Api => "api",
        }
    }
}

/// Unix seconds as RFC 3339 to the second, as the sessions list shows its times.
pub fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The caller's own session, so the list can mark it.
#[derive(Clone, Copy, Debug)]
pub enum CurrentSession<'a> {
    /// A bearer token of this API login (`None`: a token with no login, which matches nothing).
    Api(Option<Uuid>),
    /// This browser's session id.
    Browser(&'a str),
}

/// One entry of the sessions list. Times are Unix seconds.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub id: Uuid,
    pub kind: SessionKind,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub current: bool,
}

impl AccountService {
    /// The user's browser sessions and API logins, most recently seen first.
    pub async fn list_sessions(
        &self,
        user_id: Uuid,
        current: CurrentSession<'_>,
    ) -> Result<Vec<SessionInfo>, AccountError> {
        let browsers = self.db.list_browser_sessions(user_id).await?;
        let logins = self.db.list_api_logins(user_id).await?;
        let mut sessions: Vec<SessionInfo> = browsers
            .into_iter()
            .map(|(id, s)| SessionInfo {
                id: s.public_id,
                kind: SessionKind::Browser,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                user_agent: s.user_agent,
                ip: s.ip,
                current: matches!(current, CurrentSession::Browser(mine) if mine == id),
            })
            .chain(logins.into_iter().map(|l| SessionInfo {
                id: l.id,
                kind: SessionKind::Api,
                created_at: l.created_at,
                last_seen_at: l.last_seen_at,
                user_agent: l.user_agent,
                ip: l.ip,
                current: matches!(current, CurrentSession::Api(Some(mine)) if mine == l.id),
            }))
            .collect();
        sessions.sort_by_key(|s| std::cmp::Reverse((s.current, s.last_seen_at, s.created_at)));
        Ok(sessions)
    }

    /// Ends one of the user's sessions or API logins at once; `false` when they have none with this id.
    pub async fn end_session(&self, user_id: Uuid, id: Uuid) -> Result<bool, AccountError> {
        if self.db.revoke_login(user_id, id).await? {
            tracing::info!(user_id = %user_id, "an API login was ended from the sessions list");
            return Ok(true);
        }
        let ended = self.db.end_browser_session(user_id, id).await?;
        if ended {
            tracing::info!(user_id = %user_id, "a browser session was ended from the sessions list");
        }
        Ok(ended)
    }
}
