//! Issue 25, imports: ChatGPT (a single `conversations.json`, and a zip split into
//! `conversations-000.json`, …), Open WebUI and Parley's own export, uploaded to `POST /api/v1/imports` and
//! imported by the job queue. The fixtures are written here from the formats' public descriptions.

use std::{
    io::Write,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::helpers::{TestApp, all_messages, json_of, spawn_app, spawn_app_with, sql, sql_texts};

/// Uploads `bytes` as an import; the response.
async fn upload(app: &TestApp, token: &str, bytes: Vec<u8>, content_type: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .expect("request reaches the server")
}

/// Uploads and waits until the import has ended; its final state.
async fn import(app: &TestApp, token: &str, bytes: Vec<u8>) -> Value {
    let content_type = if bytes.starts_with(b"PK") { "application/zip" } else { "application/json" };
    let queued = json_of(upload(app, token, bytes, content_type).await, 202).await;
    assert_eq!(queued["state"], "queued", "{queued}");
    let id = queued["id"].as_str().expect("an id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = json_of(app.get_authed(&format!("/api/v1/imports/{id}"), token).await, 200).await;
        if body["state"] == "done" || body["state"] == "failed" {
            return body;
        }
        assert!(Instant::now() < deadline, "the import never ended: {body}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    for (name, bytes) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

/// A ChatGPT conversation: `id`, a title, and a branch of (role, text) turns a second apart from `start`.
/// With `edited`, the first user message also has an older sibling (with its own reply), which is not the
/// current branch; with `image`, the first message carries an image pointer beside its text.
fn chatgpt(id: &str, title: &str, start: f64, turns: &[(&str, &str)], edited: bool, image: bool) -> Value {
    let mut mapping = serde_json::Map::new();
    mapping.insert("root".into(), json!({"id": "root", "message": null, "parent": null, "children": ["system"]}));
    mapping.insert(
        "system".into(),
        json!({"id": "system", "parent": "root", "children": [], "message": {
            "id": format!("{id}-system"), "author": {"role": "system"}, "create_time": null, "weight": 0.0,
            "content": {"content_type": "text", "parts": ["You are ChatGPT."]}, "metadata": {}}}),
    );
    let mut parent = "system".to_owned();
    if edited {
        for (n, (role, text)) in
            [("user", "The first wording"), ("assistant", "An answer to the first wording")].iter().enumerate()
        {
            let node = format!("{id}-old-{n}");
            let parent_node = if n == 0 { "system".to_owned() } else { format!("{id}-old-0") };
            mapping.insert(
                node.clone(),
                json!({"id": node, "parent": parent_node, "children": [], "message": {
                "id": node, "author": {"role": role}, "create_time": start + 0.5,
                "content": {"content_type": "text", "parts": [text]}, "metadata": {}}}),
            );
        }
    }
    for (n, (role, text)) in turns.iter().enumerate() {
        let node = format!("{id}-m{n}");
        let content = if image && n == 0 {
            json!({"content_type": "multimodal_text", "parts": [
                {"content_type": "image_asset_pointer", "asset_pointer": "file-service://file-abc", "width": 10, "height": 10},
                text]})
        } else {
            json!({"content_type": "text", "parts": [text]})
        };
        let metadata = if *role == "assistant" { json!({"model_slug": "gpt-4o"}) } else { json!({}) };
        mapping.insert(
            node.clone(),
            json!({"id": node, "parent": parent, "children": [], "message": {
            "id": node, "author": {"role": role}, "create_time": start + 1.0 + n as f64,
            "content": content, "metadata": metadata}}),
        );
        parent = node;
    }
    // Children lists, as the format has them (the reader walks parents; a fixture should still be whole).
    let links: Vec<(String, String)> =
        mapping.iter().filter_map(|(id, node)| Some((node["parent"].as_str()?.to_owned(), id.clone()))).collect();
    for (parent, child) in links {
        if let Some(children) = mapping.get_mut(&parent).and_then(|p| p["children"].as_array_mut())
            && !children.iter().any(|c| c == &json!(child))
        {
            children.push(json!(child));
        }
    }
    json!({
        "title": title, "create_time": start, "update_time": start + 100.0, "mapping": mapping,
        "current_node": parent, "conversation_id": id, "id": id, "is_archived": false,
    })
}

async fn conversations(app: &TestApp, token: &str) -> Vec<Value> {
    let body = json_of(app.get_authed("/api/v1/conversations?limit=100", token).await, 200).await;
    body["conversations"].as_array().cloned().unwrap_or_default()
}

fn texts(messages: &[Value]) -> Vec<(String, String)> {
    messages
        .iter()
        .map(|m| (m["role"].as_str().unwrap().to_owned(), m["content"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_chatgpt_file_imports_its_current_branch_with_times_and_titles_once() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let export = json!([chatgpt(
        "c-tides",
        "Tides",
        1_700_000_000.0,
        &[("user", "What makes spring tides?"), ("assistant", "The sun and the moon in a line.")],
        true,
        true,
    )]);
    let done = import(&app, &token, json_bytes(&export)).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["format"], "chatgpt");
    assert_eq!((done["conversations"].as_i64(), done["messages"].as_i64()), (Some(1), Some(2)), "{done}");
    assert_eq!(done["total_messages"], 2);
    assert_eq!(done["skipped"], 1, "the image part: {done}");
    assert!(done["error"].is_null());

    let listed = conversations(&app, &token).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["title"], "Tides");
    assert_eq!(listed[0]["created_at"], "2023-11-14T22:13:20.000000Z");
    let id = listed[0]["id"].as_str().unwrap();
    let messages = all_messages(&app.client, &app.url(""), &token, id).await;
    assert_eq!(
        texts(&messages),
        [
            ("user".to_owned(), "What makes spring tides?".to_owned()),
            ("assistant".to_owned(), "The sun and the moon in a line.".to_owned())
        ],
        "the current branch in order, without the system prompt or the edited-away branch"
    );
    assert_eq!(messages[0]["created_at"], "2023-11-14T22:13:21.000000Z");

    // Searchable at once, and sealed at rest like everything else.
    let found = json_of(app.get_authed("/api/v1/search?q=spring%20tides", &token).await, 200).await;
    assert_eq!(found["results"].as_array().map(Vec::len), Some(1), "{found}");
    let raw = sql_texts(&app.db_url, "SELECT content FROM messages").await;
    assert!(raw.iter().all(|content| !content.contains("tides")), "{raw:?}");

    // The same file again adds nothing.
    let again = import(&app, &token, json_bytes(&export)).await;
    assert_eq!(again["state"], "done", "{again}");
    assert_eq!((again["conversations"].as_i64(), again["messages"].as_i64()), (Some(0), Some(0)), "{again}");
    assert_eq!(conversations(&app, &token).await.len(), 1);
    assert_eq!(all_messages(&app.client, &app.url(""), &token, id).await.len(), 2);
}

#[tokio::test]
async fn an_export_far_larger_than_a_request_body_imports_whole() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let long = "A sentence of an ordinary conversation, repeated to make an export of a realistic size. ".repeat(20);
    let export: Vec<Value> = (0..200)
        .map(|n| {
            let start = 1_700_000_000.0 + f64::from(n) * 1000.0;
            chatgpt(
                &format!("c-{n}"),
                &format!("Chat {n}"),
                start,
                &[("user", &long), ("assistant", &long)],
                false,
                false,
            )
        })
        .collect();
    let bytes = json_bytes(&json!(export));
    assert!(bytes.len() > 512 * 1024, "{} bytes: well over PARLEY_MAX_BODY_BYTES", bytes.len());
    let done = import(&app, &token, bytes).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!((done["conversations"].as_i64(), done["messages"].as_i64()), (Some(200), Some(400)), "{done}");
}

#[tokio::test]
async fn a_split_chatgpt_zip_imports_every_part_and_a_newer_export_adds_only_what_is_new() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let first = |extra: bool| {
        let mut turns = vec![("user", "Plan a walk by the river"), ("assistant", "Start at the old bridge.")];
        if extra {
            turns.extend([("user", "And lunch?"), ("assistant", "The bakery by the lock.")]);
        }
        chatgpt("c-walk", "River walk", 1_710_000_000.0, &turns, false, false)
    };
    let second =
        chatgpt("c-soup", "Soup", 1_720_000_000.0, &[("user", "Leek soup?"), ("assistant", "Yes.")], false, false);
    let zip = zip_of(&[
        ("conversations-001.json", json_bytes(&json!([second]))),
        ("user.json", b"{\"email\": \"someone@example.com\"}".to_vec()),
        ("conversations-000.json", json_bytes(&json!([first(false)]))),
    ]);
    let done = import(&app, &token, zip).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!((done["conversations"].as_i64(), done["messages"].as_i64()), (Some(2), Some(4)), "{done}");
    let mut titles: Vec<String> =
        conversations(&app, &token).await.iter().map(|c| c["title"].as_str().unwrap().to_owned()).collect();
    titles.sort();
    assert_eq!(titles, ["River walk", "Soup"]);

    // A month later: the walk went on, and there is a new conversation.
    let third =
        chatgpt("c-kite", "Kites", 1_730_000_000.0, &[("user", "Box kite?"), ("assistant", "Sure.")], false, false);
    let newer = zip_of(&[("conversations.json", json_bytes(&json!([first(true), second, third])))]);
    let done = import(&app, &token, newer).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!((done["conversations"].as_i64(), done["messages"].as_i64()), (Some(1), Some(4)), "{done}");
    let listed = conversations(&app, &token).await;
    assert_eq!(listed.len(), 3);
    let walk = listed.iter().find(|c| c["title"] == "River walk").unwrap();
    let messages = all_messages(&app.client, &app.url(""), &token, walk["id"].as_str().unwrap()).await;
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[3]["content"], "The bakery by the lock.");
}

#[tokio::test]
async fn an_open_webui_export_follows_its_current_branch() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let export = json!([{
        "id": "5f1c", "user_id": "u-1", "title": "Sourdough", "created_at": 1_700_000_000, "updated_at": 1_700_000_900,
        "archived": false, "pinned": false, "folder_id": null,
        "chat": {"title": "Sourdough", "models": ["llama3"], "history": {"currentId": "m3", "messages": {
            "m1": {"id": "m1", "parentId": null, "childrenIds": ["m2", "m3"], "role": "user",
                   "content": "How long should the levain rise?", "timestamp": 1_700_000_010},
            "m2": {"id": "m2", "parentId": "m1", "childrenIds": [], "role": "assistant",
                   "content": "A first answer, regenerated away.", "timestamp": 1_700_000_020, "model": "llama3"},
            "m3": {"id": "m3", "parentId": "m1", "childrenIds": [], "role": "assistant",
                   "content": "Until it doubles, four to six hours.", "timestamp": 1_700_000_030, "model": "llama3"}
        }}}
    }]);
    let done = import(&app, &token, json_bytes(&export)).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["format"], "openwebui");
    let listed = conversations(&app, &token).await;
    assert_eq!(listed[0]["title"], "Sourdough");
    let messages = all_messages(&app.client, &app.url(""), &token, listed[0]["id"].as_str().unwrap()).await;
    assert_eq!(
        texts(&messages),
        [
            ("user".to_owned(), "How long should the levain rise?".to_owned()),
            ("assistant".to_owned(), "Until it doubles, four to six hours.".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_parley_export_restores_into_another_account_once_and_adds_nothing_to_its_own() {
    let app = spawn_app().await;
    let alice = app.new_user_token().await;
    let conversation = app.new_conversation(&alice).await;
    app.say(&alice, &conversation, "Remember the lighthouse keeper").await;
    let export = app.get_authed("/api/v1/me/export", &alice).await.bytes().await.unwrap().to_vec();
    let original = all_messages(&app.client, &app.url(""), &alice, &conversation).await;

    let bob = app.new_user_token().await;
    let done = import(&app, &bob, export.clone()).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["format"], "parley");
    assert_eq!((done["conversations"].as_i64(), done["messages"].as_i64()), (Some(1), Some(2)), "{done}");
    let listed = conversations(&app, &bob).await;
    let restored = all_messages(&app.client, &app.url(""), &bob, listed[0]["id"].as_str().unwrap()).await;
    assert_eq!(texts(&restored), texts(&original));
    assert_eq!(
        restored.iter().map(|m| m["created_at"].clone()).collect::<Vec<_>>(),
        original.iter().map(|m| m["created_at"].clone()).collect::<Vec<_>>()
    );
    let again = import(&app, &bob, export.clone()).await;
    assert_eq!((again["conversations"].as_i64(), again["messages"].as_i64()), (Some(0), Some(0)), "{again}");

    // Into the account it came from: everything is already there.
    let own = import(&app, &alice, export).await;
    assert_eq!((own["conversations"].as_i64(), own["messages"].as_i64()), (Some(0), Some(0)), "{own}");
    assert_eq!(conversations(&app, &alice).await.len(), 1);
}

#[tokio::test]
async fn a_file_that_cannot_be_imported_fails_with_a_clear_reason_and_imports_nothing() {
    let app = spawn_app().await;
    let token = app.new_user_token().await;
    let good = chatgpt("c-ok", "Fine", 1_700_000_000.0, &[("user", "Hello"), ("assistant", "Hi")], false, false);
    let whole = json_bytes(&json!([good.clone(), good.clone()]));
    let mut bomb_json = b"[".to_vec();
    bomb_json.extend(std::iter::repeat_n(b' ', 32 * 1024 * 1024));
    bomb_json.push(b']');
    let zip = zip_of(&[("conversations.json", whole.clone())]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("another JSON document", json_bytes(&json!({"hello": "world"})), "not an export Parley can read"),
        ("a list of something else", json_bytes(&json!([{"name": "x"}])), "not an export Parley can read"),
        ("truncated JSON", whole[..whole.len() - 20].to_vec(), "truncated"),
        ("not JSON at all", b"Dear diary".to_vec(), "not valid JSON"),
        ("a second conversation of another shape", json_bytes(&json!([good.clone(), {"chat": {}}])), "conversation 2"),
        ("a truncated zip", zip[..zip.len() - 40].to_vec(), "damaged or truncated"),
        ("a zip bomb", zip_of(&[("conversations.json", bomb_json)]), "zip bomb"),
        ("a path-traversal name", zip_of(&[("../conversations.json", whole.clone())]), "unsafe name"),
        ("a zip without conversations", zip_of(&[("notes.txt", b"hello".to_vec())]), "no conversations.json"),
    ];
    for (what, bytes, reason) in cases {
        let failed = import(&app, &token, bytes).await;
        assert_eq!(failed["state"], "failed", "{what}: {failed}");
        let error = failed["error"].as_str().unwrap_or_default();
        assert!(error.contains(reason), "{what}: {error}");
        assert_eq!(failed["conversations"], 0, "{what}");
    }
    assert!(conversations(&app, &token).await.is_empty(), "nothing half-imported");

    let empty = upload(&app, &token, Vec::new(), "application/json").await;
    assert_eq!(json_of(empty, 400).await["error"]["code"], "validation_failed");
}

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_and_another_users_import_is_not_found() {
    let app = spawn_app_with(&[("PARLEY_MAX_IMPORT_BYTES", "4096")]).await;
    let token = app.new_user_token().await;
    let big = upload(&app, &token, vec![b' '; 5000], "application/json").await;
    assert_eq!(json_of(big, 413).await["error"]["code"], "payload_too_large");
    // Without a declared length (chunked), the count still stops it.
    let stream = futures_util::stream::iter((0..5).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1000])));
    let chunked = app
        .client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(&token)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(chunked, 413).await["error"]["code"], "payload_too_large");
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM imports").await, Some(0), "nothing of either upload is kept");
    assert_eq!(sql(&app.db_url, "SELECT count(*) FROM import_chunks").await, Some(0));

    let mine = json_of(upload(&app, &token, b"[]".to_vec(), "application/json").await, 202).await;
    let other = app.new_user_token().await;
    let path = format!("/api/v1/imports/{}", mine["id"].as_str().unwrap());
    assert_eq!(json_of(app.get_authed(&path, &other).await, 404).await["error"]["code"], "not_found");
    assert_eq!(json_of(app.get_authed(&path, &token).await, 200).await["id"], mine["id"]);
    let listed = json_of(app.get_authed("/api/v1/imports", &other).await, 200).await;
    assert_eq!(listed["imports"], json!([]));
}
