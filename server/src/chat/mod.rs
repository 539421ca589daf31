//! Conversations: the one service behind the JSON API and the chat pages.

pub mod cursor;
pub mod markdown;
pub mod service;

pub use service::{whole_reply, ChatError, ChatService, NoReply, ReplyEvent};
