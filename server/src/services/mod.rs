//! The domain: every rule about accounts, conversations, tasks and exports, each behind one service (a
//! struct holding what it needs, cloned cheaply, with methods that take the user). The ways in call these;
//! these call storage; none of them knows about HTTP.

pub mod accounts;
pub mod assistant;
pub mod chat;
pub mod export;
pub mod fields;
pub mod imports;
pub mod insights;
pub mod jobs;
pub mod mail;
pub mod tasks;
pub mod tools;
