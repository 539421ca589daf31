//! Getting back into an account and proving an email: password-reset and verification links, sent by
//! email, single use, stored hashed.
//!
//! A reset request answers the same, after the same work, whether or not the address has an account: the
//! request itself only counts rate limits; looking the address up, storing a token and sending the mail
//! happen afterwards on a background task.

use app::domain::{Email, Password};
use uuid::Uuid;

use super::{
    service::{AccountError, AccountService, rate_limited},
    tokens::{hash_refresh_token as hash_token, random_token},
};
use crate::{
    db::{NewAccountToken, RECOVERY_TOKEN_SECONDS, ResetDone, TokenPurpose, VerifyOutcome, unix_now},
    services::mail::Mail,
    support::{FieldErrors, field_error},
};

/// How long a reset link works.
pub const RESET_TOKEN_SECONDS: i64 = 30 * 60;
const RESET_LINK_USED: &str = "This reset link is not valid any more. Ask for a new one.";

/// How long a verification link works.
pub const VERIFY_TOKEN_SECONDS: i64 = 24 * 3600;

fn token_error(message: &str) -> AccountError {
    let mut fields = FieldErrors::new();
    field_error(&mut fields, "token", message);
    AccountError::Validation(fields)
}

impl AccountService {
    /// Sends a reset link to `email` if it has an account. Answers alike either way; only the rate limits
    /// (per client IP, per address) can refuse.
    pub async fn request_password_reset(&self, client_ip: &str, email: &str) -> Result<(), AccountError> {
        rate_limited(self.limiter.hit_auth_ip(client_ip).await?)?;
        let Ok(email) = Email::parse(email) else {
            // Not an address at all says nothing about any account.
            let mut fields = FieldErrors::new();
            field_error(&mut fields, "email", "Enter a valid email address.");
            return Err(AccountError::Validation(fields));
        };
        rate_limited(self.limiter.hit_reset_email(email.as_str()).await?)?;
        let service = self.clone();
        tokio::spawn(async move {
            if let Err(error) = service.send_reset_link(email.as_str()).await {
                tracing::error!(error = %crate::support::error_chain(&error), "could not prepare a reset link");
            }
        });
        Ok(())
    }

    async fn send_reset_link(&self, email: &str) -> Result<(), AccountError> {
        let Some(credentials) = self.db.find_credentials_by_email(email).await? else {
            tracing::info!("password reset asked for an address without an account");
            return Ok(());
        };
        let token = self.store_token(credentials.id, TokenPurpose::PasswordReset, email, RESET_TOKEN_SECONDS).await?;
        let link = format!("{}/reset-password?token={token}", self.public_url);
        self.mailer.send_in_background(Mail {
            to: email.to_owned(),
            subject: "Reset your Parley password".to_owned(),
            body: format!(
                "Someone (hopefully you) asked to reset the password of your Parley account.\r\n\r\n\
                 Choose a new password here (the link works once, for 30 minutes):\r\n\r\n{link}\r\n\r\n\
                 If you did not ask for this, ignore this email: your password stays as it is.\r\n"
            ),
        });
        Ok(())
    }

    /// Sets a new password with a reset token; every session and API login of the account ends.
    pub async fn confirm_password_reset(&self, token: &str, new_password: &str) -> Result<(), AccountError> {
        let token_hash = hash_token(token.trim());
        let password = match Password::parse(new_password.to_owned()) {
            Ok(password) => password,
            Err(e) => {
                // Say everything that is wrong at once: a weak password, and a link that is no good anyway.
                let mut fields = FieldErrors::new();
                e.messages().into_iter().for_each(|m| field_error(&mut fields, "password", m));
                if !self.db.reset_token_usable(&token_hash).await? {
                    field_error(&mut fields, "token", RESET_LINK_USED);
                }
                return Err(AccountError::Validation(fields));
            }
        };
        let hash = self.hasher.hash(password.expose().to_owned().into()).await?;
        match self.db.reset_password(&token_hash, &hash).await? {
            Some(ResetDone { user_id, email, recovered }) => {
                tracing::info!(user_id = %user_id, recovered, "password reset; every session and pending link ended");
                self.mailer.send_in_background(Mail {
                    to: email,
                    subject: "Your Parley password was changed".to_owned(),
                    body: "The password of your Parley account was just set with a link sent to this address, and \
                           every device was signed out.\r\n\r\nIf that was not you, ask for a new reset link on the \
                           login page at once.\r\n"
                        .to_owned(),
                });
                Ok(())
            }
            None => Err(token_error(RESET_LINK_USED)),
        }
    }

    /// Sends a verification link for the user's current email.
    pub async fn send_verification(&self, user_id: Uuid) -> Result<(), AccountError> {
        let user = self.db.find_user(user_id).await?.ok_or(AccountError::Unauthorized)?;
        rate_limited(self.limiter.hit_mail_per_user(user_id).await?)?;
        self.send_verification_link(user_id, &user.email, false).await
    }

    /// Asks to change the user's email: a verification link goes to the new address, and the email changes
    /// only when it is followed.
    pub async fn request_email_change(
        &self,
        user_id: Uuid,
        new_email: &str,
        current_password: &str,
    ) -> Result<(), AccountError> {
        let email = Email::parse(new_email).map_err(|e| {
            let mut fields = FieldErrors::new();
            field_error(&mut fields, "email", e.to_string());
            AccountError::Validation(fields)
        })?;
        let user = self.db.find_user(user_id).await?.ok_or(AccountError::Unauthorized)?;
        if user.email == email.as_str() {
            let mut fields = FieldErrors::new();
            field_error(&mut fields, "email", "This is already your email.");
            return Err(AccountError::Validation(fields));
        }
        self.verify_password_of(user_id, current_password).await?;
        rate_limited(self.limiter.hit_mail_per_user(user_id).await?)?;
        if self.db.email_taken_by_other(user_id, email.as_str()).await? {
            // The person asking learns nothing; the owner of the address is told.
            self.mailer.send_in_background(Mail {
                to: email.as_str().to_owned(),
                subject: "Your address and Parley".to_owned(),
                body: "Someone asked to move another Parley account to this address. This address already has \
                       a Parley account, so nothing changed.\r\n\r\nIf it was you, log in to that account instead.\r\n"
                    .to_owned(),
            });
            return Ok(());
        }
        self.send_verification_link(user_id, email.as_str(), true).await
    }

    /// Follows a verification link: the address it was sent to becomes the account's verified email. When
    /// that changes the email, the old address is told, with a link that undoes the change.
    pub async fn verify_email(&self, token: &str) -> Result<(), AccountError> {
        match self.db.verify_email(&hash_token(token.trim())).await? {
            VerifyOutcome::Verified { user_id, previous_email: Some(previous) } => {
                tracing::info!(user_id = %user_id, "email changed; pending links ended");
                self.send_recovery_link(
                    user_id,
                    &previous,
                    "The email of your Parley account was just changed to another address.",
                )
                .await
            }
            VerifyOutcome::Verified { previous_email: None, .. } => Ok(()),
            VerifyOutcome::Rejected => {
                Err(token_error("This verification link is not valid any more. Ask for a new one."))
            }
            VerifyOutcome::EmailTaken => Err(AccountError::EmailTaken),
        }
    }

    pub(super) async fn send_verification_link(
        &self,
        user_id: Uuid,
        email: &str,
        change: bool,
    ) -> Result<(), AccountError> {
        let token = self.store_token(user_id, TokenPurpose::VerifyEmail, email, VERIFY_TOKEN_SECONDS).await?;
        let link = format!("{}/verify-email?token={token}", self.public_url);
        let why = if change {
            "You asked to use this address for your Parley account. Your email changes when you open this link"
        } else {
            "Please confirm that this is your address for Parley by opening this link"
        };
        self.mailer.send_in_background(Mail {
            to: email.to_owned(),
            subject: "Confirm your email for Parley".to_owned(),
            body: format!(
                "{why} (it works once, for 24 hours):\r\n\r\n{link}\r\n\r\nIf this was not you, ignore this email.\r\n"
            ),
        });
        Ok(())
    }

    /// Tells `email` (the account's address before a change) what changed, with a link that works from
    /// there for a week: it sets a new password, signs every device out and puts this address back.
    pub(super) async fn send_recovery_link(&self, user_id: Uuid, email: &str, what: &str) -> Result<(), AccountError> {
        let token = self.store_token(user_id, TokenPurpose::RecoverAccount, email, RECOVERY_TOKEN_SECONDS).await?;
        let link = format!("{}/reset-password?token={token}", self.public_url);
        self.mailer.send_in_background(Mail {
            to: email.to_owned(),
            subject: "Your Parley account was changed".to_owned(),
            body: format!(
                "{what}\r\n\r\nIf that was you, there is nothing to do.\r\n\r\nIf it was not you, take your account \
                 back here: choose a new password, every device is signed out, and this address becomes the \
                 account's email again (the link works once, for 7 days):\r\n\r\n{link}\r\n"
            ),
        });
        Ok(())
    }

    async fn store_token(
        &self,
        user_id: Uuid,
        purpose: TokenPurpose,
        email: &str,
        lifetime: i64,
    ) -> Result<String, AccountError> {
        let token = random_token();
        self.db
            .insert_account_token(&NewAccountToken {
                hash: hash_token(&token),
                user_id,
                purpose,
                email,
                expires_at: unix_now() + lifetime,
            })
            .await?;
        Ok(token)
    }
}
