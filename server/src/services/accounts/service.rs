//! The account service: every account operation, for the JSON API and the browser alike. It validates with
//! the shared domain types, hashes off the runtime, and talks to the database only through `db`.

use std::sync::Arc;

use app::domain::{DisplayName, Email, Password};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{
    external::{ExternalIdentity, ExternalTokens},
    hashing::{HashingError, PasswordHasher, Verified},
    rate_limit::{RateLimiter, RetryAfter},
    tokens::{self, AccessGrant, TokenKeys},
};
use crate::{
    db::{
        Database, DbError, ExternalLogin, ExternalSignIn, LoginStart, NewUser, RefreshOutcome, SessionClient, User,
        unix_now,
    },
    services::mail::Mailer,
    support::{FieldErrors, Refusal, error_chain, field_error},
};

/// An identity provider's login's "last seen" is written at most once a minute.
const LAST_SEEN_GRANULARITY: i64 = 60;

/// The longest custom instructions a user may give the assistant.
pub const MAX_INSTRUCTIONS_CHARS: usize = 4_000;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("some fields are invalid")]
    Validation(FieldErrors),
    #[error("this email is already registered")]
    EmailTaken,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("not signed in")]
    Unauthorized,
    #[error("too many attempts")]
    RateLimited(RetryAfter),
    #[error("the database is unavailable")]
    Database(#[from] DbError),
    #[error("password hashing failed")]
    Hashing(#[from] HashingError),
    #[error("could not sign the access token")]
    Token(#[from] jsonwebtoken::errors::Error),
}

impl From<AccountError> for Refusal {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Validation(fields) => Refusal::Validation(fields),
            AccountError::EmailTaken => Refusal::EmailTaken,
            AccountError::InvalidCredentials => Refusal::InvalidCredentials,
            AccountError::Unauthorized => Refusal::Unauthorized,
            AccountError::RateLimited(retry) => Refusal::RateLimited { retry_after: retry.0 },
            AccountError::Database(cause) => cause.into(),
            other => {
                tracing::error!(error = %error_chain(&other), "internal error");
                Refusal::Internal
            }
        }
    }
}

/// What an API client receives after signup, login or refresh.
pub struct IssuedTokens {
    pub user: User,
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: SecretString,
}

#[derive(Clone)]
pub struct AccountService {
    pub(super) db: Database,
    pub(super) hasher: PasswordHasher,
    keys: TokenKeys,
    pub(super) limiter: RateLimiter,
    pub(super) mailer: Mailer,
    /// Where links in emails point (no trailing slash).
    pub(super) public_url: String,
    /// An identity provider whose access tokens are accepted too.
    external: Option<Arc<ExternalTokens>>,
    /// With terms to accept (`PARLEY_TERMS_URL`), signing up requires consent.
    terms_required: bool,
}

/// What a person gives to sign up.
pub struct Signup<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub display_name: Option<&'a str>,
    /// What they want from Parley: becomes their custom instructions.
    pub goals: Option<&'a str>,
    pub accept_terms: bool,
}

/// What the account service needs besides the database.
pub struct AccountDeps {
    pub hasher: PasswordHasher,
    pub keys: TokenKeys,
    pub limiter: RateLimiter,
    pub mailer: Mailer,
    pub public_url: String,
    pub external: Option<ExternalTokens>,
    pub terms_required: bool,
}

pub(super) fn rate_limited(check: Result<(), RetryAfter>) -> Result<(), AccountError> {
    check.map_err(AccountError::RateLimited)
}

impl AccountService {
    pub fn new(db: Database, deps: AccountDeps) -> Self {
        let AccountDeps { hasher, keys, limiter, mailer, public_url, external, terms_required } = deps;
        let external = external.map(Arc::new);
        AccountService { db, hasher, keys, limiter, mailer, public_url, external, terms_required }
    }

    pub async fn signup(&self, client_ip: &str, signup: Signup<'_>) -> Result<User, AccountError> {
        rate_limited(self.limiter.hit_auth_ip(client_ip).await?)?;

        let mut fields = FieldErrors::new();
        let email = Email::parse(signup.email).map_err(|e| field_error(&mut fields, "email", e.to_string())).ok();
        let password = Password::parse(signup.password.to_owned())
            .map_err(|e| e.messages().into_iter().for_each(|m| field_error(&mut fields, "password", m)))
            .ok();
        let display_name = DisplayName::parse_optional(signup.display_name)
            .map_err(|e| field_error(&mut fields, "display_name", e.to_string()))
            .ok();
        let goals = signup.goals.map(str::trim).filter(|g| !g.is_empty());
        if goals.is_some_and(|g| g.chars().count() > MAX_INSTRUCTIONS_CHARS) {
            field_error(&mut fields, "goals", "Goals must be at most 4,000 characters.".to_owned());
        }
        if self.terms_required && !signup.accept_terms {
            field_error(&mut fields, "accept_terms", "Please accept the terms to create an account.".to_owned());
        }
        let (Some(email), Some(password), Some(display_name), true) =
            (email, password, display_name, fields.is_empty())
        else {
            return Err(AccountError::Validation(fields));
        };

        let hash = self.hasher.hash(password.expose().to_owned().into()).await?;
        let new = NewUser {
            email: email.as_str(),
            display_name: display_name.as_ref().map(DisplayName::as_str),
            password_hash: &hash,
            instructions: goals,
            accepted_terms: self.terms_required && signup.accept_terms,
        };
        match self.db.insert_user(&new).await {
            Ok(user) => {
                tracing::info!(user_id = %user.id, "account created");
                self.send_verification_link(user.id, &user.email, false).await?;
                Ok(user)
            }
            Err(DbError::UniqueViolation) => Err(AccountError::EmailTaken),
            Err(other) => Err(other.into()),
        }
    }

    /// Checks an email and password. Unknown emails and wrong passwords get the same error after the same
    /// work; repeated failures for one email are refused for a while.
    pub async fn login(&self, client_ip: &str, email: &str, password: &str) -> Result<User, AccountError> {
        rate_limited(self.limiter.hit_auth_ip(client_ip).await?)?;
        let email = email.trim().to_lowercase();
        rate_limited(self.limiter.check_login_failures(&email).await?)?;

        let credentials = self.db.find_credentials_by_email(&email).await?;
        let stored = credentials.as_ref().map(|c| c.password_hash.clone());
        match self.hasher.verify(password.to_owned().into(), stored).await? {
            Verified::No => {
                self.limiter.record_login_failure(&email).await?;
                tracing::info!("login refused");
                Err(AccountError::InvalidCredentials)
            }
            Verified::Yes { rehashed } => {
                let credentials = credentials.ok_or(AccountError::InvalidCredentials)?;
                if let Some(hash) = rehashed {
                    self.db.update_password_hash(credentials.id, &hash).await?;
                }
                let user = self.db.find_user(credentials.id).await?.ok_or(AccountError::InvalidCredentials)?;
                tracing::info!(user_id = %user.id, "login");
                Ok(user)
            }
        }
    }

    /// Starts an API login for `user`: a new refresh-token family and a first access token.
    pub async fn start_api_login(&self, user: User, client: &SessionClient) -> Result<IssuedTokens, AccountError> {
        let (refresh_token, stored) = tokens::new_refresh_token();
        let login_id = self.db.start_login(user.id, client, LoginStart::RefreshToken(&stored)).await?;
        let access_token = self.keys.issue_access_token(AccessGrant { user_id: user.id, login_id: Some(login_id) })?;
        Ok(IssuedTokens { user, access_token, expires_in: tokens::ACCESS_TOKEN_SECONDS, refresh_token })
    }

    /// Trades a refresh token for a new pair. A token presented twice revokes its whole login.
    pub async fn refresh(&self, client_ip: &str, refresh_token: &str) -> Result<IssuedTokens, AccountError> {
        rate_limited(self.limiter.hit_auth_ip(client_ip).await?)?;
        let (next_token, next) = tokens::new_refresh_token();
        match self.db.rotate_refresh_token(&tokens::hash_refresh_token(refresh_token), &next).await? {
            RefreshOutcome::Rotated { user, login_id } => {
                let access_token =
                    self.keys.issue_access_token(AccessGrant { user_id: user.id, login_id: Some(login_id) })?;
                Ok(IssuedTokens {
                    user,
                    access_token,
                    expires_in: tokens::ACCESS_TOKEN_SECONDS,
                    refresh_token: next_token,
                })
            }
            RefreshOutcome::ReuseDetected => {
                tracing::warn!("refresh token reused: its login was revoked");
                Err(AccountError::Unauthorized)
            }
            RefreshOutcome::Rejected => Err(AccountError::Unauthorized),
        }
    }

    /// The user an access token speaks for, if the token is valid and its login still live. `client` says
    /// where the request comes from, for an identity provider's token that starts a login.
    pub async fn authenticate(
        &self,
        access_token: &str,
        client: impl FnOnce() -> SessionClient,
    ) -> Result<(User, AccessGrant), AccountError> {
        let Some(grant) = self.keys.verify_access_token(access_token) else {
            return self.authenticate_external(access_token, client).await;
        };
        let user = match grant.login_id {
            Some(login_id) => self.db.find_user_with_live_login(grant.user_id, login_id).await?,
            None => self.db.find_user(grant.user_id).await?,
        };
        let user = user.ok_or(AccountError::Unauthorized)?;
        Ok((user, grant))
    }

    /// The Parley user behind an identity provider's token, created (or linked) on its first use. Its
    /// tokens count as one API login per identity: the sessions list shows it, and once it is ended (one
    /// "End session", "sign out everywhere", a password change) tokens issued until then are refused and
    /// a newer one starts a new login.
    async fn authenticate_external(
        &self,
        access_token: &str,
        client: impl FnOnce() -> SessionClient,
    ) -> Result<(User, AccessGrant), AccountError> {
        let provider = self.external.as_ref().ok_or(AccountError::Unauthorized)?;
        let identity = provider.verify(access_token).await.ok_or(AccountError::Unauthorized)?;
        let signed_in = match self.db.find_external_user(&identity.issuer, &identity.subject).await? {
            Some(found) => found,
            None => self.first_external_sign_in(&identity).await?,
        };
        let user = signed_in.user;
        let login_id = match signed_in.login {
            Some(login) if login.revoked_at.is_none() => {
                if unix_now() - login.last_seen_at >= LAST_SEEN_GRANULARITY {
                    self.db.touch_login(login.id).await?;
                }
                login.id
            }
            // Tokens without `iat` cannot be told apart from those issued before the end.
            Some(ExternalLogin { revoked_at: Some(ended), .. })
                if identity.issued_at.is_none_or(|iat| iat <= ended) =>
            {
                return Err(AccountError::Unauthorized);
            }
            _ => {
                let start = LoginStart::Identity { issuer: &identity.issuer, subject: &identity.subject };
                self.db.start_login(user.id, &client(), start).await?
            }
        };
        Ok((user.clone(), AccessGrant { user_id: user.id, login_id: Some(login_id) }))
    }

    /// The account an identity provider's user gets on first use. The token's email counts only when the
    /// provider says it is verified: then an existing account whose email is verified too is linked (both
    /// vouch for the same mailbox); an address no account has becomes the new account's verified email.
    /// Anything else gets a separate account under a placeholder address, so an unverified claim never
    /// takes over, reserves or blocks anyone's address. The password is random and never shown: the
    /// account signs in through its provider (or a reset link, once it has a real address).
    async fn first_external_sign_in(&self, identity: &ExternalIdentity) -> Result<ExternalSignIn, AccountError> {
        let vouched = identity.email.as_deref().filter(|_| identity.email_verified).and_then(|e| Email::parse(e).ok());
        let mut email = None;
        if let Some(vouched) = vouched {
            match self.db.find_credentials_by_email(vouched.as_str()).await? {
                None => email = Some(vouched.as_str().to_owned()),
                Some(existing) => {
                    let verified = self.db.find_user(existing.id).await?.is_some_and(|u| u.email_verified_at.is_some());
                    if verified
                        && let Some(linked) =
                            self.db.link_external_identity(&identity.issuer, &identity.subject, existing.id).await?
                    {
                        tracing::info!(user_id = %linked.user.id, issuer = %identity.issuer, "identity provider linked by a verified email");
                        return Ok(linked);
                    }
                }
            }
        }
        let hash = self.hasher.hash(tokens::random_token().into()).await?;
        let placeholder = placeholder_email(identity);
        let created = match email {
            Some(email) => {
                match self.db.create_external_user(&identity.issuer, &identity.subject, &email, true, &hash).await {
                    // Another account took the address between the look-up and the insert: it is theirs.
                    Err(DbError::UniqueViolation) => None,
                    other => Some(other?),
                }
            }
            None => None,
        };
        let created = match created {
            Some(created) => created,
            None => {
                self.db.create_external_user(&identity.issuer, &identity.subject, &placeholder, false, &hash).await?
            }
        };
        tracing::info!(user_id = %created.user.id, issuer = %identity.issuer, "account created for an identity provider's user");
        Ok(created)
    }

    /// Ends the API login of `grant` (and the one `refresh_token` belongs to, if it is the user's).
    pub async fn logout_api(&self, grant: AccessGrant, refresh_token: Option<&str>) -> Result<(), AccountError> {
        if let Some(login_id) = grant.login_id {
            self.db.revoke_login(grant.user_id, login_id).await?;
        }
        if let Some(token) = refresh_token
            && let Some(login_id) =
                self.db.login_of_refresh_token(grant.user_id, &tokens::hash_refresh_token(token)).await?
        {
            self.db.revoke_login(grant.user_id, login_id).await?;
        }
        Ok(())
    }

    pub async fn find_user(&self, user_id: Uuid) -> Result<Option<User>, AccountError> {
        Ok(self.db.find_user(user_id).await?)
    }

    /// Changes the display name and/or the custom instructions, checking both before changing either.
    /// Blank instructions clear them.
    pub async fn update_profile(
        &self,
        user_id: Uuid,
        display_name: Option<&str>,
        instructions: Option<&str>,
    ) -> Result<User, AccountError> {
        let mut fields = FieldErrors::new();
        let name = display_name.map(DisplayName::parse).transpose().unwrap_or_else(|e| {
            field_error(&mut fields, "display_name", e.to_string());
            None
        });
        let instructions = instructions.map(str::trim);
        if instructions.is_some_and(|i| i.chars().count() > MAX_INSTRUCTIONS_CHARS) {
            field_error(&mut fields, "instructions", "Instructions must be at most 4,000 characters.".to_owned());
        }
        if !fields.is_empty() {
            return Err(AccountError::Validation(fields));
        }
        let instructions = instructions.map(|i| Some(i).filter(|i| !i.is_empty()));
        self.db
            .update_profile(user_id, name.as_ref().map(DisplayName::as_str), instructions)
            .await?
            .ok_or(AccountError::Unauthorized)
    }

    pub async fn update_display_name(&self, user_id: Uuid, display_name: &str) -> Result<User, AccountError> {
        let name = DisplayName::parse(display_name).map_err(|e| {
            let mut fields = FieldErrors::new();
            field_error(&mut fields, "display_name", e.to_string());
            AccountError::Validation(fields)
        })?;
        self.db.update_profile(user_id, Some(name.as_str()), None).await?.ok_or(AccountError::Unauthorized)
    }

    /// Changes the password after checking the current one, then ends every other API login and browser
    /// session of the user (`keep_login` / `keep_session` name the caller's own).
    pub async fn change_password(
        &self,
        user_id: Uuid,
        current_password: &str,
        new_password: &str,
        keep_login: Option<Uuid>,
        keep_session: Option<&str>,
    ) -> Result<(), AccountError> {
        let new_password = Password::parse(new_password.to_owned()).map_err(|e| {
            let mut fields = FieldErrors::new();
            e.messages().into_iter().for_each(|m| field_error(&mut fields, "new_password", m));
            AccountError::Validation(fields)
        })?;
        self.verify_password_of(user_id, current_password).await?;
        let hash = self.hasher.hash(new_password.expose().to_owned().into()).await?;
        self.db.update_password_hash(user_id, &hash).await?;
        self.db.revoke_all_except(user_id, keep_login, keep_session).await?;
        tracing::info!(user_id = %user_id, "password changed; other sessions and pending links ended");
        if let Some(user) = self.db.find_user(user_id).await? {
            self.send_recovery_link(user_id, &user.email, "The password of your Parley account was just changed.")
                .await?;
        }
        Ok(())
    }

    /// Ends every API login, browser session and pending reset or verification link of the user.
    pub async fn sign_out_everywhere(&self, user_id: Uuid) -> Result<(), AccountError> {
        self.db.revoke_all_except(user_id, None, None).await?;
        Ok(())
    }

    /// Deletes the account and everything it owns, after checking the password.
    pub async fn delete_account(&self, user_id: Uuid, password: &str) -> Result<(), AccountError> {
        self.verify_password_of(user_id, password).await?;
        self.db.delete_user(user_id).await?;
        tracing::info!(user_id = %user_id, "account deleted");
        Ok(())
    }

    pub(super) async fn verify_password_of(&self, user_id: Uuid, password: &str) -> Result<(), AccountError> {
        let stored = self.db.find_credentials(user_id).await?.map(|c| c.password_hash);
        match self.hasher.verify(password.to_owned().into(), stored).await? {
            Verified::Yes { .. } => Ok(()),
            Verified::No => Err(AccountError::InvalidCredentials),
        }
    }
}

/// The address of an identity provider's user whose own address Parley cannot vouch for: stable per
/// identity, and in a domain that can never receive mail (`.invalid`).
fn placeholder_email(identity: &ExternalIdentity) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{}\n{}", identity.issuer, identity.subject).as_bytes());
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("external-{short}@users.invalid")
}

impl IssuedTokens {
    pub fn refresh_token(&self) -> &str {
        self.refresh_token.expose_secret()
    }
}
