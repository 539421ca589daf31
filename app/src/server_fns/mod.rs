//! Server functions: what the pages ask of the server. Each is a thin call into a port that the server
//! crate implements, so no SQL, hashing or session code is compiled into this crate.

pub mod accounts;
pub mod chat;
pub mod imports;
pub mod tasks;
