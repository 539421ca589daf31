//! Accounts: password hashing, tokens, rate limits and the one service that the JSON API and the Leptos
//! server functions both call.

pub mod hashing;
pub mod rate_limit;
pub mod service;
pub mod tokens;

pub use service::{AccountError, AccountService, FieldErrors};
