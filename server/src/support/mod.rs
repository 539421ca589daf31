//! The ground floor: what every other floor may use and which uses none of them. Configuration,
//! telemetry, the error vocabulary the ways in share, the search language (how text becomes words), and what
//! the database holds instead of text (`at_rest`: Fernet tokens and a blind search index).

pub mod at_rest;
pub mod config;
mod errors;
pub mod fifo_cache;
pub mod readiness;
pub mod search_text;
pub mod telemetry;

pub(crate) use errors::outward_via_refusal;
pub use errors::{FieldErrors, Missing, Refusal, error_chain, field_error, one_field_error};
