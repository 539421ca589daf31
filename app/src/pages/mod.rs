pub mod account;
pub mod chat;
pub mod home;
pub mod login;
pub mod not_found;
pub mod search;
pub mod signup;
pub mod tasks;
