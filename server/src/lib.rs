//! The Parley server, in floors (`ARCHITECTURE.md`). Each may use the floors below it, never one above:
//!
//! - [`web`]: the ways in (JSON API, the pages' server functions, MCP, health) and what they share;
//! - [`services`]: the domain (accounts, chat, tasks, export, the assistant and its tools, mail);
//! - [`db`]: storage, all the SQL, for SQLite and PostgreSQL;
//! - [`support`]: configuration, telemetry, the error vocabulary, the search language.
//!
//! [`startup`] wires them together; `main` and the integration tests both start the app through it.

pub mod db;
pub mod services;
pub mod startup;
pub mod support;
pub mod web;
