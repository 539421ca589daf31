use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Database, DbError, db_now, on_pool};

/// The columns of a [`User`], in the order its `FromRow` reads them: one list for every statement that
/// returns a user.
macro_rules! user_columns {
    () => {
        "id, email, display_name, instructions, email_verified_at, created_at, terms_accepted_at"
    };
}

/// Serialisable so that a loaded browser session can carry it for one request (see `db::sessions`).
#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: Option<String>,
    /// Custom instructions: what the assistant should know about the user.
    pub instructions: Option<String>,
    /// When the user last followed a verification link sent to `email`; `None` until they do.
    pub email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When the user accepted the terms at signup (only asked when `PARLEY_TERMS_URL` is set).
    pub terms_accepted_at: Option<DateTime<Utc>>,
}

impl User {
    /// The row as read, with its custom instructions opened.
    pub(super) fn opened(mut self, at_rest: &crate::support::at_rest::AtRest) -> Self {
        self.instructions = at_rest.open_opt(self.instructions);
        self
    }
}

/// A new account, as signup creates it.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: Option<&'a str>,
    pub password_hash: &'a str,
    /// The goals given at signup: the first custom instructions.
    pub instructions: Option<&'a str>,
    pub accepted_terms: bool,
}

/// The user behind an identity provider's subject, and the identity's current API login.
#[derive(Clone, Debug)]
pub struct ExternalSignIn {
    pub user: User,
    pub login: Option<ExternalLogin>,
}

/// An identity's API login: what its tokens count as in the sessions list, and what ending it ends.
#[derive(Clone, Copy, Debug)]
pub struct ExternalLogin {
    pub id: Uuid,
    /// Unix seconds; tokens issued at or before this are refused.
    pub revoked_at: Option<i64>,
    pub last_seen_at: i64,
}

#[derive(sqlx::FromRow)]
struct ExternalRow {
    #[sqlx(flatten)]
    user: User,
    login_id: Option<Uuid>,
    revoked_at: Option<i64>,
    last_seen_at: Option<i64>,
}

/// A user with the stored password hash, for the few places that verify passwords.
#[derive(sqlx::FromRow)]
pub struct UserCredentials {
    pub id: Uuid,
    pub password_hash: String,
}

impl Database {
    /// Inserts a new user; an email that is already registered gives [`DbError::UniqueViolation`].
    pub async fn insert_user(&self, new: &NewUser<'_>) -> Result<User, DbError> {
        let instructions = self.at_rest().seal_opt(new.instructions);
        let _turn = self.write_turn().await?;
        let now = db_now();
        let user = on_pool!(self, |pool| sqlx::query_as::<_, User>(concat!(
            "INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at, instructions,
                                terms_accepted_at)
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7)
             RETURNING ",
            user_columns!()
        ))
        .bind(Uuid::now_v7())
        .bind(new.email)
        .bind(new.display_name)
        .bind(new.password_hash)
        .bind(now)
        .bind(&instructions)
        .bind(new.accepted_terms.then_some(now))
        .fetch_one(pool)
        .await)?;
        Ok(user.opened(self.at_rest()))
    }

    pub async fn find_user(&self, id: Uuid) -> Result<Option<User>, DbError> {
        let row = on_pool!(self, |pool| sqlx::query_as::<_, User>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|user| user.opened(self.at_rest())))
    }

    pub async fn find_credentials_by_email(&self, email: &str) -> Result<Option<UserCredentials>, DbError> {
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, UserCredentials>(
            "SELECT id, password_hash FROM users WHERE email = $1"
        )
        .bind(email)
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn find_credentials(&self, id: Uuid) -> Result<Option<UserCredentials>, DbError> {
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, UserCredentials>(
            "SELECT id, password_hash FROM users WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn update_password_hash(&self, id: Uuid, password_hash: &str) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(db_now())
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Changes what is given: the display name, and the custom instructions (`Some(None)` clears them), in
    /// one statement. `None` when there is no such user.
    pub async fn update_profile(
        &self,
        id: Uuid,
        display_name: Option<&str>,
        instructions: Option<Option<&str>>,
    ) -> Result<Option<User>, DbError> {
        let instructions = instructions.map(|text| self.at_rest().seal_opt(text));
        let _turn = self.write_turn().await?;
        let row = on_pool!(self, |pool| sqlx::query_as::<_, User>(concat!(
            "UPDATE users SET display_name = COALESCE($1, display_name),
                 instructions = CASE WHEN $2 THEN $3 ELSE instructions END, updated_at = $4
             WHERE id = $5
             RETURNING ",
            user_columns!()
        ))
        .bind(display_name)
        .bind(instructions.is_some())
        .bind(instructions.flatten())
        .bind(db_now())
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|user| user.opened(self.at_rest())))
    }

    /// The custom instructions of the user who owns a conversation, for its system message.
    pub async fn instructions_for_conversation(&self, conversation_id: Uuid) -> Result<Option<String>, DbError> {
        let row: Option<(Option<String>,)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT u.instructions FROM conversations c JOIN users u ON u.id = c.user_id WHERE c.id = $1",
        )
        .bind(conversation_id)
        .fetch_optional(pool)
        .await)?;
        Ok(self.at_rest().open_opt(row.and_then(|(instructions,)| instructions)))
    }

    /// The user an identity provider's subject maps to, with the identity's current API login.
    pub async fn find_external_user(&self, issuer: &str, subject: &str) -> Result<Option<ExternalSignIn>, DbError> {
        let row: Option<ExternalRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT u.id, u.email, u.display_name, u.instructions, u.email_verified_at, u.created_at, u.terms_accepted_at,
                    l.id AS login_id, l.revoked_at, l.last_seen_at
             FROM external_identities x JOIN users u ON u.id = x.user_id LEFT JOIN api_logins l ON l.id = x.login_id
             WHERE x.issuer = $1 AND x.subject = $2",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(pool)
        .await
        })?;
        Ok(row.map(|row| ExternalSignIn {
            login: row.login_id.map(|id| ExternalLogin {
                id,
                revoked_at: row.revoked_at,
                last_seen_at: row.last_seen_at.unwrap_or(0),
            }),
            user: row.user.opened(self.at_rest()),
        }))
    }

    /// Links an identity to an existing user (the provider and Parley both vouch for the same address).
    /// Two first requests at once link once: the loser reads the winner's.
    pub async fn link_external_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: Uuid,
    ) -> Result<Option<ExternalSignIn>, DbError> {
        let linked = {
            let _turn = self.write_turn().await?;
            on_pool!(self, |pool| sqlx::query(
                "INSERT INTO external_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)"
            )
            .bind(issuer)
            .bind(subject)
            .bind(user_id)
            .bind(db_now())
            .execute(pool)
            .await
            .map(|_| ()))
        };
        match linked.map_err(DbError::from) {
            Ok(()) | Err(DbError::UniqueViolation) => self.find_external_user(issuer, subject).await,
            Err(other) => Err(other),
        }
    }

    /// Creates the user for an identity provider's subject. Two first requests at once create one user:
    /// the loser's transaction fails on the identity's key and it reads the winner's.
    /// `email_verified`: the provider vouches for the address, so the account starts verified.
    pub async fn create_external_user(
        &self,
        issuer: &str,
        subject: &str,
        email: &str,
        email_verified: bool,
        password_hash: &str,
    ) -> Result<ExternalSignIn, DbError> {
        let created = {
            let _turn = self.write_turn().await?;
            let now = db_now();
            let result: Result<User, DbError> = on_pool!(self, |pool| {
                async {
                let mut tx = pool.begin_with(self.begin_write()).await?;
                let user = sqlx::query_as::<_, User>(
                    concat!(
"INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at, email_verified_at)
                     VALUES ($1, $2, NULL, $3, $4, $4, $5)
                     RETURNING ",
 user_columns!()
),
                )
                .bind(Uuid::now_v7())
                .bind(email)
                .bind(password_hash)
                .bind(now)
                .bind(email_verified.then_some(now))
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("INSERT INTO external_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(issuer)
                    .bind(subject)
                    .bind(user.id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(user)
            }
            .await
            });
            result
        };
        match created {
            Ok(user) => Ok(ExternalSignIn { user, login: None }),
            Err(DbError::UniqueViolation) => {
                self.find_external_user(issuer, subject).await?.ok_or(DbError::UniqueViolation)
            }
            Err(other) => Err(other),
        }
    }

    /// Deletes the user; every row they own goes with them (foreign keys cascade).
    pub async fn delete_user(&self, id: Uuid) -> Result<(), DbError> {
        let _turn = self.write_turn().await?;
        on_pool!(self, |pool| sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }
}
