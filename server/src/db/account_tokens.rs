//! Single-use links sent by email (password reset, email verification, account recovery) and what
//! following one changes. Only a hash of each token is stored; a token is used up by a conditional UPDATE
//! that one request wins.
//!
//! One rule ends pending links ([`END_PENDING_TOKENS`]): changing the password (reset or change), signing
//! out everywhere and changing the email end every unused reset and verification link of the account, so a
//! link asked for before the owner took the account back (a pending email change among them) is dead.
//! Recovery links are the exception: they go to the address the account had before an email or password
//! change, so the owner can undo a change made by someone else, and that someone must not be able to
//! cancel them by changing the password again. They end when used, after [`RECOVERY_TOKEN_SECONDS`], or
//! with the account.

use uuid::Uuid;

use super::{Database, DbError, db_now, end_sign_ins, on_pool, unix_now};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    PasswordReset,
    VerifyEmail,
    /// Sent to the previous address after an email or password change: sets a new password and puts
    /// that address back.
    RecoverAccount,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::PasswordReset => "password_reset",
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::RecoverAccount => "recover_account",
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
    /// `previous_email` is the address the account had, when the link changed it.
    Verified { user_id: Uuid, previous_email: Option<String> },
    /// Unknown, used or expired.
    Rejected,
    /// The link was for a new address that another account took meanwhile.
    EmailTaken,
}

/// What following a reset (or recovery) link did.
#[derive(Debug, PartialEq, Eq)]
pub struct ResetDone {
    pub user_id: Uuid,
    /// The account's email afterwards (a recovery link puts its address back).
    pub email: String,
    pub recovered: bool,
}

/// How long a recovery link works.
pub const RECOVERY_TOKEN_SECONDS: i64 = 7 * 24 * 3600;

/// Claims the token: marks it used if it is unused, unexpired and of `purpose` (or `also`); gives its
/// user, email and purpose.
const CLAIM: &str = "UPDATE account_tokens SET used_at = $1
     WHERE token_hash = $2 AND (purpose = $3 OR purpose = $4) AND used_at IS NULL AND expires_at > $1
     RETURNING user_id, email, purpose";

/// The one rule (see the module's doc): every unused reset and verification link of user `$2` ends.
pub(super) const END_PENDING_TOKENS: &str = "UPDATE account_tokens SET used_at = $1
     WHERE user_id = $2 AND used_at IS NULL AND purpose <> 'recover_account'";

impl Database {
    /// Stores a new token; earlier unused tokens of the same purpose for the user stop working, so only
    /// the latest link sent is good (recovery links excepted: each goes to the address of its own change).
    pub async fn insert_account_token(&self, token: &NewAccountToken<'_>) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        let now = unix_now();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            sqlx::query(
                "UPDATE account_tokens SET used_at = $1
                 WHERE user_id = $2 AND purpose = $3 AND purpose <> 'recover_account' AND used_at IS NULL",
            )
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

    /// Uses a reset (or recovery) token: sets the new password hash, ends every browser session, API login
    /// and pending link of the account, in one transaction. Following the link also proves the address, so
    /// it counts as verified when it is still the account's email; a recovery link puts its address back
    /// as the account's email (unless another account has taken it meanwhile) and ends the other recovery
    /// links too. `None` when the token is unknown, used or expired.
    pub async fn reset_password(&self, token_hash: &[u8], password_hash: &str) -> Result<Option<ResetDone>, DbError> {
        let _turn = self.write_turn().await?;
        let now = unix_now();
        let done = on_pool!(self, |pool| {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let claimed: Option<(Uuid, String, String)> = sqlx::query_as(CLAIM)
                .bind(now)
                .bind(token_hash)
                .bind(TokenPurpose::PasswordReset.as_str())
                .bind(TokenPurpose::RecoverAccount.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let Some((user_id, email, purpose)) = claimed else { return Ok(None) };
            let recovered = purpose == TokenPurpose::RecoverAccount.as_str();
            let at = db_now();
            if recovered {
                // Whoever moved the account away may meanwhile have signed up with its old address (never
                // verified: the mail goes to the owner) or linked an identity provider through the new one.
                // The mailbox's owner proves more than either: both are undone.
                sqlx::query(
                    "UPDATE users SET email = $1, updated_at = $2
                     WHERE email = $3 AND id <> $4 AND email_verified_at IS NULL",
                )
                .bind(format!("released-{}@users.invalid", Uuid::now_v7().simple()))
                .bind(at)
                .bind(&email)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM external_identities WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE users SET email = $1, email_verified_at = $2, updated_at = $2
                     WHERE id = $3 AND NOT EXISTS (SELECT 1 FROM users o WHERE o.email = $1 AND o.id <> $3)",
                )
                .bind(&email)
                .bind(at)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE account_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
                    .bind(now)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let (current,): (String,) = sqlx::query_as(
                "UPDATE users SET password_hash = $1, updated_at = $2,
                     email_verified_at = CASE WHEN email = $3 THEN COALESCE(email_verified_at, $2) ELSE email_verified_at END
                 WHERE id = $4 RETURNING email",
            )
            .bind(password_hash)
            .bind(at)
            .bind(&email)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            end_sign_ins!(tx, user_id, now, None::<Uuid>, None::<&str>);
            tx.commit().await?;
            Some(ResetDone { user_id, email: current, recovered })
        });
        Ok(done)
    }

    /// Uses a verification token: the account's email becomes the address the link was sent to (a change
    /// of email takes effect here) and counts as verified.
    pub async fn verify_email(&self, token_hash: &[u8]) -> Result<VerifyOutcome, DbError> {
        let _turn = self.write_turn().await?;
        let now = unix_now();
        let outcome = on_pool!(self, |pool| {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let claimed: Option<(Uuid, String, String)> = sqlx::query_as(CLAIM)
                .bind(now)
                .bind(token_hash)
                .bind(TokenPurpose::VerifyEmail.as_str())
                .bind(TokenPurpose::VerifyEmail.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let Some((user_id, email, _)) = claimed else { return Ok(VerifyOutcome::Rejected) };
            let (previous,): (String,) =
                sqlx::query_as("SELECT email FROM users WHERE id = $1").bind(user_id).fetch_one(&mut *tx).await?;
            let at = db_now();
            let updated =
                sqlx::query("UPDATE users SET email = $1, email_verified_at = $2, updated_at = $2 WHERE id = $3")
                    .bind(&email)
                    .bind(at)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await;
            match updated.map_err(DbError::from) {
                Ok(_) => {
                    let changed = previous != email;
                    if changed {
                        // A changed email ends every other pending link: a reset link sent to the old
                        // address, another email change.
                        sqlx::query(END_PENDING_TOKENS).bind(now).bind(user_id).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    VerifyOutcome::Verified { user_id, previous_email: changed.then_some(previous) }
                }
                // The token stays unused (the transaction rolls back): nothing changed.
                Err(DbError::UniqueViolation) => VerifyOutcome::EmailTaken,
                Err(other) => return Err(other),
            }
        });
        Ok(outcome)
    }

    /// Whether a reset (or recovery) token is still unused and unexpired (nothing is changed).
    pub async fn reset_token_usable(&self, token_hash: &[u8]) -> Result<bool, DbError> {
        let found: Option<(i64,)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT expires_at FROM account_tokens
             WHERE token_hash = $1 AND (purpose = $2 OR purpose = $3) AND used_at IS NULL AND expires_at > $4",
        )
        .bind(token_hash)
        .bind(TokenPurpose::PasswordReset.as_str())
        .bind(TokenPurpose::RecoverAccount.as_str())
        .bind(unix_now())
        .fetch_optional(pool)
        .await)?;
        Ok(found.is_some())
    }

    /// Whether a user other than `user_id` has this email.
    pub async fn email_taken_by_other(&self, user_id: Uuid, email: &str) -> Result<bool, DbError> {
        let found: Option<(Uuid,)> =
            on_pool!(self, |pool| sqlx::query_as("SELECT id FROM users WHERE email = $1 AND id <> $2")
                .bind(email)
                .bind(user_id)
                .fetch_optional(pool)
                .await)?;
        Ok(found.is_some())
    }
}
