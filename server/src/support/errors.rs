//! The error vocabulary shared by every floor: messages per field, the cause chain for logs, and
//! [`Refusal`], the one classification every domain error maps to once and every way in maps from once.

use std::collections::BTreeMap;

/// Messages per field, for `validation_failed` and for inline form errors.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Adds `message` to `field`'s messages.
pub fn field_error(fields: &mut FieldErrors, field: &str, message: impl Into<String>) {
    fields.entry(field.to_owned()).or_default().push(message.into());
}

/// A single message for a single field.
pub fn one_field_error(field: &str, message: impl Into<String>) -> FieldErrors {
    FieldErrors::from([(field.to_owned(), vec![message.into()])])
}

/// The error and all its sources, one per line, for logs.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

/// What a way in tells the person or client when a service refuses. Each domain error converts to this
/// once, beside its definition (logging any cause there); the JSON API and the pages each convert from it
/// once. So adding a variant to a domain error means one new line, not one per way in.
#[derive(Debug)]
pub enum Refusal {
    Validation(FieldErrors),
    /// Unknown, or another user's: the same either way.
    NotFound(Missing),
    EmailTaken,
    InvalidCredentials,
    Unauthorized,
    RateLimited {
        retry_after: u64,
    },
    /// An upload larger than the limit, in bytes.
    TooLarge {
        max_bytes: u64,
    },
    /// The database could not be reached (the cause is logged).
    Unavailable,
    /// A bug or a failing dependency (the cause is logged).
    Internal,
}

/// What was not found, for the pages' wording (the API answers `not_found` for all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    Conversation,
    Task,
    Analysis,
    Import,
}

/// Implements `From<E> for $target` through [`Refusal`] for each domain error `E`: the one table that
/// connects the services' errors to a way in's own error type.
macro_rules! outward_via_refusal {
    ($target:ty: $($error:ty),+ $(,)?) => {
        $(impl From<$error> for $target {
            fn from(error: $error) -> Self {
                $crate::support::Refusal::from(error).into()
            }
        })+
    };
}
pub(crate) use outward_via_refusal;
