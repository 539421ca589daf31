//! Accounts: password hashing, tokens, rate limits and the one service that the JSON API and the Leptos
//! server functions both call.

pub mod external;
pub mod hashing;
pub mod rate_limit;
mod recovery;
pub mod service;
mod sessions;
pub mod tokens;

pub use service::{AccountError, AccountService, Signup};
pub use sessions::{CurrentSession, SessionInfo, SessionKind, rfc3339};
