//! API logins and their rotating refresh tokens.

use uuid::Uuid;

use super::{unix_now, Database, DbError, User};

/// A refresh token to store: only its hash and when it stops working.
pub struct NewRefreshToken {
    pub hash: Vec<u8>,
    pub expires_at: i64,
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

/// A presented refresh token with the state of its login.
#[derive(sqlx::FromRow)]
struct PresentedToken {
    login_id: Uuid,
    user_id: Uuid,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl Database {
    /// Starts a new API login with its first refresh token.
    pub async fn create_login(&self, user_id: Uuid, token: &NewRefreshToken) -> Result<Uuid, DbError> {
        let login_id = Uuid::now_v7();
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO api_logins (id, user_id, created_at) VALUES (?, ?, ?)")
            .bind(login_id)
            .bind(user_id)
            .bind(unix_now())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, login_id, expires_at) VALUES (?, ?, ?)")
            .bind(&token.hash)
            .bind(login_id)
            .bind(token.expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(login_id)
    }

    /// The user behind a live (not revoked) login, as an access token names them.
    pub async fn find_user_with_live_login(&self, user_id: Uuid, login_id: Uuid) -> Result<Option<User>, DbError> {
        Ok(sqlx::query_as::<_, User>(
            "SELECT u.id, u.email, u.display_name, u.created_at
             FROM users u JOIN api_logins l ON l.user_id = u.id
             WHERE u.id = ? AND l.id = ? AND l.revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(login_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Uses up the token whose hash is `presented` and stores `next` in its place, in one write
    /// transaction, so two clients racing with one token cannot both win.
    pub async fn rotate_refresh_token(
        &self,
        presented: &[u8],
        next: &NewRefreshToken,
    ) -> Result<RefreshOutcome, DbError> {
        let now = unix_now();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let found: Option<PresentedToken> = sqlx::query_as(
            "SELECT t.login_id, l.user_id, t.expires_at, t.used_at, l.revoked_at
             FROM refresh_tokens t JOIN api_logins l ON l.id = t.login_id
             WHERE t.token_hash = ?",
        )
        .bind(presented)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(PresentedToken { login_id, user_id, expires_at, used_at, revoked_at }) = found else {
            return Ok(RefreshOutcome::Rejected);
        };
        if used_at.is_some() {
            sqlx::query("UPDATE api_logins SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(now)
                .bind(login_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::ReuseDetected);
        }
        if revoked_at.is_some() || expires_at <= now {
            return Ok(RefreshOutcome::Rejected);
        }
        sqlx::query("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?")
            .bind(now)
            .bind(presented)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, login_id, expires_at) VALUES (?, ?, ?)")
            .bind(&next.hash)
            .bind(login_id)
            .bind(next.expires_at)
            .execute(&mut *tx)
            .await?;
        let user = sqlx::query_as::<_, User>(
            "SELECT id, email, display_name, created_at FROM users WHERE id = ?",
        )
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated { user, login_id })
    }

    /// Revokes one login of `user_id` (a login of another user is left alone).
    pub async fn revoke_login(&self, user_id: Uuid, login_id: Uuid) -> Result<(), DbError> {
        sqlx::query("UPDATE api_logins SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL")
            .bind(unix_now())
            .bind(login_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The login a refresh token belongs to, if the token is known and belongs to `user_id`.
    pub async fn login_of_refresh_token(&self, user_id: Uuid, token_hash: &[u8]) -> Result<Option<Uuid>, DbError> {
        let found: Option<(Uuid,)> = sqlx::query_as(
            "SELECT t.login_id FROM refresh_tokens t JOIN api_logins l ON l.id = t.login_id
             WHERE t.token_hash = ? AND l.user_id = ?",
        )
        .bind(token_hash)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.map(|(id,)| id))
    }

    /// Ends every API login and browser session of the user except the ones named (the caller's own).
    pub async fn revoke_all_except(
        &self,
        user_id: Uuid,
        keep_login: Option<Uuid>,
        keep_session: Option<&str>,
    ) -> Result<(), DbError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE api_logins SET revoked_at = ?
             WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ?",
        )
        .bind(unix_now())
        .bind(user_id)
        .bind(keep_login)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = ? AND id IS NOT ?")
            .bind(user_id)
            .bind(keep_session)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
