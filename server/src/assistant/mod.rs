//! The assistant that answers messages: a trait with two implementations, chosen by configuration.
//! - [`demo::DemoAssistant`], the default: offline, deterministic, clearly labelled as a local demo.
//! - [`openai::OpenAiAssistant`]: any OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM,
//!   llama.cpp's server), streamed.

pub mod demo;
pub mod openai;

use std::pin::Pin;

use futures_util::Stream;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The user's custom instructions, first in the conversation when they have any.
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One earlier message, as the assistant sees the conversation.
#[derive(Clone, Debug)]
pub struct Turn {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    #[error("could not reach the assistant: {0}")]
    Unreachable(String),
    #[error("the assistant answered with HTTP status {0}")]
    Status(u16),
    #[error("the assistant stopped answering (no data for {0} s)")]
    Timeout(u64),
    #[error("the assistant sent something that is not a valid reply: {0}")]
    Malformed(String),
}

/// The reply, piece by piece, as the assistant produces it.
pub type ReplyStream = Pin<Box<dyn Stream<Item = Result<String, AssistantError>> + Send>>;

#[async_trait::async_trait]
pub trait Assistant: Send + Sync + 'static {
    /// Starts a reply to `history` (oldest first, ending with the user's new message).
    async fn reply(&self, history: Vec<Turn>) -> Result<ReplyStream, AssistantError>;
}
