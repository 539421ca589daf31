//! Integration tests: the real router on a random loopback port, each test with a database of its own: a
//! SQLite file, or (with `PARLEY_TEST_POSTGRES_URL` set, as `./dev.sh test` does in its second pass) a fresh
//! database on a throwaway PostgreSQL.

mod helpers;

mod at_rest;
mod auth;
mod browser;
mod config;
mod conversations;
mod cors;
mod export;
mod external_tokens;
mod health;
mod hostile_text;
mod imports;
mod insights;
mod jwt;
mod logs;
mod mcp;
mod me;
mod openapi;
mod pages;
mod provider;
mod rate_limits;
mod recovery;
mod scale;
mod search;
mod sessions;
mod tasks;
