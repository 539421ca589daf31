//! Everything a user owns, for them to take away: one JSON document, or a zip of one Markdown file per
//! conversation. Both are produced page by page (100 conversations, 500 messages at a time) into a small
//! bounded channel that the response body drains, so a 100,000-message history never sits in memory and a
//! client that stops reading stops the export.

pub mod zip;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::db::{Conversation, Database, DbError, Message, Position, Task, User};

const CONVERSATION_PAGE: u32 = 100;
const MESSAGE_PAGE: u32 = 500;
const TASK_PAGE: u32 = 500;
/// Chunks waiting for the client; each is at most a page of messages.
pub const CHANNEL_CHUNKS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the database failed during an export")]
    Database(#[from] DbError),
    #[error("the client went away")]
    Gone,
    #[error("could not write the zip")]
    Zip(#[from] ::zip::result::ZipError),
    #[error("could not encode the export")]
    Encode(#[from] serde_json::Error),
}

/// How the export is shaped on the wire; the JSON API's types, so an export reads like the API.
pub trait ExportShape: Send + Sync + 'static {
    fn user(&self, user: &User) -> Result<Vec<u8>, serde_json::Error>;
    /// The conversation object without its closing brace, so messages can follow as `"messages": [`.
    fn conversation(&self, conversation: &Conversation) -> Result<Vec<u8>, serde_json::Error>;
    fn message(&self, message: &Message) -> Result<Vec<u8>, serde_json::Error>;
    fn task(&self, task: &Task) -> Result<Vec<u8>, serde_json::Error>;
}

/// Where the export's bytes go.
struct Sink(mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Sink {
    async fn send(&self, bytes: Vec<u8>) -> Result<(), ExportError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.0.send(Ok(Bytes::from(bytes))).await.map_err(|_| ExportError::Gone)
    }
}

#[derive(Clone)]
pub struct ExportService {
    db: Database,
}

impl ExportService {
    pub fn new(db: Database) -> Self {
        ExportService { db }
    }

    /// Starts writing the export on its own task; the receiver yields the body. A failure midway ends the
    /// body with an error (the client sees a cut-off download, never a silently truncated file that parses).
    pub fn start(
        &self,
        user: User,
        format: ExportFormat,
        shape: impl ExportShape,
    ) -> mpsc::Receiver<Result<Bytes, std::io::Error>> {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        let service = self.clone();
        tokio::spawn(async move {
            let sink = Sink(tx);
            let result = match format {
                ExportFormat::Json => service.write_json(&user, &shape, &sink).await,
                ExportFormat::MarkdownZip => service.write_zip(&user, &sink).await,
            };
            match result {
                Ok(()) | Err(ExportError::Gone) => {}
                Err(error) => {
                    tracing::error!(error = %crate::support::error_chain(&error), "an export failed midway");
                    let _ = sink.0.send(Err(std::io::Error::other("the export failed"))).await;
                }
            }
        });
        rx
    }

    async fn write_json(&self, user: &User, shape: &impl ExportShape, sink: &Sink) -> Result<(), ExportError> {
        let mut head = b"{\"user\":".to_vec();
        head.extend(shape.user(user)?);
        head.extend_from_slice(b",\"conversations\":[");
        sink.send(head).await?;
        let mut first_conversation = true;
        let mut after = None;
        loop {
            let page = self.db.list_conversations(user.id, CONVERSATION_PAGE, after, None).await?;
            for conversation in &page.items {
                let mut out = if first_conversation { Vec::new() } else { vec![b','] };
                first_conversation = false;
                out.extend(shape.conversation(conversation)?);
                out.extend_from_slice(b",\"messages\":[");
                let mut first_message = true;
                let mut from = Some(Position::before_everything());
                while let Some(at) = from {
                    let messages = self.db.list_messages_from(user.id, conversation.id, MESSAGE_PAGE, at).await?;
                    for message in &messages.items {
                        if !first_message {
                            out.push(b',');
                        }
                        first_message = false;
                        out.extend(shape.message(message)?);
                    }
                    sink.send(std::mem::take(&mut out)).await?;
                    from = messages.next;
                }
                sink.send(b"]}".to_vec()).await?;
            }
            after = page.next;
            if after.is_none() {
                break;
            }
        }
        sink.send(b"],\"tasks\":[".to_vec()).await?;
        let mut first_task = true;
        let mut after = None;
        loop {
            let page = self.db.list_tasks(user.id, None, TASK_PAGE, after).await?;
            let mut out = Vec::new();
            for task in &page.items {
                if !first_task {
                    out.push(b',');
                }
                first_task = false;
                out.extend(shape.task(task)?);
            }
            sink.send(out).await?;
            after = page.next;
            if after.is_none() {
                break;
            }
        }
        sink.send(b"]}".to_vec()).await
    }

    async fn write_zip(&self, user: &User, sink: &Sink) -> Result<(), ExportError> {
        let mut archive = zip::ZipStream::new(chrono::Utc::now().naive_utc());
        let mut names = std::collections::HashSet::new();
        let mut after = None;
        loop {
            let page = self.db.list_conversations(user.id, CONVERSATION_PAGE, after, None).await?;
            for conversation in &page.items {
                let name = file_name(conversation, &mut names);
                sink.send(archive.start_entry(&name)?).await?;
                sink.send(archive.write(markdown_heading(conversation).as_bytes())?).await?;
                let mut from = Some(Position::before_everything());
                while let Some(at) = from {
                    let messages = self.db.list_messages_from(user.id, conversation.id, MESSAGE_PAGE, at).await?;
                    let text: String = messages.items.iter().map(markdown_message).collect();
                    sink.send(archive.write(text.as_bytes())?).await?;
                    from = messages.next;
                }
            }
            after = page.next;
            if after.is_none() {
                break;
            }
        }
        sink.send(archive.finish()?).await
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    MarkdownZip,
}

/// `title-slug-1a2b3c4d.md`: readable, unique within the archive, safe on every file system.
fn file_name(conversation: &Conversation, taken: &mut std::collections::HashSet<String>) -> String {
    let mut slug = String::new();
    for c in conversation.title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.chars().count() >= 60 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let short = &conversation.id.simple().to_string()[24..];
    let base = if slug.is_empty() { format!("conversation-{short}") } else { format!("{slug}-{short}") };
    let mut name = format!("{base}.md");
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}-{n}.md");
        n += 1;
    }
    name
}

fn markdown_heading(conversation: &Conversation) -> String {
    format!(
        "# {}\n\nStarted {} · last updated {}\n",
        conversation.title.replace('\n', " "),
        conversation.created_at.format("%Y-%m-%d %H:%M UTC"),
        conversation.updated_at.format("%Y-%m-%d %H:%M UTC"),
    )
}

fn markdown_message(message: &Message) -> String {
    let who = if message.role == "user" { "You" } else { "Assistant" };
    let mut text =
        format!("\n## {who} · {}\n\n{}\n", message.created_at.format("%Y-%m-%d %H:%M:%S UTC"), message.content);
    for call in crate::services::chat::tool_calls_of(message) {
        text.push_str(&format!("\n> Used `{}` with `{}`\n", call.name, call.arguments));
    }
    text
}
