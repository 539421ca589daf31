//! An OpenAI-compatible chat-completions client with streaming (OpenAI, Ollama, vLLM, llama.cpp's server)
//! and function calling: the tools are offered with every request; when the model answers with
//! `tool_calls` instead of text, each is run, its result sent back as a `tool` message, and the model asked
//! again, for at most `MAX_TOOL_ROUNDS` rounds.
//!
//! The protocol is hand-written (server-sent events over reqwest, a few dozen lines) rather than taken from
//! a client crate: Parley needs only streamed chat completions with tools, every OpenAI-compatible server
//! speaks that subset, and the fake servers in the tests pin down exactly what is parsed.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures_util::{StreamExt, stream};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{Assessment, Assistant, AssistantError, ReplyPiece, ReplyStream, ToolBox, ToolCall, Turn};

/// How many times in one reply the model may call tools before it must answer in words.
pub const MAX_TOOL_ROUNDS: usize = 5;

pub struct OpenAiSettings {
    /// e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    pub api_key: Option<SecretString>,
    pub model: String,
    pub connect_timeout: Duration,
    /// Longest wait for the next piece of the reply (and for the response to start).
    pub idle_timeout: Duration,
}

/// The assistant; cheap to share, since each reply's conversation runs in a task of its own.
pub struct OpenAiAssistant(Arc<Client>);

struct Client {
    client: reqwest::Client,
    settings: OpenAiSettings,
}

impl OpenAiAssistant {
    pub fn new(settings: OpenAiSettings) -> Result<Self, AssistantError> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(|e| AssistantError::Unreachable(e.to_string()))?;
        Ok(OpenAiAssistant(Arc::new(Client { client, settings })))
    }
}

/// What one `data:` line of the event stream holds.
enum Chunk {
    Text(String),
    /// A piece of a tool call: the `index`-th call of this answer; its id and name come first, its
    /// arguments in pieces.
    ToolCall {
        index: u64,
        id: Option<String>,
        name: Option<String>,
        arguments: Option<String>,
    },
    Done,
}

fn parse_data_line(payload: &str) -> Result<Option<Chunk>, AssistantError> {
    let payload = payload.trim();
    if payload == "[DONE]" {
        return Ok(Some(Chunk::Done));
    }
    let value: Value = serde_json::from_str(payload).map_err(|e| AssistantError::Malformed(e.to_string()))?;
    if let Some(error) = value.get("error") {
        return Err(AssistantError::Malformed(format!("error event: {error}")));
    }
    let choice = value
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| AssistantError::Malformed("a chunk without choices".to_owned()))?;
    if let Some(call) = choice["delta"]["tool_calls"].as_array().and_then(|calls| calls.first()) {
        return Ok(Some(Chunk::ToolCall {
            index: call["index"].as_u64().unwrap_or(0),
            id: call["id"].as_str().map(str::to_owned),
            name: call["function"]["name"].as_str().map(str::to_owned),
            arguments: call["function"]["arguments"].as_str().map(str::to_owned),
        }));
    }
    Ok(choice["delta"]["content"].as_str().filter(|t| !t.is_empty()).map(|t| Chunk::Text(t.to_owned())))
}

struct Decoder {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: Vec<u8>,
    idle: Duration,
    finished: bool,
}

impl Decoder {
    /// The next piece of the answer, `None` at its end.
    async fn next_chunk(&mut self) -> Option<Result<Chunk, AssistantError>> {
        loop {
            if self.finished {
                return None;
            }
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                let Some(payload) = line.trim_end().strip_prefix("data:") else { continue };
                match parse_data_line(payload) {
                    Ok(Some(Chunk::Done)) => {
                        self.finished = true;
                        return None;
                    }
                    Ok(Some(chunk)) => return Some(Ok(chunk)),
                    Ok(None) => continue,
                    Err(error) => {
                        self.finished = true;
                        return Some(Err(error));
                    }
                }
            }
            match tokio::time::timeout(self.idle, self.body.next()).await {
                Err(_) => {
                    self.finished = true;
                    return Some(Err(AssistantError::Timeout(self.idle.as_secs())));
                }
                Ok(Some(Ok(bytes))) => self.buffer.extend_from_slice(&bytes),
                Ok(Some(Err(error))) => {
                    self.finished = true;
                    return Some(Err(AssistantError::Unreachable(error.to_string())));
                }
                // The server closed the stream without [DONE]: what arrived is the reply.
                Ok(None) => {
                    self.finished = true;
                    if !self.buffer.is_empty() {
                        self.buffer.push(b'\n');
                        self.finished = false;
                        continue;
                    }
                    return None;
                }
            }
        }
    }
}

/// A tool call as it arrives in pieces.
#[derive(Default)]
struct PendingCall {
    id: String,
    name: String,
    arguments: String,
}

/// What the model is asked to do with a transcript, and the JSON it must answer with.
const ASSESS_PROMPT: &str = "You assess conversations between a person and an AI assistant. Read the transcript \
and answer with one JSON object and nothing else: {\"chat_score\": an integer from 0 to 100, how well the \
conversation is going for the person (0: distress, conflict or a person stuck; 100: going well), \
\"summary\": one paragraph of at most 600 characters that sums it up}.";

impl Client {
    /// Posts one chat-completions request; a response that has started, with a success status.
    async fn post(&self, body: &Value) -> Result<reqwest::Response, AssistantError> {
        let url = format!("{}/chat/completions", self.settings.base_url.trim_end_matches('/'));
        let mut request = self.client.post(url).json(body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let idle = self.settings.idle_timeout;
        let response = tokio::time::timeout(idle, request.send())
            .await
            .map_err(|_| AssistantError::Timeout(idle.as_secs()))?
            .map_err(|e| AssistantError::Unreachable(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(AssistantError::Status(response.status().as_u16()));
        }
        Ok(response)
    }

    /// One non-streamed request for an assessment, answered as a JSON object.
    async fn assess(&self, transcript: &[Turn]) -> Result<Assessment, AssistantError> {
        let text: Vec<String> = transcript.iter().map(|t| format!("{}: {}", t.role.as_str(), t.content)).collect();
        let body = json!({
            "model": self.settings.model,
            "messages": [
                { "role": "system", "content": ASSESS_PROMPT },
                { "role": "user", "content": text.join("\n\n") },
            ],
            "response_format": { "type": "json_object" },
            "stream": false,
        });
        let response = self.post(&body).await?;
        let idle = self.settings.idle_timeout;
        let answer: Value = tokio::time::timeout(idle, response.json())
            .await
            .map_err(|_| AssistantError::Timeout(idle.as_secs()))?
            .map_err(|e| AssistantError::Malformed(e.without_url().to_string()))?;
        let content = answer["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| AssistantError::Malformed("an answer without message content".to_owned()))?;
        // Some servers wrap JSON mode's object in a Markdown code fence.
        let json_text = content.trim().trim_start_matches("```json").trim_start_matches("```").trim_end_matches("```");
        let assessment: Assessment = serde_json::from_str(json_text.trim())
            .map_err(|e| AssistantError::Malformed(format!("the assessment is not the JSON asked for ({e})")))?;
        assessment.validated()
    }

    /// Starts one request: the conversation so far, with the tools on offer.
    async fn ask(&self, messages: &[Value], tools: &[Value]) -> Result<Decoder, AssistantError> {
        let mut body = json!({ "model": self.settings.model, "messages": messages, "stream": true });
        if !tools.is_empty() {
            body["tools"] = Value::Array(tools.to_vec());
        }
        let response = self.post(&body).await?;
        let idle = self.settings.idle_timeout;
        Ok(Decoder { body: response.bytes_stream().boxed(), buffer: Vec::new(), idle, finished: false })
    }

    /// The whole reply, round after round, into `out`. Returns when the model answers in words, the round
    /// limit is reached, something fails (reported into `out`), or the receiver is gone.
    async fn converse(
        self: Arc<Self>,
        mut messages: Vec<Value>,
        tools: Arc<dyn ToolBox>,
        first: Decoder,
        out: mpsc::Sender<Result<ReplyPiece, AssistantError>>,
    ) {
        let offered: Vec<Value> = tool_definitions(tools.as_ref());
        let mut decoder = first;
        for round in 0..=MAX_TOOL_ROUNDS {
            let mut text = String::new();
            let mut calls: BTreeMap<u64, PendingCall> = BTreeMap::new();
            while let Some(chunk) = decoder.next_chunk().await {
                match chunk {
                    Ok(Chunk::Text(piece)) => {
                        text.push_str(&piece);
                        if out.send(Ok(ReplyPiece::Text(piece))).await.is_err() {
                            return;
                        }
                    }
                    Ok(Chunk::ToolCall { index, id, name, arguments }) => {
                        let call = calls.entry(index).or_default();
                        if let Some(id) = id {
                            call.id = id;
                        }
                        if let Some(name) = name {
                            call.name.push_str(&name);
                        }
                        if let Some(arguments) = arguments {
                            call.arguments.push_str(&arguments);
                        }
                    }
                    Ok(Chunk::Done) => break,
                    Err(error) => {
                        let _ = out.send(Err(error)).await;
                        return;
                    }
                }
            }
            if calls.is_empty() {
                return;
            }
            if round == MAX_TOOL_ROUNDS {
                let note = format!("\n\n(I stopped after {MAX_TOOL_ROUNDS} rounds of tool calls without an answer.)");
                let _ = out.send(Ok(ReplyPiece::Text(note))).await;
                return;
            }
            // The model's turn as it was, then each call's result, in order.
            let requested: Vec<Value> = calls
                .values()
                .map(|c| json!({ "id": c.id, "type": "function", "function": { "name": c.name, "arguments": c.arguments } }))
                .collect();
            messages.push(
                json!({ "role": "assistant", "content": (!text.is_empty()).then_some(text), "tool_calls": requested }),
            );
            for call in calls.into_values() {
                let arguments: Value = if call.arguments.trim().is_empty() {
                    json!({})
                } else {
                    serde_json::from_str(&call.arguments).unwrap_or_else(|_| json!({ "unparsed": call.arguments }))
                };
                let result = if arguments.get("unparsed").is_some() {
                    json!({ "error": "The arguments were not valid JSON." })
                } else {
                    tools.call(&call.name, &arguments).await
                };
                messages.push(json!({ "role": "tool", "tool_call_id": call.id, "content": result.to_string() }));
                let done = ToolCall { name: call.name, arguments, result };
                if out.send(Ok(ReplyPiece::Tool(done))).await.is_err() {
                    return;
                }
            }
            decoder = match self.ask(&messages, &offered).await {
                Ok(decoder) => decoder,
                Err(error) => {
                    let _ = out.send(Err(error)).await;
                    return;
                }
            };
        }
    }
}

fn tool_definitions(tools: &dyn ToolBox) -> Vec<Value> {
    tools
        .specs()
        .into_iter()
        .map(|spec| {
            json!({ "type": "function", "function": { "name": spec.name, "description": spec.description, "parameters": spec.parameters } })
        })
        .collect()
}

#[async_trait::async_trait]
impl Assistant for OpenAiAssistant {
    async fn reply(&self, history: Vec<Turn>, tools: Arc<dyn ToolBox>) -> Result<ReplyStream, AssistantError> {
        let messages: Vec<Value> =
            history.iter().map(|t| json!({ "role": t.role.as_str(), "content": t.content })).collect();
        // The first request is made here, so that an unreachable or refusing server fails the reply
        // before it starts; later rounds report into the stream.
        let first = self.0.ask(&messages, &tool_definitions(tools.as_ref())).await?;
        // Capacity 1: the conversation runs barely ahead of the reader, and stops when it goes away.
        let (sender, receiver) = mpsc::channel(1);
        tokio::spawn(self.0.clone().converse(messages, tools, first, sender));
        Ok(Box::pin(stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        })))
    }

    async fn assess(&self, transcript: Vec<Turn>) -> Result<Assessment, AssistantError> {
        self.0.assess(&transcript).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_lines_are_parsed() {
        let text = r#"{"choices":[{"delta":{"content":"Hi"}}]}"#;
        assert!(matches!(parse_data_line(text), Ok(Some(Chunk::Text(t))) if t == "Hi"));
        assert!(matches!(parse_data_line(" [DONE]"), Ok(Some(Chunk::Done))));
        assert!(matches!(parse_data_line(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#), Ok(None)));
        assert!(matches!(parse_data_line("{not json"), Err(AssistantError::Malformed(_))));
        assert!(matches!(parse_data_line(r#"{"nothing":1}"#), Err(AssistantError::Malformed(_))));
    }
}
