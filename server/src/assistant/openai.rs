//! An OpenAI-compatible chat-completions client with streaming (OpenAI, Ollama, vLLM, llama.cpp's server).

use std::time::Duration;

use futures_util::{stream, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::{Assistant, AssistantError, ReplyStream, Turn};

pub struct OpenAiSettings {
    /// e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    pub api_key: Option<SecretString>,
    pub model: String,
    pub connect_timeout: Duration,
    /// Longest wait for the next piece of the reply (and for the response to start).
    pub idle_timeout: Duration,
}

pub struct OpenAiAssistant {
    client: reqwest::Client,
    settings: OpenAiSettings,
}

impl OpenAiAssistant {
    pub fn new(settings: OpenAiSettings) -> Result<Self, AssistantError> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(|e| AssistantError::Unreachable(e.to_string()))?;
        Ok(OpenAiAssistant { client, settings })
    }
}

/// What one `data:` line of the event stream holds.
enum Chunk {
    Text(String),
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
    Ok(choice["delta"]["content"].as_str().filter(|t| !t.is_empty()).map(|t| Chunk::Text(t.to_owned())))
}

struct Decoder {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: Vec<u8>,
    idle: Duration,
    finished: bool,
}

impl Decoder {
    /// The next piece of text, `None` at the end of the reply.
    async fn next_text(&mut self) -> Option<Result<String, AssistantError>> {
        loop {
            if self.finished {
                return None;
            }
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                let Some(payload) = line.trim_end().strip_prefix("data:") else { continue };
                match parse_data_line(payload) {
                    Ok(Some(Chunk::Text(text))) => return Some(Ok(text)),
                    Ok(Some(Chunk::Done)) => {
                        self.finished = true;
                        return None;
                    }
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

#[async_trait::async_trait]
impl Assistant for OpenAiAssistant {
    async fn reply(&self, history: Vec<Turn>) -> Result<ReplyStream, AssistantError> {
        let messages: Vec<Value> =
            history.iter().map(|t| json!({ "role": t.role.as_str(), "content": t.content })).collect();
        let url = format!("{}/chat/completions", self.settings.base_url.trim_end_matches('/'));
        let mut request = self
            .client
            .post(url)
            .json(&json!({ "model": self.settings.model, "messages": messages, "stream": true }));
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
        let decoder = Decoder { body: response.bytes_stream().boxed(), buffer: Vec::new(), idle, finished: false };
        Ok(Box::pin(stream::unfold(decoder, |mut decoder| async move {
            decoder.next_text().await.map(|item| (item, decoder))
        })))
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
