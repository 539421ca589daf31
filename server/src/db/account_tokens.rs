//! Single-use links sent by email (password reset, email verification) and what following one changes.
//! Only a hash of each token is stored; a token is used up by a conditional UPDATE that one request wins.

use uuid::Uuid;

use super::{db_now, on_pool, unix_now, Database, DbError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    PasswordReset,
    VerifyEmail,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::PasswordReset => "password_reset",
            TokenPurpose::VerifyEmail => "verify_email",
        }
    }
}

/// A token to store: its hash, whom it is for, and the address the link goes to.
pub struct NewAccountToken<'a> {
    pub hash: Vec<u8>,
    pub user_id: Uuid,
    pub purpose: TokenPurpose,
    pub email: &'a str,
    pub expires_at: i64,
}

/// What following a verification link did.
#[derive(Debug, PartialEq, Eq)]
pub enum VerifyOutcome {
    Verified,
    /// Unknown, used or expired.
    Rejected,
    /// The link was for a new address that another account took meanwhile.
    EmailTaken,
}

/// Claims the token: marks it used if it is unused, unexpired and of `purpose`; gives its user and email.
const CLAIM: &str = "UPDATE account_tokens SET used_at = $1
     WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
     RETURNING user_id, email";

impl Database {
    /// Stores a new token; earlier unused tokens of the same purpose for the user stop working, so only
    /// the latest link sent is good.
    pub async fn insert_account_token(&self, token: &NewAccountToken<'_>) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        let now = unix_now();
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE account_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
                .bind(now)
                .bind(token.user_id)
                .bind(token.purpose.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO account_tokens (token_hash, user_id, purpose, email, expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&token.hash)
            .bind(token.user_id)
            .bind(token.purpose.as_str())
            .bind(token.email)
            .bind(token.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Uses a reset token: sets the new password hash and ends every browser session and API login of the
    /// account, in one transaction. Following the link also proves the address, so it counts as verified
    /// when it is still the account's email. `None` when the token is unknown, used or expired.
    pub async fn reset_password(&self, token_hash: &[u8], password_hash: &str) -> Result<Option<Uuid>, DbError> {
        let _turn = self.write_turn().await?;
        let now = unix_now();
        let user_id = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let claimed: Option<(Uuid, String)> = sqlx::query_as(CLAIM)
                .bind(now)
                .bind(token_hash)
                .bind(TokenPurpose::PasswordReset.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let Some((user_id, email)) = claimed else { return Ok(None) };
            let at = db_now();
            sqlx::query(
                "UPDATE users SET password_hash = $1, updated_at = $2,
                     email_verified_at = CASE WHEN email = $3 THEN COALESCE(email_verified_at, $2) ELSE email_verified_at END
                 WHERE id = $4",
            )
            .bind(password_hash)
            .bind(at)
            .bind(&email)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE api_logins SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Some(user_id)
        });
        Ok(user_id)
    }

    /// Uses a verification token: the account's email becomes the address the link was sent to (a change
    /// of email takes effect here) and counts as verified.
    pub async fn verify_email(&self, token_hash: &[u8]) -> Result<VerifyOutcome, DbError> {
        let _turn = self.write_turn().await?;
        let now = unix_now();
        let outcome = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let claimed: Option<(Uuid, String)> = sqlx::query_as(CLAIM)
                .bind(now)
                .bind(token_hash)
                .bind(TokenPurpose::VerifyEmail.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let Some((user_id, email)) = claimed else { return Ok(VerifyOutcome::Rejected) };
            let at = db_now();
            let updated = sqlx::query("UPDATE users SET email = $1, email_verified_at = $2, updated_at = $2 WHERE id = $3")
                .bind(&email)
                .bind(at)
                .bind(user_id)
                .execute(&mut *tx)
                .await;
            match updated.map_err(DbError::from) {
                Ok(_) => {
                    tx.commit().await?;
                    VerifyOutcome::Verified
                }
                // The token stays unused (the transaction rolls back): nothing changed.
                Err(DbError::UniqueViolation) => VerifyOutcome::EmailTaken,
                Err(other) => return Err(other),
            }
        });
        Ok(outcome)
    }

    /// Whether a token of `purpose` is still unused and unexpired (nothing is changed).
    pub async fn account_token_usable(&self, token_hash: &[u8], purpose: TokenPurpose) -> Result<bool, DbError> {
        let found: Option<(i64,)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT expires_at FROM account_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(unix_now())
        .fetch_optional(pool).await)?;
        Ok(found.is_some())
    }

    /// Whether a user other than `user_id` has this email.
    pub async fn email_taken_by_other(&self, user_id: Uuid, email: &str) -> Result<bool, DbError> {
        let found: Option<(Uuid,)> = on_pool!(self, |pool| sqlx::query_as("SELECT id FROM users WHERE email = $1 AND id <> $2")
            .bind(email)
            .bind(user_id)
            .fetch_optional(pool).await)?;
        Ok(found.is_some())
    }
}
