//! The assistant that answers messages: a trait with two implementations, chosen by configuration.
//! - [`demo::DemoAssistant`], the default: offline, deterministic, clearly labelled as a local demo.
//! - [`openai::OpenAiAssistant`]: any OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM,
//!   llama.cpp's server), streamed.

pub mod demo;
pub mod openai;

use std::{pin::Pin, sync::Arc};

use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// A tool the assistant may call, described for the model.
#[derive(Clone, Debug)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

/// A call the assistant made while replying: stored with the reply and shown with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub name: String,
    pub arguments: Value,
    pub result: Value,
}

/// The tools of one user (see `crate::services::tools`). A call always answers a value; failures are
/// `{"error": "…"}`, for the model to read.
#[async_trait::async_trait]
pub trait ToolBox: Send + Sync {
    fn specs(&self) -> Vec<ToolSpec>;
    async fn call(&self, name: &str, arguments: &Value) -> Value;
}

/// One piece of a reply, in the order it happened.
#[derive(Clone, Debug, PartialEq)]
pub enum ReplyPiece {
    Text(String),
    Tool(ToolCall),
}

/// The reply, piece by piece, as the assistant produces it.
pub type ReplyStream = Pin<Box<dyn Stream<Item = Result<ReplyPiece, AssistantError>> + Send>>;

/// An assessment of part of a conversation: how well it is going, 0 (badly: distress, conflict, a person
/// stuck) to 100 (well), and a one-paragraph summary.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Assessment {
    pub chat_score: i32,
    pub summary: String,
}

/// The longest summary kept; a model's longer one is a malformed answer.
pub const MAX_SUMMARY_CHARS: usize = 2_000;

impl Assessment {
    /// Checks a model's answer: a score of 0 to 100 and a summary of 1 to 2,000 characters.
    pub fn validated(self) -> Result<Self, AssistantError> {
        if !(0..=100).contains(&self.chat_score) {
            return Err(AssistantError::Malformed(format!("chat_score {} is not between 0 and 100", self.chat_score)));
        }
        let chars = self.summary.trim().chars().count();
        if chars == 0 || chars > MAX_SUMMARY_CHARS {
            return Err(AssistantError::Malformed(format!("the summary has {chars} characters (1 to 2,000)")));
        }
        Ok(Assessment { summary: self.summary.trim().to_owned(), ..self })
    }
}

#[async_trait::async_trait]
pub trait Assistant: Send + Sync + 'static {
    /// Starts a reply to `history` (oldest first, ending with the user's new message), calling `tools` as
    /// it needs them.
    async fn reply(&self, history: Vec<Turn>, tools: Arc<dyn ToolBox>) -> Result<ReplyStream, AssistantError>;

    /// Scores `transcript` (oldest first) and sums it up.
    async fn assess(&self, transcript: Vec<Turn>) -> Result<Assessment, AssistantError>;
}
