//! The browser's side of accounts: the server functions' port, backed by the account service and the
//! cookie session of the request being handled.

use app::server_fns::accounts::{AccountsPort, FormError, SessionView, SignupForm, UserSummary};
use tower_sessions::Session;
use uuid::Uuid;

use super::{SignedInMemo, request_ip, session, session_error, signed_in_user};
use crate::{
    db::{SESSION_CLIENT_KEY, SESSION_USER_KEY, SessionClient, User, public_session_id},
    services::accounts::{AccountError, AccountService, CurrentSession, Signup, rfc3339},
};
use axum::http::{header, request::Parts};
use leptos::prelude::use_context;

pub struct BrowserAccounts {
    pub accounts: AccountService,
    pub trust_proxy: bool,
}

/// Signs this browser in as `user_id`, under a new session id so that an id planted before login is
/// worthless after it. Where it signed in from goes along, for the sessions list.
async fn sign_in(session: &Session, user_id: Uuid, trust_proxy: bool) -> Result<(), FormError> {
    session.cycle_id().await.map_err(session_error)?;
    let user_agent = use_context::<Parts>()
        .and_then(|parts| parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned));
    let client = SessionClient::new(user_agent.as_deref(), &request_ip(trust_proxy));
    session.insert(SESSION_CLIENT_KEY, client).await.map_err(session_error)?;
    session.insert(SESSION_USER_KEY, user_id.to_string()).await.map_err(session_error)
}

impl BrowserAccounts {
    /// The signed-in user, or `Unauthorized`.
    async fn signed_in(&self, session: &Session) -> Result<User, FormError> {
        signed_in_user(&self.accounts, session).await?.ok_or(FormError::Unauthorized)
    }
}

#[async_trait::async_trait]
impl AccountsPort for BrowserAccounts {
    async fn current_user(&self) -> Result<Option<UserSummary>, FormError> {
        let session = session().await?;
        match self.signed_in(&session).await {
            Ok(user) => Ok(Some(UserSummary {
                email_verified: user.email_verified_at.is_some(),
                email: user.email,
                display_name: user.display_name,
                instructions: user.instructions,
                terms_accepted_at: user.terms_accepted_at.map(|at| at.to_rfc3339()),
            })),
            Err(FormError::Unauthorized) => Ok(None),
            Err(other) => Err(other),
        }
    }

    async fn signup(&self, form: SignupForm) -> Result<(), FormError> {
        let ip = request_ip(self.trust_proxy);
        let session = session().await?;
        let signup = Signup {
            email: &form.email,
            password: &form.password,
            display_name: form.display_name.as_deref(),
            goals: form.goals.as_deref(),
            accept_terms: form.accept_terms,
        };
        let user = self.accounts.signup(&ip, signup).await?;
        sign_in(&session, user.id, self.trust_proxy).await
    }

    async fn login(&self, email: String, password: String) -> Result<(), FormError> {
        let ip = request_ip(self.trust_proxy);
        let session = session().await?;
        let user = self.accounts.login(&ip, &email, &password).await?;
        sign_in(&session, user.id, self.trust_proxy).await
    }

    async fn logout(&self) -> Result<(), FormError> {
        // Deletes the stored session and clears the cookie.
        session().await?.flush().await.map_err(session_error)
    }

    async fn update_display_name(&self, display_name: String) -> Result<(), FormError> {
        let session = session().await?;
        let user = self.signed_in(&session).await?;
        self.accounts.update_display_name(user.id, &display_name).await?;
        SignedInMemo::forget().await;
        Ok(())
    }

    async fn update_instructions(&self, instructions: String) -> Result<(), FormError> {
        let session = session().await?;
        let user = self.signed_in(&session).await?;
        self.accounts.update_profile(user.id, None, Some(&instructions)).await?;
        SignedInMemo::forget().await;
        Ok(())
    }

    async fn change_password(&self, current_password: String, new_password: String) -> Result<(), FormError> {
        let session = session().await?;
        let user = self.signed_in(&session).await?;
        let keep = session.id().map(|id| id.to_string());
        self.accounts.change_password(user.id, &current_password, &new_password, None, keep.as_deref()).await.map_err(
            |error| match error {
                AccountError::InvalidCredentials => {
                    FormError::field_error("current_password", "The current password is incorrect.")
                }
                AccountError::Validation(fields) => FormError::Fields(fields),
                other => other.into(),
            },
        )?;
        // A fresh id for this session too: the old one may have been seen by whoever forced the change.
        session.cycle_id().await.map_err(session_error)
    }

    async fn sign_out_everywhere(&self) -> Result<(), FormError> {
        let session = session().await?;
        let user = self.signed_in(&session).await?;
        self.accounts.sign_out_everywhere(user.id).await?;
        session.flush().await.map_err(session_error)
    }

    async fn delete_account(&self, password: String) -> Result<(), FormError> {
        let session = session().await?;
        let user = self.signed_in(&session).await?;
        self.accounts.delete_account(user.id, &password).await.map_err(|error| match error {
            AccountError::InvalidCredentials => FormError::field_error("password", "The password is incorrect."),
            other => other.into(),
        })?;
        session.flush().await.map_err(session_error)
    }

    async fn request_password_reset(&self, email: String) -> Result<(), FormError> {
        self.accounts.request_password_reset(&request_ip(self.trust_proxy), &email).await.map_err(Into::into)
    }

    async fn reset_password(&self, token: String, password: String) -> Result<(), FormError> {
        self.accounts.confirm_password_reset(&token, &password).await?;
        // Every session ended, this browser's too if it had one.
        session().await?.flush().await.map_err(session_error)
    }

    async fn verify_email(&self, token: String) -> Result<(), FormError> {
        self.accounts.verify_email(&token).await?;
        SignedInMemo::forget().await;
        Ok(())
    }

    async fn resend_verification(&self) -> Result<(), FormError> {
        let session = session().await?;
        let user = self.signed_in(&session).await?;
        self.accounts.send_verification(user.id).await.map_err(Into::into)
    }

    async fn change_email(&self, email: String, current_password: String) -> Result<(), FormError> {
        let session = session().await?;
        let user = self.signed_in(&session).await?;
        self.accounts.request_email_change(user.id, &email, &current_password).await.map_err(|error| match error {
            AccountError::InvalidCredentials => {
                FormError::field_error("current_password", "The current password is incorrect.")
            }
            other => other.into(),
        })
    }

    async fn list_sessions(&self) -> Result<Vec<SessionView>, FormError> {
        let session = session().await?;
        let user = self.signed_in(&session).await?;
        let this_one = session.id().map(|id| id.to_string()).unwrap_or_default();
        let sessions = self.accounts.list_sessions(user.id, CurrentSession::Browser(&this_one)).await?;
        Ok(sessions
            .into_iter()
            .map(|s| SessionView {
                id: s.id.to_string(),
                kind: s.kind.as_str().to_owned(),
                created_at: rfc3339(s.created_at),
                last_seen_at: rfc3339(s.last_seen_at),
                user_agent: s.user_agent,
                ip: s.ip,
                current: s.current,
            })
            .collect())
    }

    async fn end_session(&self, id: String) -> Result<bool, FormError> {
        let session = session().await?;
        let user = self.signed_in(&session).await?;
        let Ok(id) = id.parse::<Uuid>() else { return Err(FormError::SessionNotFound) };
        let this_one = session.id().is_some_and(|mine| public_session_id(&mine.to_string()) == id);
        if !self.accounts.end_session(user.id, id).await? {
            return Err(FormError::SessionNotFound);
        }
        if this_one {
            session.flush().await.map_err(session_error)?;
        }
        Ok(this_one)
    }
}
