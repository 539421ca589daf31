//! The built-in offline assistant: Parley works out of the box with no network and no key. Its reply is
//! deterministic and says plainly that it is a local demo, not a model. It understands a few plain
//! commands about tasks ("add a task to …", "what are my tasks", "mark … done") and carries them out with
//! the same tools a model would call, so tool calls work and can be tested with no model at all.

use std::{sync::Arc, time::Duration};

use futures_util::{StreamExt, stream};
use serde_json::{Value, json};

use super::{Assessment, Assistant, AssistantError, ReplyPiece, ReplyStream, Role, ToolBox, ToolCall, Turn};

/// A command the demo understands: the tool to call and its arguments.
fn command(message: &str) -> Option<(&'static str, Value)> {
    let text = message.trim().trim_end_matches(['.', '!', '?']).trim();
    let lower = text.to_lowercase();
    let rest = |prefix_len: usize| text[prefix_len..].trim().trim_matches(['"', '“', '”', '\'']).trim().to_owned();
    // A command with nothing to add is not a command.
    if ["add a task", "add a task to", "add task", "please add a task to"].contains(&lower.as_str()) {
        return None;
    }
    for prefix in ["please add a task to ", "add a task to ", "add a task: ", "add a task ", "add task: ", "add task "]
    {
        if lower.starts_with(prefix) && text.is_char_boundary(prefix.len()) {
            let title = rest(prefix.len());
            return (!title.is_empty()).then(|| ("add_task", json!({ "title": title })));
        }
    }
    if ["what are my tasks", "list my tasks", "show my tasks", "my tasks"].contains(&lower.as_str()) {
        return Some(("list_tasks", json!({})));
    }
    for (prefix, suffix) in [("mark ", " as done"), ("mark ", " done"), ("complete ", "")] {
        if lower.starts_with(prefix) && lower.ends_with(suffix) && text.len() > prefix.len() + suffix.len() {
            let end = text.len() - suffix.len();
            if text.is_char_boundary(prefix.len()) && text.is_char_boundary(end) {
                let title = text[prefix.len()..end].trim().trim_matches(['"', '“', '”', '\'']).trim().to_owned();
                return (!title.is_empty()).then(|| ("complete_task", json!({ "title": title })));
            }
        }
    }
    None
}

/// What the demo says after a tool call, from its result.
fn summary(call: &ToolCall) -> String {
    if let Some(error) = call.result.get("error").and_then(Value::as_str) {
        return format!("I could not do that: {error}");
    }
    let title = call.result.get("title").and_then(Value::as_str).unwrap_or_default();
    match call.name.as_str() {
        "add_task" => format!("Added the task “{title}” to your list."),
        "complete_task" => format!("Marked “{title}” done."),
        "list_tasks" => {
            let tasks = call.result.get("tasks").and_then(Value::as_array).cloned().unwrap_or_default();
            if tasks.is_empty() {
                return "You have no tasks yet.".to_owned();
            }
            let lines: Vec<String> = tasks
                .iter()
                .map(|t| {
                    let done = t.get("completed").and_then(Value::as_bool).unwrap_or(false);
                    let title = t.get("title").and_then(Value::as_str).unwrap_or_default();
                    format!("- {} {title}", if done { "[done]" } else { "[open]" })
                })
                .collect();
            format!("Your tasks:\n\n{}", lines.join("\n"))
        }
        other => format!("Called {other}."),
    }
}

/// Words that pull the demo's score up or down: a stand-in for a model, so tests and demos score offline.
const GOOD_WORDS: [&str; 10] =
    ["thanks", "thank", "great", "good", "glad", "happy", "love", "helpful", "better", "calm"];
const BAD_WORDS: [&str; 10] = ["sad", "angry", "hate", "awful", "bad", "worse", "hopeless", "afraid", "alone", "hurt"];

/// The demo's assessment: 50, plus 10 for each good word and minus 15 for each bad one the person wrote,
/// within 0 to 100; the same transcript always scores the same.
pub fn demo_assessment(transcript: &[Turn]) -> Assessment {
    let written: Vec<String> = transcript
        .iter()
        .filter(|t| t.role == Role::User)
        .flat_map(|t| t.content.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .collect();
    let good = written.iter().filter(|w| GOOD_WORDS.contains(&w.as_str())).count() as i32;
    let bad = written.iter().filter(|w| BAD_WORDS.contains(&w.as_str())).count() as i32;
    let chat_score = (50 + 10 * good - 15 * bad).clamp(0, 100);
    let mood = match chat_score {
        0..=29 => "The person sounds troubled",
        30..=69 => "The conversation is steady",
        _ => "The person sounds well",
    };
    let summary = format!(
        "{mood}: {} messages, {} words from the person ({good} hopeful, {bad} worried). Scored by the local demo \
         assistant, without a model.",
        transcript.len(),
        written.len()
    );
    Assessment { chat_score, summary }
}

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
    async fn reply(&self, history: Vec<Turn>, tools: Arc<dyn ToolBox>) -> Result<ReplyStream, AssistantError> {
        let last = history.iter().rev().find(|t| t.role == Role::User).map(|t| t.content.as_str()).unwrap_or("");
        let mut pieces = Vec::new();
        let text = match command(last) {
            Some((name, arguments)) => {
                let result = tools.call(name, &arguments).await;
                let call = ToolCall { name: name.to_owned(), arguments, result };
                let text = summary(&call);
                pieces.push(ReplyPiece::Tool(call));
                text
            }
            None => demo_reply(last),
        };
        pieces.extend(chunks(&text).into_iter().map(ReplyPiece::Text));
        let delay = self.chunk_delay;
        let pieces = stream::iter(pieces).then(move |piece| async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(piece)
        });
        Ok(Box::pin(pieces))
    }

    async fn assess(&self, transcript: Vec<Turn>) -> Result<Assessment, AssistantError> {
        Ok(demo_assessment(&transcript))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_commands_become_tool_calls() {
        assert_eq!(
            command("Add a task to water the tomatoes."),
            Some(("add_task", json!({ "title": "water the tomatoes" })))
        );
        assert_eq!(command("add task: “Call Bo”"), Some(("add_task", json!({ "title": "Call Bo" }))));
        assert_eq!(command("What are my tasks?"), Some(("list_tasks", json!({}))));
        assert_eq!(
            command("Mark water the tomatoes as done"),
            Some(("complete_task", json!({ "title": "water the tomatoes" })))
        );
        assert_eq!(command("mark Call Bo done!"), Some(("complete_task", json!({ "title": "Call Bo" }))));
        assert_eq!(command("add a task to "), None);
        assert_eq!(command("Hello there"), None);
        assert_eq!(command("Add a task to ünïcödé"), Some(("add_task", json!({ "title": "ünïcödé" }))));
    }

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
