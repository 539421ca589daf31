//! Domain types shared by the browser (WASM) and the server.
//!
//! Each rule lives here exactly once, so the live feedback a person sees while typing and the check the
//! server enforces can never disagree.

pub mod display_name;
pub mod email;
pub mod password;
pub mod redirect;
pub mod user_agent;

pub use display_name::{DisplayName, DisplayNameError};
pub use email::{Email, EmailError};
pub use password::{Password, PasswordError, PasswordRule};
