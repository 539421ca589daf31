//! The Parley server: configuration, storage, HTTP routes and the Leptos pages, wired together in
//! [`startup`].

pub mod api;
pub mod assistant;
pub mod auth;
pub mod browser;
pub mod chat;
pub mod config;
pub mod db;
pub mod error;
pub mod export;
pub mod fields;
pub mod mail;
pub mod mcp;
pub mod routes;
pub mod search;
pub mod security;
pub mod startup;
pub mod tasks;
pub mod telemetry;
pub mod tools;
