//! Streaming a reply in the browser: POSTs the message to the JSON API (the session cookie authenticates
//! it) with `Accept: text/event-stream`, and reports each server-sent event as it arrives.

/// What the stream reports.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    Delta(String),
    Done,
    /// The server refused or the assistant failed; the sentence says why.
    Failed(String),
}

/// Splits complete `event:`/`data:` blocks off the front of `buffer` and parses them.
pub fn drain_events(buffer: &mut Vec<u8>) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
        let block: Vec<u8> = buffer.drain(..end + 2).collect();
        let block = String::from_utf8_lossy(&block);
        let mut name = "";
        let mut data = String::new();
        for line in block.lines() {
            if let Some(value) = line.strip_prefix("event:") {
                name = value.trim();
            } else if let Some(value) = line.strip_prefix("data:") {
                data.push_str(value.trim_start());
            }
        }
        let json: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
        match name {
            "delta" => events.push(StreamEvent::Delta(json["text"].as_str().unwrap_or_default().to_owned())),
            "done" => events.push(StreamEvent::Done),
            "error" => events.push(StreamEvent::Failed(error_message(&json))),
            _ => {}
        }
    }
    events
}

fn error_message(json: &serde_json::Value) -> String {
    json["error"]["message"].as_str().unwrap_or("Something went wrong. Please try again.").to_owned()
}

/// Sends `content` to the conversation and calls `on_event` for each event, until the reply ends or
/// `abort` is triggered (Stop). Returns `Err` with a sentence for the user when the request fails.
#[cfg(feature = "hydrate")]
pub async fn stream_reply(
    conversation_id: &str,
    content: &str,
    abort: &web_sys::AbortSignal,
    mut on_event: impl FnMut(StreamEvent),
) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    fn failed<E>(_: E) -> String {
        "Parley could not be reached. Check your connection and try again.".to_owned()
    }
    let headers = web_sys::Headers::new().map_err(failed)?;
    headers.set("Content-Type", "application/json").map_err(failed)?;
    headers.set("Accept", "text/event-stream").map_err(failed)?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    init.set_signal(Some(abort));
    let body = serde_json::json!({ "content": content }).to_string();
    init.set_body(&wasm_bindgen::JsValue::from_str(&body));

    let url = format!("/api/v1/conversations/{conversation_id}/messages");
    let window = web_sys::window().ok_or_else(|| failed(()))?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .map_err(failed)?
        .dyn_into()
        .map_err(failed)?;
    if !response.ok() {
        let text = match response.text() {
            Ok(promise) => JsFuture::from(promise).await.ok().and_then(|t| t.as_string()).unwrap_or_default(),
            Err(_) => String::new(),
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let message =
            json["error"]["fields"]["content"][0].as_str().map(str::to_owned).unwrap_or_else(|| error_message(&json));
        return Err(message);
    }
    let reader: web_sys::ReadableStreamDefaultReader =
        response.body().ok_or_else(|| failed(()))?.get_reader().dyn_into().map_err(failed)?;
    let mut buffer = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(failed)?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true);
        if done {
            return Ok(());
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(failed)?;
        buffer.extend(js_sys::Uint8Array::new(&value).to_vec());
        for event in drain_events(&mut buffer) {
            on_event(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_parsed_across_chunk_boundaries() {
        let mut buffer = b"event: delta\ndata: {\"text\":\"Hel".to_vec();
        assert_eq!(drain_events(&mut buffer), vec![]);
        buffer.extend_from_slice(b"lo\"}\n\n: keep-alive\n\nevent: done\ndata: {}\n\nevent: delta\n");
        assert_eq!(drain_events(&mut buffer), vec![StreamEvent::Delta("Hello".into()), StreamEvent::Done]);
        assert_eq!(buffer, b"event: delta\n");
        let mut failed = b"event: error\ndata: {\"error\":{\"message\":\"Nope.\"}}\n\n".to_vec();
        assert_eq!(drain_events(&mut failed), vec![StreamEvent::Failed("Nope.".into())]);
    }
}
