//! The exports Parley reads, one conversation at a time, written from the formats' public descriptions:
//!
//! - **ChatGPT** (`conversations.json`): a conversation is a tree of nodes (`mapping`, each with `parent`,
//!   `children` and a `message` or null); `current_node` is the end of the branch the person last saw.
//!   Messages have `author.role`, `content` (`text` with string `parts`, `multimodal_text` whose parts may
//!   also be objects such as image pointers), `create_time` in Unix seconds, `metadata.model_slug` (not
//!   always), and hidden ones (`weight: 0`, system prompts, tool traffic) that a person never saw.
//! - **Open WebUI** (its chat export): a list of chats, each with `chat.history.messages` keyed by id
//!   (`parentId`, `role`, `content`, `timestamp` in Unix seconds, `model`) and `chat.history.currentId`.
//! - **Parley** (`GET /api/v1/me/export`): `{"user", "conversations": [{id, title, created_at, updated_at,
//!   messages: [{id, role, content, created_at}]}]}`.
//!
//! Only the current branch is kept (Parley's conversations are linear), oldest message first, with
//! strictly increasing times so that the order survives storage.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    db::{ImportedConversation, ImportedMessage},
    services::fields::MAX_TITLE_CHARS,
};

/// The export a file holds, detected from its first conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    ChatGpt,
    OpenWebUi,
    Parley,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::ChatGpt => "chatgpt",
            Format::OpenWebUi => "openwebui",
            Format::Parley => "parley",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Format::ChatGpt => "ChatGPT",
            Format::OpenWebUi => "Open WebUI",
            Format::Parley => "Parley",
        }
    }

    /// The format a conversation object is in, if any.
    pub fn of(item: &Value) -> Option<Format> {
        if item.get("mapping").is_some_and(Value::is_object) {
            Some(Format::ChatGpt)
        } else if item.get("chat").is_some_and(Value::is_object) {
            Some(Format::OpenWebUi)
        } else if item.get("messages").is_some_and(Value::is_array) && item.get("id").is_some_and(Value::is_string) {
            Some(Format::Parley)
        } else {
            None
        }
    }

    /// The conversation `item` holds, in this format; `number` (1-based) names it in errors.
    pub fn read(self, item: &Value, number: usize) -> Result<Read, String> {
        if Format::of(item) != Some(self) {
            return Err(format!(
                "conversation {number} is not a {} conversation like the ones before it",
                self.label()
            ));
        }
        let read = match self {
            Format::ChatGpt => chatgpt(item),
            Format::OpenWebUi => open_webui(item),
            Format::Parley => parley(item),
        };
        read.map_err(|problem| format!("conversation {number} ({} export): {problem}", self.label()))
    }
}

/// One conversation read, and how many parts of it could not be kept (images, files, other non-text).
#[derive(Debug)]
pub struct Read {
    /// `None` when nothing in it was text a person saw.
    pub conversation: Option<ImportedConversation>,
    pub skipped: u32,
}

/// Builds a conversation's messages in branch order, keeping the times strictly increasing.
struct Builder {
    messages: Vec<ImportedMessage>,
    skipped: u32,
    last: Option<DateTime<Utc>>,
}

impl Builder {
    fn new() -> Self {
        Builder { messages: Vec::new(), skipped: 0, last: None }
    }

    fn push(&mut self, source_id: String, role: &'static str, content: &str, at: DateTime<Utc>, model: Option<&str>) {
        let content = clean(content);
        if content.trim().is_empty() {
            return;
        }
        let at = match self.last {
            Some(last) if at <= last => last + chrono::Duration::microseconds(1),
            _ => at,
        };
        self.last = Some(at);
        self.messages.push(ImportedMessage {
            source_id,
            role,
            content,
            created_at: at,
            model: model.map(str::to_owned),
        });
    }

    fn finish(
        self,
        source_id: String,
        same_id: Option<Uuid>,
        title: Option<&str>,
        created: DateTime<Utc>,
        updated: Option<DateTime<Utc>>,
    ) -> Read {
        if self.messages.is_empty() {
            return Read { conversation: None, skipped: self.skipped };
        }
        let first = self.messages.first().map_or(created, |m| m.created_at);
        let last = self.messages.last().map_or(created, |m| m.created_at);
        let created_at = created.min(first);
        let updated_at = updated.unwrap_or(last).max(last);
        let title = title_of(title, &self.messages[0].content);
        Read {
            conversation: Some(ImportedConversation {
                source_id,
                same_id,
                title,
                created_at,
                updated_at,
                messages: self.messages,
            }),
            skipped: self.skipped,
        }
    }
}

/// Text as both backends store it: PostgreSQL refuses NUL in text, so it becomes U+FFFD (as
/// `copy-from-sqlite` does).
fn clean(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// The source's title, trimmed and bounded; else one made from the first message, as a new chat gets.
fn title_of(title: Option<&str>, first_message: &str) -> String {
    match title.map(|t| clean(t.trim())).filter(|t| !t.is_empty()) {
        Some(title) if title.chars().count() > MAX_TITLE_CHARS => {
            format!("{}…", title.chars().take(MAX_TITLE_CHARS - 1).collect::<String>().trim_end())
        }
        Some(title) => title,
        None => crate::services::chat::service::title_from(first_message),
    }
}

/// A time given as Unix seconds (a number, possibly fractional, or a numeric string) or RFC 3339.
fn time(value: Option<&Value>) -> Option<DateTime<Utc>> {
    let value = value?;
    let seconds = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => match s.parse::<f64>() {
            Ok(seconds) => seconds,
            Err(_) => return DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)),
        },
        _ => return None,
    };
    // Some exports write milliseconds; no conversation predates 2001 in milliseconds' reckoning.
    let seconds = if seconds > 1e11 { seconds / 1000.0 } else { seconds };
    if !seconds.is_finite() || !(0.0..253_402_300_799.0).contains(&seconds) {
        return None;
    }
    let micros = (seconds * 1_000_000.0).round() as i64;
    DateTime::<Utc>::from_timestamp_micros(micros)
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn id_text(value: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| match value.get(*key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// The ids from `leaf` up to the root through `parent_of`, root first; a cycle or a missing parent ends it.
fn branch_to(leaf: &str, parent_of: impl Fn(&str) -> Option<String>, limit: usize) -> Vec<String> {
    let mut path = vec![leaf.to_owned()];
    let mut seen: HashSet<String> = HashSet::from([leaf.to_owned()]);
    while let Some(parent) = parent_of(path.last().expect("never empty")) {
        if path.len() > limit || !seen.insert(parent.clone()) {
            break;
        }
        path.push(parent);
    }
    path.reverse();
    path
}

fn chatgpt(item: &Value) -> Result<Read, String> {
    let id = id_text(item, &["conversation_id", "id"]).ok_or("it has no id")?;
    let mapping = item["mapping"].as_object().ok_or("it has no mapping")?;
    let created = time(item.get("create_time"));
    let parent_of = |node: &str| mapping.get(node).and_then(|n| text(n, "parent")).map(str::to_owned);
    // The branch the person last saw; without one, the leaf written last.
    let leaf = text(item, "current_node").filter(|node| mapping.contains_key(*node)).map(str::to_owned).or_else(|| {
        mapping
            .iter()
            .filter(|(_, node)| node.get("children").and_then(Value::as_array).is_none_or(Vec::is_empty))
            .max_by(|(_, a), (_, b)| {
                let at = |n: &Value| n.get("message").and_then(|m| m.get("create_time")).and_then(Value::as_f64);
                at(a).partial_cmp(&at(b)).unwrap_or(std::cmp::Ordering::Equal)
            })
            .map(|(id, _)| id.clone())
    });
    let mut builder = Builder::new();
    let fallback = created.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    for node_id in leaf.map(|leaf| branch_to(&leaf, parent_of, mapping.len())).unwrap_or_default() {
        let Some(message) = mapping.get(&node_id).and_then(|node| node.get("message")).filter(|m| m.is_object()) else {
            continue;
        };
        let role = match message.get("author").and_then(|a| text(a, "role")) {
            Some("user") => "user",
            Some("assistant") => "assistant",
            _ => continue, // system prompts and tool traffic: never shown to the person
        };
        let metadata = message.get("metadata");
        let hidden = message.get("weight").and_then(Value::as_f64) == Some(0.0)
            || metadata.and_then(|m| m.get("is_visually_hidden_from_conversation")).and_then(Value::as_bool)
                == Some(true)
            || text(message, "recipient").is_some_and(|to| to != "all");
        if hidden {
            continue;
        }
        let content = message.get("content").cloned().unwrap_or(Value::Null);
        let mut parts_text = Vec::new();
        match text(&content, "content_type") {
            Some("text" | "multimodal_text") => {
                for part in content.get("parts").and_then(Value::as_array).into_iter().flatten() {
                    match part {
                        Value::String(s) => parts_text.push(s.as_str()),
                        Value::Null => {}
                        _ => builder.skipped += 1,
                    }
                }
            }
            _ => {
                builder.skipped += 1;
                continue;
            }
        }
        let at = time(message.get("create_time")).unwrap_or(fallback);
        let source = format!("chatgpt:{}", id_text(message, &["id"]).unwrap_or(node_id));
        let model = metadata.and_then(|m| text(m, "model_slug"));
        builder.push(source, role, &parts_text.join("\n"), at, model.filter(|_| role == "assistant"));
    }
    let created = created.or(builder.messages.first().map(|m| m.created_at)).unwrap_or(fallback);
    Ok(builder.finish(format!("chatgpt:{id}"), None, text(item, "title"), created, time(item.get("update_time"))))
}

fn open_webui(item: &Value) -> Result<Read, String> {
    let chat = &item["chat"];
    let id = id_text(item, &["id"]).or_else(|| id_text(chat, &["id"])).ok_or("it has no id")?;
    let created = time(item.get("created_at")).or_else(|| time(chat.get("timestamp")));
    let fallback = created.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let history = chat.get("history").and_then(|h| h.get("messages")).and_then(Value::as_object);
    let empty = serde_json::Map::new();
    let tree = history.unwrap_or(&empty);
    // The current branch from the tree; older exports have only the flat list.
    let branch: Vec<&Value> = match chat.get("history").and_then(|h| text(h, "currentId")) {
        Some(current) if tree.contains_key(current) => {
            let parent_of = |id: &str| tree.get(id).and_then(|m| text(m, "parentId")).map(str::to_owned);
            branch_to(current, parent_of, tree.len()).iter().filter_map(|id| tree.get(id)).collect()
        }
        _ => chat.get("messages").and_then(Value::as_array).map(|list| list.iter().collect()).unwrap_or_default(),
    };
    let mut builder = Builder::new();
    for (n, message) in branch.into_iter().enumerate() {
        let role = match text(message, "role") {
            Some("user") => "user",
            Some("assistant") => "assistant",
            _ => continue,
        };
        let files = ["files", "images"]
            .iter()
            .filter_map(|key| message.get(*key).and_then(Value::as_array))
            .map(Vec::len)
            .sum::<usize>();
        builder.skipped += files as u32;
        let content = match message.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(_) => {
                builder.skipped += 1;
                continue;
            }
        };
        let at = time(message.get("timestamp")).unwrap_or(fallback);
        let source = format!("openwebui:{}", id_text(message, &["id"]).unwrap_or_else(|| format!("{id}/{n}")));
        builder.push(source, role, &content, at, text(message, "model").filter(|_| role == "assistant"));
    }
    let title = text(item, "title").or_else(|| text(chat, "title"));
    Ok(builder.finish(
        format!("openwebui:{id}"),
        None,
        title,
        created.unwrap_or(fallback),
        time(item.get("updated_at")),
    ))
}

fn parley(item: &Value) -> Result<Read, String> {
    let id = text(item, "id").and_then(|id| id.parse::<Uuid>().ok()).ok_or("its id is not a UUID")?;
    let created = time(item.get("created_at")).ok_or("it has no created_at")?;
    let mut builder = Builder::new();
    for message in item["messages"].as_array().into_iter().flatten() {
        let role = match text(message, "role") {
            Some("user") => "user",
            Some("assistant") => "assistant",
            _ => return Err("a message's role is neither user nor assistant".to_owned()),
        };
        let content = text(message, "content").ok_or("a message has no content")?;
        let message_id = text(message, "id").ok_or("a message has no id")?;
        let at = time(message.get("created_at")).ok_or("a message has no created_at")?;
        builder.push(format!("parley:{message_id}"), role, content, at, None);
    }
    Ok(builder.finish(format!("parley:{id}"), Some(id), text(item, "title"), created, time(item.get("updated_at"))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn chatgpt_fixture() -> Value {
        // An edited first message: the old branch (a1 → b1) and the current one (a2 → b2 with an image).
        json!({
            "title": "Tides", "create_time": 1_700_000_000.5, "update_time": 1_700_000_100.0,
            "conversation_id": "c-1", "current_node": "b2",
            "mapping": {
                "root": {"id": "root", "message": null, "parent": null, "children": ["sys"]},
                "sys": {"id": "sys", "parent": "root", "children": ["a1", "a2"], "message": {
                    "id": "sys", "author": {"role": "system"}, "create_time": null, "weight": 0.0,
                    "content": {"content_type": "text", "parts": [""]}}},
                "a1": {"id": "a1", "parent": "sys", "children": ["b1"], "message": {
                    "id": "a1", "author": {"role": "user"}, "create_time": 1_700_000_001.0,
                    "content": {"content_type": "text", "parts": ["What makes tides?"]}}},
                "b1": {"id": "b1", "parent": "a1", "children": [], "message": {
                    "id": "b1", "author": {"role": "assistant"}, "create_time": 1_700_000_002.0,
                    "content": {"content_type": "text", "parts": ["The old answer."]}}},
                "a2": {"id": "a2", "parent": "sys", "children": ["b2"], "message": {
                    "id": "a2", "author": {"role": "user"}, "create_time": 1_700_000_010.0,
                    "content": {"content_type": "multimodal_text", "parts": [
                        {"content_type": "image_asset_pointer", "asset_pointer": "file-service://x"},
                        "What makes spring tides?"]}}},
                "b2": {"id": "b2", "parent": "a2", "children": [], "message": {
                    "id": "b2", "author": {"role": "assistant"}, "create_time": 1_700_000_010.0,
                    "metadata": {"model_slug": "gpt-4o"},
                    "content": {"content_type": "text", "parts": ["The sun and moon align."]}}}
            }
        })
    }

    #[test]
    fn chatgpt_keeps_the_current_branch_in_order_and_counts_what_it_skips() {
        let item = chatgpt_fixture();
        assert_eq!(Format::of(&item), Some(Format::ChatGpt));
        let read = Format::ChatGpt.read(&item, 1).unwrap();
        assert_eq!(read.skipped, 1, "the image");
        let conversation = read.conversation.unwrap();
        assert_eq!(conversation.source_id, "chatgpt:c-1");
        assert_eq!(conversation.title, "Tides");
        let texts: Vec<_> = conversation.messages.iter().map(|m| (m.role, m.content.as_str())).collect();
        assert_eq!(texts, [("user", "What makes spring tides?"), ("assistant", "The sun and moon align.")]);
        assert_eq!(conversation.messages[1].model.as_deref(), Some("gpt-4o"));
        assert!(conversation.messages[0].created_at < conversation.messages[1].created_at, "equal times are ordered");
        assert_eq!(conversation.created_at.timestamp_micros(), 1_700_000_000_500_000);
    }

    #[test]
    fn open_webui_follows_current_id_through_its_tree() {
        let item = json!({"id": "w-1", "title": "Bread", "created_at": 1_700_000_000, "updated_at": 1_700_000_500,
        "chat": {"history": {"currentId": "m4", "messages": {
            "m1": {"id": "m1", "parentId": null, "role": "user", "content": "Rye or wheat?", "timestamp": 1_700_000_001},
            "m2": {"id": "m2", "parentId": "m1", "role": "assistant", "content": "Old reply", "timestamp": 1_700_000_002, "model": "llama3"},
            "m4": {"id": "m4", "parentId": "m1", "role": "assistant", "content": "Regenerated reply", "timestamp": 1_700_000_003, "model": "llama3"}
        }}}});
        let conversation = Format::OpenWebUi.read(&item, 1).unwrap().conversation.unwrap();
        let texts: Vec<_> = conversation.messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts, ["Rye or wheat?", "Regenerated reply"]);
        assert_eq!(conversation.messages[1].model.as_deref(), Some("llama3"));
        assert_eq!(conversation.updated_at.timestamp(), 1_700_000_500);
    }

    #[test]
    fn a_conversation_of_another_format_or_missing_parts_is_named() {
        let problem = Format::ChatGpt.read(&json!({"chat": {}}), 3).unwrap_err();
        assert!(problem.contains("conversation 3"), "{problem}");
        let problem = Format::Parley.read(&json!({"id": "nope", "messages": []}), 1).unwrap_err();
        assert!(problem.contains("UUID"), "{problem}");
        assert_eq!(Format::of(&json!({"hello": 1})), None);
    }

    #[test]
    fn titles_are_bounded_or_made_from_the_first_message_and_nul_is_replaced() {
        assert_eq!(title_of(Some(&"x".repeat(500)), "").chars().count(), MAX_TITLE_CHARS);
        assert_eq!(title_of(Some("  "), "Hello there"), "Hello there");
        assert_eq!(clean("a\0b"), "a\u{FFFD}b");
        assert_eq!(time(Some(&json!(1_700_000_000_000u64))).unwrap().timestamp(), 1_700_000_000, "milliseconds");
        assert_eq!(time(Some(&json!("2026-01-02T03:04:05Z"))).unwrap().timestamp(), 1_767_323_045);
        assert_eq!(time(Some(&json!(f64::MAX))), None);
    }
}
