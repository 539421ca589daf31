//! The built-in offline assistant: Parley works out of the box with no network and no key. Its reply is
//! deterministic and says plainly that it is a local demo, not a model.

use std::time::Duration;

use futures_util::{stream, StreamExt};

use super::{Assistant, AssistantError, ReplyStream, Role, Turn};

pub struct DemoAssistant {
    /// Pause between chunks, so the reply streams visibly like a real model's.
    pub chunk_delay: Duration,
}

/// The full reply to `message`; the same input always gives the same reply.
pub fn demo_reply(message: &str) -> String {
    let words = message.split_whitespace().count();
    let excerpt: String = message.chars().take(160).collect();
    let ellipsis = if message.chars().count() > 160 { "…" } else { "" };
    format!(
        "**Local demo assistant**: no AI model is connected to this Parley, so this reply is generated \
         on the server without one.\n\nYou wrote {words} word{plural}:\n\n> {quote}{ellipsis}\n\nTo talk to a \
         real model, set `ASSISTANT_BASE_URL`, `ASSISTANT_MODEL` and, if it needs one, `ASSISTANT_API_KEY`.",
        plural = if words == 1 { "" } else { "s" },
        quote = excerpt.replace('\n', " "),
    )
}

/// Splits a reply into small pieces (a word and the space after it), as models stream tokens.
pub fn chunks(reply: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for ch in reply.chars() {
        current.push(ch);
        if ch == ' ' || ch == '\n' {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

#[async_trait::async_trait]
impl Assistant for DemoAssistant {
    async fn reply(&self, history: Vec<Turn>) -> Result<ReplyStream, AssistantError> {
        let last = history.iter().rev().find(|t| t.role == Role::User).map(|t| t.content.as_str()).unwrap_or("");
        let delay = self.chunk_delay;
        let pieces = stream::iter(chunks(&demo_reply(last))).then(move |piece| async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(piece)
        });
        Ok(Box::pin(pieces))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_is_deterministic_and_labelled() {
        let reply = demo_reply("Hello there");
        assert_eq!(reply, demo_reply("Hello there"));
        assert!(reply.starts_with("**Local demo assistant**"));
        assert!(reply.contains("> Hello there"));
    }

    #[test]
    fn chunks_concatenate_to_the_reply() {
        let reply = demo_reply("a b\nc");
        let pieces = chunks(&reply);
        assert!(pieces.len() > 10, "streams in small pieces");
        assert_eq!(pieces.concat(), reply);
    }
}
