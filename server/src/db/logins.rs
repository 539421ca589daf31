//! API logins and their rotating refresh tokens.

use uuid::Uuid;

use super::{Database, DbError, SessionClient, User, on_pool, unix_now};

/// One live API login as the sessions list shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApiLogin {
    pub id: Uuid,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// A refresh token to store: only its hash and when it stops working.
pub struct NewRefreshToken {
    pub hash: Vec<u8>,
    pub expires_at: i64,
}

/// How a new API login is held on to.
pub enum LoginStart<'a> {
    /// A password login: its first refresh token.
    RefreshToken(&'a NewRefreshToken),
    /// An identity provider's tokens: the login becomes that identity's current one.
    Identity { issuer: &'a str, subject: &'a str },
}

/// What presenting a refresh token led to.
pub enum RefreshOutcome {
    /// The token was current: it is now used up and `next` replaces it in the same login.
    Rotated { user: User, login_id: Uuid },
    /// Unknown, expired, or its login was revoked.
    Rejected,
    /// The token had been used before: someone holds a copy. The whole login has been revoked.
    ReuseDetected,
}

const REVOKE_LOGIN: &str = "UPDATE api_logins SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
const INSERT_REFRESH_TOKEN: &str = "INSERT INTO refresh_tokens (token_hash, login_id, expires_at) VALUES ($1, $2, $3)";

impl Database {
    /// Starts a new API login: with its first refresh token, or as an identity provider's current login.
    pub async fn start_login(
        &self,
        user_id: Uuid,
        client: &SessionClient,
        start: LoginStart<'_>,
    ) -> Result<Uuid, DbError> {
        let _turn = self.write_turn().await?;
        let login_id = Uuid::now_v7();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            sqlx::query(
                "INSERT INTO api_logins (id, user_id, created_at, last_seen_at, user_agent, ip) VALUES ($1, $2, $3, $3, $4, $5)",
            )
            .bind(login_id)
            .bind(user_id)
            .bind(unix_now())
            .bind(&client.user_agent)
            .bind(&client.ip)
            .execute(&mut *tx)
            .await?;
            match start {
                LoginStart::RefreshToken(token) => {
                    sqlx::query(INSERT_REFRESH_TOKEN)
                        .bind(&token.hash)
                        .bind(login_id)
                        .bind(token.expires_at)
                        .execute(&mut *tx)
                        .await?
                }
                LoginStart::Identity { issuer, subject } => {
                    sqlx::query("UPDATE external_identities SET login_id = $1 WHERE issuer = $2 AND subject = $3")
                        .bind(login_id)
                        .bind(issuer)
                        .bind(subject)
                        .execute(&mut *tx)
                        .await?
                }
            };
            tx.commit().await?;
        });
        Ok(login_id)
    }

    /// The user behind a live (not revoked) login, as an access token names them.
    pub async fn find_user_with_live_login(&self, user_id: Uuid, login_id: Uuid) -> Result<Option<User>, DbError> {
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, User>(
            "SELECT u.id, u.email, u.display_name, u.instructions, u.email_verified_at, u.created_at, u.terms_accepted_at
             FROM users u JOIN api_logins l ON l.user_id = u.id
             WHERE u.id = $1 AND l.id = $2 AND l.revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(login_id)
        .fetch_optional(pool)
        .await
        })?;
        Ok(row.map(|user| user.opened(self.at_rest())))
    }

    /// Uses up the token whose hash is `presented` and stores `next` in its place, in one transaction.
    ///
    /// Race-safe on both backends without a database-wide lock: the token is claimed with a conditional
    /// `UPDATE … WHERE used_at IS NULL`, which only one transaction can win. On PostgreSQL a concurrent
    /// claimer blocks on the row lock, then re-checks the condition and finds the token used; on SQLite
    /// the UPDATE takes the write lock. A loser that finds the token already used reports reuse and revokes
    /// the whole login, as a stolen copy would be handled.
    pub async fn rotate_refresh_token(
        &self,
        presented: &[u8],
        next: &NewRefreshToken,
    ) -> Result<RefreshOutcome, DbError> {
        let _turn = self.write_turn().await?;
        let now = unix_now();
        let outcome = on_pool!(self, |pool| {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let claimed: Option<(Uuid,)> = sqlx::query_as(
                "UPDATE refresh_tokens SET used_at = $1
                 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
                   AND login_id IN (SELECT id FROM api_logins WHERE revoked_at IS NULL)
                 RETURNING login_id",
            )
            .bind(now)
            .bind(presented)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((login_id,)) = claimed {
                sqlx::query("UPDATE api_logins SET last_seen_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(login_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(INSERT_REFRESH_TOKEN)
                    .bind(&next.hash)
                    .bind(login_id)
                    .bind(next.expires_at)
                    .execute(&mut *tx)
                    .await?;
                let user = sqlx::query_as::<_, User>(
                    "SELECT u.id, u.email, u.display_name, u.instructions, u.email_verified_at, u.created_at, u.terms_accepted_at
                     FROM users u JOIN api_logins l ON l.user_id = u.id WHERE l.id = $1",
                )
                .bind(login_id)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                RefreshOutcome::Rotated { user: user.opened(self.at_rest()), login_id }
            } else {
                // Not claimable: unknown, expired, revoked, or used before. Only the last is reuse.
                let used: Option<(Uuid,)> =
                    sqlx::query_as("SELECT login_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL")
                        .bind(presented)
                        .fetch_optional(&mut *tx)
                        .await?;
                match used {
                    Some((login_id,)) => {
                        sqlx::query(REVOKE_LOGIN).bind(now).bind(login_id).execute(&mut *tx).await?;
                        tx.commit().await?;
                        RefreshOutcome::ReuseDetected
                    }
                    None => RefreshOutcome::Rejected,
                }
            }
        });
        Ok(outcome)
    }

    /// Revokes one login of `user_id` (a login of another user is left alone); `false` when there was
    /// no such live login.
    pub async fn revoke_login(&self, user_id: Uuid, login_id: Uuid) -> Result<bool, DbError> {
        let _turn = self.write_turn().await?;
        let revoked = on_pool!(self, |pool| sqlx::query(
            "UPDATE api_logins SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL"
        )
        .bind(unix_now())
        .bind(login_id)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(revoked == 1)
    }

    /// The user's live API logins (not revoked, with a refresh token still usable, or an identity provider's
    /// current one), most recently seen first.
    pub async fn list_api_logins(&self, user_id: Uuid) -> Result<Vec<ApiLogin>, DbError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiLogin>(
            "SELECT l.id, l.created_at, l.last_seen_at, l.user_agent, l.ip FROM api_logins l
             WHERE l.user_id = $1 AND l.revoked_at IS NULL
               AND (EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.login_id = l.id AND t.used_at IS NULL AND t.expires_at > $2)
                    OR EXISTS (SELECT 1 FROM external_identities x WHERE x.login_id = l.id))
             ORDER BY l.last_seen_at DESC, l.created_at DESC",
        )
        .bind(user_id)
        .bind(unix_now())
        .fetch_all(pool).await
        })?)
    }

    /// Notes that an identity provider's login was just used (the sessions list's "last seen").
    pub async fn touch_login(&self, login_id: Uuid) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query("UPDATE api_logins SET last_seen_at = $1 WHERE id = $2")
            .bind(unix_now())
            .bind(login_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The login a refresh token belongs to, if the token is known and belongs to `user_id`.
    pub async fn login_of_refresh_token(&self, user_id: Uuid, token_hash: &[u8]) -> Result<Option<Uuid>, DbError> {
        let found: Option<(Uuid,)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT t.login_id FROM refresh_tokens t JOIN api_logins l ON l.id = t.login_id
             WHERE t.token_hash = $1 AND l.user_id = $2",
        )
        .bind(token_hash)
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        Ok(found.map(|(id,)| id))
    }

    /// Ends every API login, browser session and pending reset or verification link of the user, except the
    /// login and session named (the caller's own): a password change, "sign out everywhere".
    pub async fn revoke_all_except(
        &self,
        user_id: Uuid,
        keep_login: Option<Uuid>,
        keep_session: Option<&str>,
    ) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            end_sign_ins!(tx, user_id, unix_now(), keep_login, keep_session);
            tx.commit().await?;
        });
        Ok(())
    }
}

/// Inside the transaction `$tx`: ends every API login and browser session of `$user` but the ones named,
/// and every pending reset and verification link ([`super::account_tokens`]'s one rule). A macro, not a
/// function, because the transaction's type differs per backend.
macro_rules! end_sign_ins {
    ($tx:ident, $user:expr, $now:expr, $keep_login:expr, $keep_session:expr) => {{
        sqlx::query(
            "UPDATE api_logins SET revoked_at = $1
             WHERE user_id = $2 AND revoked_at IS NULL AND id IS DISTINCT FROM $3",
        )
        .bind($now)
        .bind($user)
        .bind($keep_login)
        .execute(&mut *$tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2")
            .bind($user)
            .bind($keep_session)
            .execute(&mut *$tx)
            .await?;
        sqlx::query($crate::db::account_tokens::END_PENDING_TOKENS).bind($now).bind($user).execute(&mut *$tx).await?;
    }};
}
pub(crate) use end_sign_ins;
