//! Signup, login, logout and account management for the browser (cookie sessions).

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::server_fn::{codec::JsonEncoding, error::FromServerFnError};
use serde::{Deserialize, Serialize};

/// The signed-in user as the pages show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub email: String,
    pub display_name: Option<String>,
    /// Custom instructions for the assistant.
    pub instructions: Option<String>,
    /// Whether the user has followed a verification link sent to `email`.
    pub email_verified: bool,
    /// When the user accepted the terms at signup (RFC 3339), if they were asked to.
    pub terms_accepted_at: Option<String>,
}

/// What the signup page needs to know of the site: the terms to consent to, if there are any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignupSettings {
    pub terms_url: Option<String>,
}

/// The signup form's fields, as the server function receives them.
#[derive(Clone, Debug)]
pub struct SignupForm {
    pub email: String,
    pub display_name: Option<String>,
    pub password: String,
    pub goals: Option<String>,
    pub accept_terms: bool,
}

/// One place the user is signed in, as the account page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    /// `browser` or `api`.
    pub kind: String,
    /// RFC 3339.
    pub created_at: String,
    pub last_seen_at: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The session this page was loaded in.
    pub current: bool,
}

impl UserSummary {
    /// What the header greets the user as.
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.email)
    }
}

/// What can go wrong with an account form, in words a person understands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum FormError {
    /// Messages per form field, shown next to the field.
    #[error("Please correct the highlighted fields.")]
    Fields(BTreeMap<String, Vec<String>>),
    #[error("This email is already registered.")]
    EmailTaken,
    /// The same message for an unknown email and a wrong password.
    #[error("The email or password is incorrect.")]
    InvalidCredentials,
    #[error("Too many attempts. Please wait {retry_after} seconds and try again.")]
    RateLimited { retry_after: u64 },
    #[error("Your session has ended. Please log in again.")]
    Unauthorized,
    #[error("Parley is temporarily unavailable. Please try again in a moment.")]
    Unavailable,
    /// Unknown, or another user's: the same either way.
    #[error("This conversation does not exist.")]
    NotFound,
    /// Unknown, or another user's: the same either way.
    #[error("This task does not exist. It may have been deleted meanwhile.")]
    TaskNotFound,
    #[error("This session has already ended.")]
    SessionNotFound,
    /// The assistant could not reply; the user's message was saved.
    #[error("{0} Your message was saved; you can try again.")]
    Assistant(String),
    #[error("Something went wrong: {0}")]
    Transport(String),
}

impl FromServerFnError for FormError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        FormError::Transport(value.to_string())
    }
}

impl FormError {
    /// The messages for one field, if this error has any.
    pub fn field(&self, name: &str) -> Vec<String> {
        match self {
            FormError::Fields(fields) => fields.get(name).cloned().unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    pub fn field_error(field: &str, message: &str) -> Self {
        FormError::Fields(BTreeMap::from([(field.to_owned(), vec![message.to_owned()])]))
    }
}

/// The server's side of these functions, provided as context by the server crate.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait AccountsPort: Send + Sync + 'static {
    async fn current_user(&self) -> Result<Option<UserSummary>, FormError>;
    /// Creates the account and signs the browser in.
    async fn signup(&self, form: SignupForm) -> Result<(), FormError>;
    async fn login(&self, email: String, password: String) -> Result<(), FormError>;
    async fn logout(&self) -> Result<(), FormError>;
    async fn update_display_name(&self, display_name: String) -> Result<(), FormError>;
    /// Blank clears them.
    async fn update_instructions(&self, instructions: String) -> Result<(), FormError>;
    /// Ends every other session and API login of the user; this browser stays signed in.
    async fn change_password(&self, current_password: String, new_password: String) -> Result<(), FormError>;
    /// Ends every session and API login of the user, this one included.
    async fn sign_out_everywhere(&self) -> Result<(), FormError>;
    async fn delete_account(&self, password: String) -> Result<(), FormError>;
    /// Sends a reset link if the address has an account; the same answer either way.
    async fn request_password_reset(&self, email: String) -> Result<(), FormError>;
    /// Sets a new password with a reset link's token; every session of the account ends.
    async fn reset_password(&self, token: String, password: String) -> Result<(), FormError>;
    /// Follows a verification link.
    async fn verify_email(&self, token: String) -> Result<(), FormError>;
    async fn resend_verification(&self) -> Result<(), FormError>;
    /// Sends a verification link to the new address; the email changes when it is followed.
    async fn change_email(&self, email: String, current_password: String) -> Result<(), FormError>;
    async fn list_sessions(&self) -> Result<Vec<SessionView>, FormError>;
    /// Ends one session or API login; `true` when it was this browser's own.
    async fn end_session(&self, id: String) -> Result<bool, FormError>;
}

#[cfg(feature = "ssr")]
pub type Accounts = std::sync::Arc<dyn AccountsPort>;

#[cfg(feature = "ssr")]
fn accounts() -> Result<Accounts, FormError> {
    use_context::<Accounts>().ok_or_else(|| FormError::Transport("accounts are not configured".to_owned()))
}

#[server]
pub async fn current_user() -> Result<Option<UserSummary>, FormError> {
    accounts()?.current_user().await
}

#[server]
pub async fn signup(
    email: String,
    display_name: Option<String>,
    password: String,
    password_confirm: String,
    goals: Option<String>,
    /// The consent box: present (any value) when ticked.
    accept_terms: Option<String>,
) -> Result<(), FormError> {
    if password != password_confirm {
        return Err(FormError::field_error("password_confirm", "The passwords do not match."));
    }
    let accept_terms = accept_terms.is_some();
    accounts()?.signup(SignupForm { email, display_name, password, goals, accept_terms }).await?;
    leptos_axum::redirect(crate::domain::redirect::HOME_AFTER_LOGIN);
    Ok(())
}

#[server]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), FormError> {
    accounts()?.login(email, password).await?;
    leptos_axum::redirect(&crate::domain::redirect::safe_next(next.as_deref()));
    Ok(())
}

#[server]
pub async fn logout() -> Result<(), FormError> {
    accounts()?.logout().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server]
pub async fn update_display_name(display_name: String) -> Result<(), FormError> {
    accounts()?.update_display_name(display_name).await?;
    leptos_axum::redirect("/account?updated=profile");
    Ok(())
}

#[server]
pub async fn update_instructions(instructions: String) -> Result<(), FormError> {
    accounts()?.update_instructions(instructions).await?;
    leptos_axum::redirect("/account?updated=instructions");
    Ok(())
}

#[server]
pub async fn change_password(
    current_password: String,
    new_password: String,
    new_password_confirm: String,
) -> Result<(), FormError> {
    if new_password != new_password_confirm {
        return Err(FormError::field_error("new_password_confirm", "The passwords do not match."));
    }
    accounts()?.change_password(current_password, new_password).await?;
    leptos_axum::redirect("/account?updated=password");
    Ok(())
}

#[server]
pub async fn sign_out_everywhere() -> Result<(), FormError> {
    accounts()?.sign_out_everywhere().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server]
pub async fn delete_account(password: String) -> Result<(), FormError> {
    accounts()?.delete_account(password).await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server]
pub async fn list_sessions() -> Result<Vec<SessionView>, FormError> {
    accounts()?.list_sessions().await
}

#[server]
pub async fn end_session(id: String) -> Result<(), FormError> {
    let was_this_one = accounts()?.end_session(id).await?;
    leptos_axum::redirect(if was_this_one { "/login" } else { "/account?updated=session#sessions-heading" });
    Ok(())
}

#[server]
pub async fn change_email(email: String, current_password: String) -> Result<(), FormError> {
    accounts()?.change_email(email, current_password).await?;
    leptos_axum::redirect("/account?updated=email");
    Ok(())
}

#[server]
pub async fn resend_verification() -> Result<(), FormError> {
    accounts()?.resend_verification().await?;
    leptos_axum::redirect("/account?updated=verification");
    Ok(())
}

#[server]
pub async fn request_password_reset(email: String) -> Result<(), FormError> {
    accounts()?.request_password_reset(email).await?;
    leptos_axum::redirect("/forgot-password?sent=1");
    Ok(())
}

#[server]
pub async fn reset_password(token: String, password: String, password_confirm: String) -> Result<(), FormError> {
    if password != password_confirm {
        return Err(FormError::field_error("password_confirm", "The passwords do not match."));
    }
    accounts()?.reset_password(token, password).await?;
    leptos_axum::redirect("/login?reset=1");
    Ok(())
}

/// Follows a verification link (the page at the link calls this as it renders).
#[server]
pub async fn verify_email(token: String) -> Result<(), FormError> {
    accounts()?.verify_email(token).await
}
