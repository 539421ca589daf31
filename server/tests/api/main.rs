//! Integration tests: the real router on a random loopback port, each test with its own SQLite file.

mod helpers;

mod auth;
mod browser;
mod config;
mod conversations;
mod provider;
mod health;
mod jwt;
mod logs;
mod me;
mod openapi;
mod pages;
mod rate_limits;
