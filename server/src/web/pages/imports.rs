//! Imports for the browser: the account page's upload form (`POST /account/import`, multipart, streamed
//! into an import and then on to its page) and the port the import pages read through.

use app::server_fns::{
    accounts::FormError,
    imports::{ImportView, ImportsPort},
};
use axum::{
    extract::{Multipart, State},
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;
use uuid::Uuid;

use super::{session, signed_in_user};
use crate::{
    db::Import,
    services::{
        accounts::AccountService,
        imports::{ImportError, ImportService},
    },
    web::AppState,
};

pub struct BrowserImports {
    pub imports: ImportService,
    pub accounts: AccountService,
}

impl BrowserImports {
    async fn user_id(&self) -> Result<Uuid, FormError> {
        let user = signed_in_user(&self.accounts, &session().await?).await?;
        user.map(|u| u.id).ok_or(FormError::Unauthorized)
    }
}

fn view_of(import: Import) -> ImportView {
    ImportView {
        id: import.id.to_string(),
        state: import.state,
        format: import.format,
        conversations: import.conversations,
        messages: import.messages,
        total_messages: import.total_messages,
        skipped: import.skipped,
        error: import.error,
        created_at: import.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

#[async_trait::async_trait]
impl ImportsPort for BrowserImports {
    async fn status(&self, id: String) -> Result<ImportView, FormError> {
        let user = self.user_id().await?;
        let id: Uuid = id.parse().map_err(|_| FormError::NotFound)?;
        Ok(view_of(self.imports.get(user, id).await?))
    }

    async fn recent(&self) -> Result<Vec<ImportView>, FormError> {
        let user = self.user_id().await?;
        Ok(self.imports.recent(user).await?.into_iter().map(view_of).collect())
    }
}

/// Back to the account page's import section, saying what was wrong with the upload.
fn back(problem: &str) -> Response {
    Redirect::to(&format!("/account?import={problem}#import-heading")).into_response()
}

/// `POST /account/import`: the form's `file` part streams into a new import; the browser then follows it
/// on `/imports/{id}`. Refusals go back to the form with a message.
pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let user = match signed_in_user(&state.accounts, &session).await {
        Ok(Some(user)) => user,
        Ok(None) => return Redirect::to("/login?next=%2Faccount").into_response(),
        Err(_) => return back("unavailable"),
    };
    let Ok(mut multipart) = multipart else { return back("missing") };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return back("missing"),
            Err(_) => return back("cut_off"),
        };
        if field.name() != Some("file") {
            continue;
        }
        return match state.imports.receive(user.id, field).await {
            Ok(import) => Redirect::to(&format!("/imports/{}", import.id)).into_response(),
            Err(ImportError::Empty) => back("empty"),
            Err(ImportError::TooLarge { .. }) => back("too_large"),
            Err(ImportError::CutOff) => back("cut_off"),
            Err(ImportError::NotFound | ImportError::Database(_)) => back("unavailable"),
        };
    }
}
