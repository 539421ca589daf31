pub mod auth;
pub mod form;
pub mod layout;
pub mod password_checklist;
pub mod reply_stream;
pub mod time;
