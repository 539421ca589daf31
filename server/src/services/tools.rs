//! The assistant's tools: what it may do with the signed-in user's data, and nobody else's. One toolbox
//! serves the chat (through the assistant) and, with the same names and schemas, other agents.
//!
//! Every tool answers a JSON value; a tool that cannot do what was asked answers `{"error": "…"}` in
//! words the model (and the person reading the tool call) can act on, never a failure of the reply.

use std::sync::Arc;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    db::{Conversation, DbError, Task},
    services::{
        assistant::{ToolBox, ToolSpec},
        tasks::{TaskEdit, TaskError, TaskService},
    },
};

/// What `search_conversations` needs from the chat service. The chat service hands these tools to the
/// assistant, so it cannot be imported here without a circle: it lends itself through this trait instead.
#[async_trait::async_trait]
pub trait ConversationSearch: Send + Sync {
    /// The user's conversations whose title or messages match `query`, at most `limit`, newest first;
    /// `Err` says in words why not.
    async fn find_conversations(&self, user_id: Uuid, query: &str, limit: u32) -> Result<Vec<Conversation>, String>;
}

/// How many tasks `list_tasks` and conversations `search_conversations` return at most.
const LIST_LIMIT: u32 = 50;
const SEARCH_LIMIT: u32 = 10;

/// The tools, described for the model (JSON Schema parameters, as OpenAI's function calling and MCP take).
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "add_task",
            description: "Add a task to the user's task list.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "title": { "type": "string", "description": "1 to 200 characters" },
                    "description": { "type": "string", "description": "optional details, at most 2,000 characters" }
                },
                "required": ["title"]
            }),
        },
        ToolSpec {
            name: "list_tasks",
            description: "List the user's tasks, newest first (at most 50). Filter with `completed`.",
            parameters: json!({
                "type": "object",
                "properties": { "completed": { "type": "boolean", "description": "true: only done; false: only open" } }
            }),
        },
        ToolSpec {
            name: "complete_task",
            description: "Mark one of the user's tasks done, by its id or by its exact title.",
            parameters: json!({
                "type": "object",
                "properties": { "id": { "type": "string" }, "title": { "type": "string" } }
            }),
        },
        ToolSpec {
            name: "update_task",
            description: "Change a task's title, description or completed state.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "id": { "type": "string" },
                    "title": { "type": "string" },
                    "description": { "type": ["string", "null"] },
                    "completed": { "type": "boolean" }
                },
                "required": ["id"]
            }),
        },
        ToolSpec {
            name: "delete_task",
            description: "Delete one of the user's tasks.",
            parameters: json!({ "type": "object", "properties": { "id": { "type": "string" } }, "required": ["id"] }),
        },
        ToolSpec {
            name: "search_conversations",
            description: "Find the user's earlier conversations whose title or messages contain the text (at most 10).",
            parameters: json!({ "type": "object", "properties": { "query": { "type": "string" } }, "required": ["query"] }),
        },
    ]
}

/// The tools, bound to one user: every call reads and writes that user's data only, through the services.
pub struct UserTools {
    user_id: Uuid,
    tasks: TaskService,
    conversations: Arc<dyn ConversationSearch>,
}

impl UserTools {
    pub fn new(tasks: TaskService, conversations: Arc<dyn ConversationSearch>, user_id: Uuid) -> Self {
        UserTools { user_id, tasks, conversations }
    }

    async fn run(&self, name: &str, args: &Value) -> Result<Value, String> {
        let text = |key: &str| args.get(key).and_then(Value::as_str);
        match name {
            "add_task" => {
                let title = text("title").ok_or("add_task needs a title.")?;
                Ok(task_json(self.tasks.create(self.user_id, title, text("description")).await.map_err(explain)?))
            }
            "list_tasks" => {
                let completed = args.get("completed").and_then(Value::as_bool);
                let (tasks, _) =
                    self.tasks.list(self.user_id, completed, Some(LIST_LIMIT), None).await.map_err(explain)?;
                Ok(json!({ "tasks": tasks.into_iter().map(task_json).collect::<Vec<_>>() }))
            }
            "complete_task" => {
                let id = match (text("id"), text("title")) {
                    (Some(id), _) => parse_id(id)?,
                    (None, Some(title)) => self.open_task_titled(title).await?,
                    (None, None) => return Err("complete_task needs the task's id or title.".to_owned()),
                };
                let edit = TaskEdit { completed: Some(true), ..TaskEdit::default() };
                Ok(task_json(self.tasks.edit(self.user_id, id, edit).await.map_err(explain)?))
            }
            "update_task" => {
                let id = parse_id(text("id").ok_or("update_task needs the task's id.")?)?;
                let edit = TaskEdit {
                    title: text("title").map(str::to_owned),
                    description: args.get("description").map(|d| d.as_str().map(str::to_owned)),
                    completed: args.get("completed").and_then(Value::as_bool),
                };
                Ok(task_json(self.tasks.edit(self.user_id, id, edit).await.map_err(explain)?))
            }
            "delete_task" => {
                let id = parse_id(text("id").ok_or("delete_task needs the task's id.")?)?;
                self.tasks.delete(self.user_id, id).await.map_err(explain)?;
                Ok(json!({ "deleted": true, "id": id.to_string() }))
            }
            "search_conversations" => {
                let query = text("query")
                    .map(str::trim)
                    .filter(|q| !q.is_empty())
                    .ok_or("search_conversations needs a query.")?;
                let query: String = query.chars().take(200).collect();
                let found = self.conversations.find_conversations(self.user_id, &query, SEARCH_LIMIT).await?;
                let found: Vec<Value> = found
                    .into_iter()
                    .map(|c| json!({ "id": c.id.to_string(), "title": c.title, "updated_at": c.updated_at.to_rfc3339() }))
                    .collect();
                Ok(json!({ "conversations": found }))
            }
            other => Err(format!("There is no tool called {other}.")),
        }
    }

    /// The newest open task with this title (ignoring case and surrounding spaces).
    async fn open_task_titled(&self, title: &str) -> Result<Uuid, String> {
        let (open, _) = self.tasks.list(self.user_id, Some(false), Some(100), None).await.map_err(explain)?;
        let wanted = title.trim().to_lowercase();
        open.into_iter()
            .find(|t| t.title.to_lowercase() == wanted)
            .map(|t| t.id)
            .ok_or_else(|| format!("No open task is called “{}”.", title.trim()))
    }
}

#[async_trait::async_trait]
impl ToolBox for UserTools {
    fn specs(&self) -> Vec<ToolSpec> {
        specs()
    }

    async fn call(&self, name: &str, arguments: &Value) -> Value {
        match self.run(name, arguments).await {
            Ok(result) => result,
            Err(message) => json!({ "error": message }),
        }
    }
}

fn parse_id(raw: &str) -> Result<Uuid, String> {
    raw.trim().parse().map_err(|_| "No such task.".to_owned())
}

fn explain(error: TaskError) -> String {
    match error {
        TaskError::Validation(fields) => fields.into_values().flatten().collect::<Vec<_>>().join(" "),
        TaskError::NotFound => "No such task.".to_owned(),
        TaskError::Database(DbError::UnstorableText) => "The text holds a character that cannot be stored.".to_owned(),
        TaskError::Database(_) => "The database is unavailable.".to_owned(),
    }
}

pub fn task_json(task: Task) -> Value {
    json!({
        "id": task.id.to_string(),
        "title": task.title,
        "description": task.description,
        "completed": task.completed,
    })
}
