//! The chat: a sidebar of conversations, the empty state that starts one, and a conversation with its
//! history, composer and streamed replies. Every action also works as a plain form without JavaScript.

use leptos::{ev::SubmitEvent, html, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{
    auth::RequireUser,
    form::{FormAlert, failed, form_level_message},
    time::{RelativeTime, use_now},
};
use crate::server_fns::{
    accounts::FormError,
    chat::{
        ConversationList, ConversationView, DeleteConversation, EditMessage, MessageView, NewConversation,
        RenameConversation, RetryReply, SendMessage, StartConversation, list_conversations, load_conversation,
    },
};
use leptos::server_fn::ServerFn;

/// The window event the conversation pane raises when the sidebar's list may have changed (a reply moved
/// a chat to the top, a first message gave it a title); the sidebar island refetches on it. Islands share
/// no reactive state, so they talk through the DOM.
#[cfg(feature = "hydrate")]
const CONVERSATIONS_CHANGED: &str = "parley:conversations-changed";

#[cfg(feature = "hydrate")]
fn announce_conversations_changed() {
    if let Ok(event) = web_sys::Event::new(CONVERSATIONS_CHANGED) {
        let _ = window().dispatch_event(&event);
    }
}

#[component]
pub fn ChatPage() -> impl IntoView {
    view! {
        <Title text="Chats"/>
        <RequireUser>
            <ChatLayout>
                <EmptyState/>
            </ChatLayout>
        </RequireUser>
    }
}

#[component]
pub fn ConversationPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Signal::derive(move || params.with(|p| p.get("id").unwrap_or_default()));
    // `?show=N` is "Load older" without JavaScript (or clicked before the page hydrated): the newest N.
    let show = move || query.with(|q| q.get("show")).and_then(|n| n.parse::<u32>().ok());
    // `?around=<message id>` opens the conversation at that message (a search result), however far back.
    let around = move || query.with(|q| q.get("around")).filter(|m| !m.is_empty());
    let conversation = Resource::new(
        move || (id.get(), show(), around()),
        |(id, show, around)| load_conversation(id, None, show, around, None),
    );
    // The server reads the <title> after rendering the page, from every <Title> registered during the
    // render, including those of views the render already threw away and disposed (under concurrent
    // requests the route and its Suspense children can render more than once). An arena signal would be
    // gone by then and reading it panics; a reference-counted one lives as long as the closure that reads it.
    let title = ArcRwSignal::new(String::from("Conversation"));
    // After a plain post that failed (no JavaScript, or before the page hydrated), the error the server
    // put in the URL: a refused title, or a message that could not be sent or retried.
    let rename_errors = failed(ServerAction::<RenameConversation>::new().value().get_untracked())
        .map(|e| e.field("title"))
        .unwrap_or_default();
    let notice = [
        failed(ServerAction::<SendMessage>::new().value().get_untracked()),
        failed(ServerAction::<RetryReply>::new().value().get_untracked()),
        failed(ServerAction::<EditMessage>::new().value().get_untracked()),
        failed(ServerAction::<DeleteConversation>::new().value().get_untracked()),
    ]
    .into_iter()
    .flatten()
    .next()
    .map(|e| e.to_string());
    let pane = {
        let title = title.clone();
        move || {
            let title = title.clone();
            let (rename_errors, notice) = (rename_errors.clone(), notice.clone());
            Suspend::new(async move {
                match conversation.await {
                    Ok(view) => {
                        title.set(view.title.clone());
                        view! { <ConversationPane view=PaneConversation(view) rename_errors notice/> }.into_any()
                    }
                    Err(FormError::NotFound) => {
                        title.set("Conversation not found".to_owned());
                        view! { <ConversationMissing/> }.into_any()
                    }
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })
        }
    };

    view! {
        <Title text=move || title.get()/>
        <RequireUser>
            {
                let pane = pane.clone();
                view! {
                    <ChatLayout current=id.get_untracked()>
                        <Suspense fallback=|| view! { <p class="muted">"Loading the conversation…"</p> }>
                            {pane}
                        </Suspense>
                    </ChatLayout>
                }
            }
        </RequireUser>
    }
}

/// The sidebar (new chat, search, the list) beside the page's own content. Rendered on the server; only
/// the list is an island, so it can follow changes made in the conversation pane.
#[component]
pub(crate) fn ChatLayout(#[prop(optional, into)] current: Option<String>, children: Children) -> impl IntoView {
    // `?q=` filters the sidebar on every chat page, so a search survives opening one of its results.
    let query = use_query_map();
    let search = query.with_untracked(|q| q.get("q")).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let list = {
        let search = search.clone();
        Resource::new(|| (), move |_| list_conversations(None, search.clone()))
    };
    let new_chat = ServerAction::<NewConversation>::new();
    let new_chat_error = failed(new_chat.value().get_untracked()).map(|e| e.to_string());
    let searched = search.clone().unwrap_or_default();
    let sidebar = move || {
        let current = current.clone();
        let search = search.clone();
        Suspend::new(async move {
            match list.await {
                Ok(list) => view! { <ConversationLinks list current search/> }.into_any(),
                Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
            }
        })
    };

    view! {
        <div class="chat-layout">
            // On a phone the list and search fold away behind this disclosure (a plain <details>, so it
            // opens and closes without JavaScript too); on wider screens it is always open (style/main.css).
            <details class="chat-drawer">
            <summary class="chat-drawer-toggle">"Conversations"</summary>
            <aside class="chat-sidebar" aria-label="Conversations">
                <ActionForm action=new_chat attr:class="new-chat" attr:data-enhance="">
                    <FormAlert message=new_chat_error/>
                    <button type="submit" class="button primary" data-pending-label="Starting…">"New chat"</button>
                </ActionForm>
                <form method="get" action="/search" role="search" class="conversation-search">
                    <label for="conversation-search" class="visually-hidden">"Search conversations"</label>
                    <input id="conversation-search" type="search" name="q" maxlength="200"
                        placeholder="Search conversations" value=searched/>
                    <button type="submit" class="button">"Search"</button>
                </form>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>{sidebar}</Suspense>
            </aside>
            </details>
            <section class="chat-main">{children()}</section>
        </div>
    }
}

/// The user's conversations, newest first (only those matching `search`, when there is one). Refetched
/// whenever the conversation pane announces a change.
#[island]
fn ConversationLinks(list: ConversationList, current: Option<String>, search: Option<String>) -> impl IntoView {
    let items = RwSignal::new(list.items);
    let now = use_now();
    #[cfg(feature = "hydrate")]
    {
        let search = search.clone();
        let listener =
            window_event_listener(leptos::ev::Custom::<web_sys::Event>::new(CONVERSATIONS_CHANGED), move |_| {
                let search = search.clone();
                leptos::task::spawn_local(async move {
                    if let Ok(list) = list_conversations(None, search).await {
                        if !items.is_disposed() {
                            items.set(list.items);
                        }
                    }
                });
            });
        on_cleanup(move || listener.remove());
    }
    // Result links keep the search.
    let suffix =
        search.as_deref().map(|s| format!("?q={}", crate::domain::redirect::encode_query_value(s))).unwrap_or_default();
    let searching = search.is_some();

    view! {
        // Plain text that shows while the list is empty (an `AnyView` here would cost the bundle kilobytes).
        <p class="muted sidebar-empty" hidden=move || !items.with(Vec::is_empty)>
            {match search.clone() {
                Some(text) => format!("No conversations match “{text}”. "),
                None => "No conversations yet.".to_owned(),
            }}
            {searching.then(|| view! { <a href="/chat">"Clear search"</a> })}
        </p>
        <ul class="conversation-list" hidden=move || items.with(Vec::is_empty)>
            <For each=move || items.get() key=|c| (c.id.clone(), c.title.clone(), c.updated_at.clone()) let:c>
                {
                    let is_current = current.as_deref() == Some(c.id.as_str());
                    view! {
                        <li class:current=is_current>
                            <a href=format!("/chat/{}{}", c.id, suffix) aria-current=is_current.then_some("page")>
                                <span class="conversation-title">{c.title}</span>
                                <RelativeTime at=c.updated_at now=now/>
                            </a>
                        </li>
                    }
                }
            </For>
        </ul>
        {searching.then(|| view! {
            <p class="muted sidebar-empty" hidden=move || items.with(Vec::is_empty)><a href="/chat">"Clear search"</a></p>
        })}
    }
}

/// The composer that starts a conversation with its first message. Server-rendered: Enter sends it (see
/// app/src/early_forms.js) and `crate::enhance` posts it in place once the WASM is in.
#[component]
fn EmptyState() -> impl IntoView {
    let start = ServerAction::<StartConversation>::new();
    let error = failed(start.value().get_untracked());
    let content_errors = error.as_ref().map(|e| e.field("content")).unwrap_or_default();
    view! {
        <div class="empty-state">
            <h1>"Your conversations"</h1>
            <p class="lead">"Ask anything to begin. Your conversations are private and kept in this list."</p>
            <ActionForm action=start attr:class="composer" attr:data-enhance="">
                <FormAlert message=error.as_ref().and_then(form_level_message)/>
                <label for="start-input" class="visually-hidden">"Message"</label>
                <textarea
                    id="start-input"
                    name="content"
                    rows="3"
                    placeholder="Message Parley…"
                    required
                    aria-describedby="start-errors"
                    aria-invalid=if content_errors.is_empty() { "false" } else { "true" }
                ></textarea>
                <button type="submit" class="button primary" data-pending-label="Sending…">"Send"</button>
                <ul id="start-errors" class="field-errors">
                    {content_errors.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
                </ul>
            </ActionForm>
        </div>
    }
}

#[component]
fn ConversationMissing() -> impl IntoView {
    view! {
        <div class="empty-state">
            <h1>"Conversation not found"</h1>
            <p>"This conversation does not exist, or it is not yours."</p>
            <p><a href="/chat">"Back to your conversations"</a></p>
        </div>
    }
}

fn escape_html(text: &str) -> String {
    escaped(text, false)
}

/// Text for an HTML attribute value in double quotes.
fn escape_attribute(text: &str) -> String {
    escaped(text, true)
}

/// One pass over `text` (these run for every message of a page).
fn escaped(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut rest = text;
    while let Some(at) = rest.find(|c| matches!(c, '&' | '<' | '>') || (attribute && c == '"')) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => "&quot;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out
}

/// The fields every edit of a message posts: which conversation, which message.
fn edit_target_fields(conversation: &str, message: &str) -> String {
    format!(
        r#"<div class="form-alert" role="alert" tabindex="-1" hidden><p></p></div><input type="hidden" name="conversation_id" value="{}"/><input type="hidden" name="message_id" value="{}"/>"#,
        escape_attribute(conversation),
        escape_attribute(message),
    )
}

/// The inside of a message's "Edit" disclosure: a plain form (it works without JavaScript). Written as
/// markup rather than a view: it is static once rendered, and a view would cost the bundle a hydration
/// walker for each of its elements. Nothing in it is named "message", which the composer's label is.
fn edit_form_html(conversation: &str, message: &str, content: &str) -> String {
    let field = escape_attribute(&format!("edit-{message}"));
    format!(
        r#"<summary>Edit</summary><form method="post" action="{action}" data-enhance="">{fields}<label for="{field}">New wording</label><textarea id="{field}" name="content" rows="3" required>{text}</textarea><p class="muted">The replies after it are replaced by a new one.</p><button type="submit" class="button" data-pending-label="Regenerating…">Save and regenerate</button></form>"#,
        action = EditMessage::url(),
        fields = edit_target_fields(conversation, message),
        text = escape_html(content),
    )
}

/// "Regenerate reply": the last message sent again, unchanged (an edit that keeps every word).
fn regenerate_form_html(conversation: &str, message: &str, content: &str) -> String {
    format!(
        r#"<form method="post" action="{action}" data-enhance="">{fields}<input type="hidden" name="content" value="{text}"/><button type="submit" class="button small" data-pending-label="Regenerating…">Regenerate reply</button></form>"#,
        action = EditMessage::url(),
        fields = edit_target_fields(conversation, message),
        text = escape_attribute(content),
    )
}

/// A conversation as the pane's island props carry it to the browser.
///
/// The browser never renders the stored messages it hydrates: hydration adopts their markup from the page
/// (`inner_html` is not rewritten from the server's), and `For` keeps every item it adopted. So of those
/// messages the props keep what the pane itself reads: the id, the role, and the text of the newest
/// question, which "Regenerate reply" posts again. The rendered Markdown, times, tool calls and the text
/// behind each "Edit" form stay in the page only (they were a third of it, escaped twice). Deserialised, it
/// is a `ConversationView` whose earlier messages have those fields empty (`content` still `Some` where
/// the edit form exists, so the adopted view has the same shape).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct PaneConversation(pub ConversationView);

impl serde::Serialize for PaneConversation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let view = &self.0;
        let newest_question = view.messages.iter().rposition(|m| m.content.is_some());
        let messages = view.messages.iter().enumerate().map(|(i, m)| MessageView {
            id: m.id.clone(),
            role: m.role.clone(),
            html: String::new(),
            created_at: String::new(),
            tool_calls: Vec::new(),
            content: m
                .content
                .as_ref()
                .map(|text| if Some(i) == newest_question { text.clone() } else { String::new() }),
        });
        // Every field named, so a field added to either struct cannot be forgotten here.
        let slim = ConversationView {
            id: view.id.clone(),
            title: view.title.clone(),
            messages: messages.collect(),
            older_cursor: view.older_cursor.clone(),
            newer_cursor: view.newer_cursor.clone(),
            focus: view.focus.clone(),
            awaiting_reply: view.awaiting_reply,
        };
        slim.serialize(serializer)
    }
}

/// One conversation: its history, the composer that streams replies, rename, delete and retry.
///
/// Rename, delete and retry are plain forms (`crate::enhance` posts them in place): each ends in a reload
/// of the page the server redirects to. `rename_errors` and `notice` carry what a failed plain post said.
#[island]
fn ConversationPane(view: PaneConversation, rename_errors: Vec<String>, notice: Option<String>) -> impl IntoView {
    let PaneConversation(view) = view;
    let id = view.id.clone();
    let title = RwSignal::new(view.title);
    // A first reply names the conversation: keep the tab's title in step.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| document().set_title(&format!("{} · Parley", title.get())));
    let messages = RwSignal::new(view.messages);
    let older = RwSignal::new(view.older_cursor);
    let newer = RwSignal::new(view.newer_cursor);
    let focus = view.focus;
    let awaiting = RwSignal::new(view.awaiting_reply);
    let pending_user = RwSignal::new(None::<String>);
    let streaming = RwSignal::new(None::<String>);
    let sending = RwSignal::new(false);
    let error = RwSignal::new(notice);
    let draft = RwSignal::new(String::new());
    let confirming_delete = RwSignal::new(false);
    let now = use_now();
    let list_ref = NodeRef::<html::Div>::new();
    let input_ref = NodeRef::<html::Textarea>::new();
    // The messages' times are markup (see `message_inner_html`): keep their labels in step with the clock.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let now = now.get();
        if let Some(list) = list_ref.get() {
            crate::components::time::refresh_relative_times(&list, now);
        }
    });
    // The composer is not bound to `draft` with `prop:value`: hydration would write the empty draft over
    // whatever was typed before the page hydrated. The textarea is written only when the app itself
    // changes the text (clearing it after a send, giving it back after a refusal).
    let set_draft = move |text: String| {
        if let Some(input) = input_ref.get_untracked() {
            input.set_value(&text);
        }
        draft.set(text);
    };
    Effect::new(move |_| {
        if let Some(input) = input_ref.get() {
            let typed = input.value();
            if !typed.is_empty() {
                draft.set(typed);
            }
        }
    });

    let renaming = RwSignal::new(!rename_errors.is_empty());
    let rename_invalid = !rename_errors.is_empty();

    let scroll_to_bottom = move || {
        if let Some(list) = list_ref.get_untracked() {
            list.set_scroll_top(list.scroll_height());
        }
    };
    // Opening a conversation shows its newest messages; opened at a message (a search result), the
    // browser has already scrolled to it by its #fragment, and that is where the reader stays.
    let opened_at_message = focus.is_some();
    Effect::new(move |_| {
        if list_ref.get().is_some() && !opened_at_message {
            request_animation_frame(scroll_to_bottom);
        }
    });
    // Keep following the reply while it streams in (and only then: on hydration this would undo the
    // browser's scroll to a message the page was opened at).
    Effect::new(move |_| {
        if streaming.with(Option::is_some) || pending_user.with(Option::is_some) {
            request_animation_frame(scroll_to_bottom);
        }
    });

    // Fetches the newest page and merges it, so stored messages (rendered Markdown) replace local ones.
    let sync_latest = {
        let id = id.clone();
        move || {
            let id = id.clone();
            async move {
                if let Ok(latest) = load_conversation(id, None, None, None, None).await {
                    title.set(latest.title);
                    awaiting.set(latest.awaiting_reply);
                    // Reading a window further back: jump to the newest, where the new exchange is.
                    if newer.get_untracked().is_some() {
                        newer.set(None);
                        older.set(latest.older_cursor);
                        messages.set(latest.messages);
                    } else {
                        messages.update(|list| {
                            list.retain(|m| !m.id.starts_with("local-"));
                            for message in latest.messages {
                                if !list.iter().any(|m| m.id == message.id) {
                                    list.push(message);
                                }
                            }
                        });
                    }
                }
                #[cfg(feature = "hydrate")]
                announce_conversations_changed();
            }
        }
    };

    #[cfg(feature = "hydrate")]
    let abort = StoredValue::new_local(None::<web_sys::AbortController>);

    let send = {
        let id = id.clone();
        let sync_latest = sync_latest.clone();
        move |content: String| {
            if sending.get_untracked() {
                return;
            }
            if content.trim().is_empty() {
                error.set(Some("Write a message first.".to_owned()));
                return;
            }
            error.set(None);
            sending.set(true);
            pending_user.set(Some(content.clone()));
            streaming.set(Some(String::new()));
            set_draft(String::new());
            #[cfg(feature = "hydrate")]
            {
                use crate::components::reply_stream::{StreamEvent, stream_reply};
                let controller = web_sys::AbortController::new().ok();
                abort.set_value(controller.clone());
                let id = id.clone();
                let sync_latest = sync_latest.clone();
                leptos::task::spawn_local(async move {
                    let Some(controller) = controller else { return };
                    let mut failure = None;
                    let result = stream_reply(&id, &content, &controller.signal(), |event| match event {
                        StreamEvent::Delta(text) => streaming.update(|s| s.get_or_insert_default().push_str(&text)),
                        StreamEvent::Done => {}
                        StreamEvent::Failed(message) => failure = Some(message),
                    })
                    .await;
                    // The person may have left this conversation meanwhile: its signals are gone, and the
                    // server has stored the reply (or what there was of it) by now.
                    if sending.is_disposed() {
                        return;
                    }
                    let stopped = controller.signal().aborted();
                    let partial = streaming.get_untracked().unwrap_or_default();
                    sync_latest().await;
                    if sending.is_disposed() {
                        return;
                    }
                    if stopped && !partial.is_empty() && awaiting.get_untracked() {
                        // The server stores the partial reply once it notices; show it meanwhile.
                        messages.update(|list| {
                            list.push(MessageView {
                                id: format!("local-{}", list.len()),
                                role: "assistant".to_owned(),
                                html: format!("<p>{}</p>", escape_html(&partial)),
                                created_at: String::new(),
                                tool_calls: Vec::new(),
                                content: None,
                            })
                        });
                        awaiting.set(false);
                    }
                    match result {
                        // Refused before anything was stored: give the text back.
                        Err(message) if !stopped => {
                            set_draft(content);
                            error.set(Some(message));
                        }
                        _ => error.set(failure),
                    }
                    pending_user.set(None);
                    streaming.set(None);
                    sending.set(false);
                    abort.set_value(None);
                    if let Some(input) = input_ref.get_untracked() {
                        let _ = input.focus();
                    }
                });
            }
            #[cfg(not(feature = "hydrate"))]
            {
                let _ = (&id, &sync_latest);
            }
        }
    };

    let on_submit = {
        let send = send.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            send(draft.get_untracked());
        }
    };
    let on_keydown = {
        let send = send.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                ev.prevent_default();
                send(draft.get_untracked());
            }
        }
    };
    let stop = move |_| {
        #[cfg(feature = "hydrate")]
        abort.with_value(|controller| {
            if let Some(controller) = controller {
                controller.abort();
            }
        });
    };

    let load_older = {
        let id = id.clone();
        move |ev: leptos::ev::MouseEvent| {
            ev.prevent_default();
            let Some(cursor) = older.get_untracked() else { return };
            let id = id.clone();
            leptos::task::spawn_local(async move {
                let Ok(page) = load_conversation(id, Some(cursor), None, None, None).await else { return };
                if messages.is_disposed() {
                    return; // the person left this conversation meanwhile
                }
                // Keep the reader's place: remember the distance from the bottom, restore it after.
                let from_bottom = list_ref.get_untracked().map(|l| l.scroll_height() - l.scroll_top());
                messages.update(|list| {
                    let mut merged = page.messages;
                    merged.retain(|m| !list.iter().any(|x| x.id == m.id));
                    merged.append(list);
                    *list = merged;
                });
                older.set(page.older_cursor);
                request_animation_frame(move || {
                    if let (Some(list), Some(offset)) = (list_ref.get_untracked(), from_bottom) {
                        list.set_scroll_top(list.scroll_height() - offset);
                    }
                });
            });
        }
    };

    let load_newer = {
        let id = id.clone();
        move |ev: leptos::ev::MouseEvent| {
            ev.prevent_default();
            let Some(cursor) = newer.get_untracked() else { return };
            let id = id.clone();
            leptos::task::spawn_local(async move {
                let Ok(page) = load_conversation(id, None, None, None, Some(cursor)).await else { return };
                if messages.is_disposed() {
                    return;
                }
                messages.update(|list| {
                    let fresh: Vec<_> =
                        page.messages.into_iter().filter(|m| !list.iter().any(|x| x.id == m.id)).collect();
                    list.extend(fresh);
                });
                newer.set(page.newer_cursor);
                awaiting.set(page.awaiting_reply);
            });
        }
    };

    // Without JavaScript: the newest N, or (in a window further back) the window around its first message.
    let older_href = {
        let id = id.clone();
        move || {
            older.with(Option::is_some).then(|| match newer.with(Option::is_some) {
                false => format!("/chat/{id}?show={}", messages.with(Vec::len) + 50),
                true => messages.with(|list| list.first().map(|m| window_href(&id, &m.id)).unwrap_or_default()),
            })
        }
    };
    let newer_href = {
        let id = id.clone();
        move || messages.with(|list| list.last().map(|m| window_href(&id, &m.id)).unwrap_or_default())
    };
    let send_url = SendMessage::url();
    let conversation_id = StoredValue::new(id.clone());

    view! {
        <header class="conversation-header">
            <h1>{move || title.get()}</h1>
            <div class="conversation-actions">
                <button type="button" class="button js-only" on:click=move |_| renaming.update(|r| *r = !*r)
                    aria-expanded=move || renaming.get().to_string()>
                    "Rename"
                </button>
                <button type="button" class="button js-only" on:click=move |_| confirming_delete.update(|d| *d = !*d)
                    aria-expanded=move || confirming_delete.get().to_string()>
                    "Delete"
                </button>
            </div>
        </header>
        <div class="inline-panel no-js-reveal" hidden=move || !renaming.get()>
            <form method="post" action=RenameConversation::url() class="rename-form" data-enhance="">
                <input type="hidden" name="conversation_id" value=conversation_id.get_value()/>
                <label for="rename-title">"New title"</label>
                <input id="rename-title" name="title" type="text" maxlength="200" required value=title.get_untracked()
                    aria-describedby="rename-title-errors" aria-invalid=rename_invalid.to_string()/>
                <button type="submit" class="button primary" data-pending-label="Saving…">"Save title"</button>
                <ul id="rename-title-errors" class="field-errors">
                    {rename_errors.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
                </ul>
            </form>
        </div>
        <div class="inline-panel danger no-js-reveal" hidden=move || !confirming_delete.get()>
            <p>"Delete this conversation and all of its messages? This cannot be undone."</p>
            <form method="post" action=DeleteConversation::url() data-enhance="">
                <div class="form-alert" role="alert" tabindex="-1" hidden><p></p></div>
                <input type="hidden" name="conversation_id" value=conversation_id.get_value()/>
                <button type="submit" class="button danger" data-pending-label="Deleting…">"Delete conversation"</button>
                <button type="button" class="button js-only" on:click=move |_| confirming_delete.set(false)>"Cancel"</button>
            </form>
        </div>

        // Focusable, so keyboard users can scroll a long history.
        <div class="messages" node_ref=list_ref role="log" aria-label="Conversation history" tabindex="0" aria-busy=move || sending.get().to_string()>
            <Show when=move || older.with(Option::is_some)>
                <p class="load-older">
                    <a href=older_href.clone() class="button" role="button" on:click=load_older.clone()>"Load older"</a>
                </p>
            </Show>
            <Show when=move || messages.with(Vec::is_empty) && pending_user.with(Option::is_none)>
                <p class="muted conversation-empty">"No messages yet. Say hello below."</p>
            </Show>
            <For each=move || messages.get() key=|m| m.id.clone() let:message>
                {
                    let focused = focus.as_deref() == Some(message.id.as_str());
                    view! { <MessageItem message=message conversation=conversation_id.get_value() now=now focused/> }
                }
            </For>
            // A new reply to the last message: the same as editing it without changing a word.
            {move || {
                let last = messages.with(|list| match list.as_slice() {
                    [.., asked, reply] if reply.role == "assistant" => asked.content.clone().map(|c| (asked.id.clone(), c)),
                    _ => None,
                });
                last.filter(|_| !sending.get() && newer.with(Option::is_none)).map(|(message_id, content)| view! {
                    <div class="regenerate" inner_html=regenerate_form_html(&conversation_id.get_value(), &message_id, &content)></div>
                })
            }}
            <Show when=move || newer.with(Option::is_some)>
                <p class="load-newer">
                    <a href=newer_href.clone() class="button" role="button" on:click=load_newer.clone()>"Load newer"</a>
                </p>
            </Show>
            {move || pending_user.get().map(|text| view! {
                <article class="message user" aria-label="You said">
                    <header class="message-meta"><span class="author">"You"</span></header>
                    <div class="message-body"><p class="plain">{text}</p></div>
                </article>
            })}
            {move || streaming.get().map(|text| view! {
                <article class="message assistant streaming" aria-label="Assistant reply" aria-busy="true">
                    <header class="message-meta"><span class="author">"Assistant"</span></header>
                    <div class="message-body"><p class="plain">{text}<span class="cursor" aria-hidden="true">"▍"</span></p></div>
                </article>
            })}
            <div id="latest"></div>
        </div>

        <Show when=move || error.with(Option::is_some) || (awaiting.get() && !sending.get())>
            <div class="form-alert" role="alert">
                <p>{move || error.get().unwrap_or_else(|| "The assistant has not replied to your last message.".to_owned())}</p>
                <Show when=move || awaiting.get()>
                    <form method="post" action=RetryReply::url() data-enhance="">
                        <div class="form-alert" role="alert" tabindex="-1" hidden><p></p></div>
                        <input type="hidden" name="conversation_id" value=conversation_id.get_value()/>
                        <button type="submit" class="button" data-pending-label="Retrying…">"Retry"</button>
                    </form>
                </Show>
            </div>
        </Show>

        <form class="composer" method="post" action=send_url on:submit=on_submit>
            <input type="hidden" name="conversation_id" value=conversation_id.get_value()/>
            <label for="composer-input" class="visually-hidden">"Message"</label>
            <textarea
                id="composer-input"
                name="content"
                rows="3"
                placeholder="Message Parley… (Enter to send, Shift+Enter for a new line)"
                required
                node_ref=input_ref
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=on_keydown
                disabled=move || sending.get()
            ></textarea>
            <div class="composer-actions">
                <Show
                    when=move || sending.get()
                    fallback=|| view! { <button type="submit" class="button primary">"Send"</button> }
                >
                    <button type="button" class="button" on:click=stop>"Stop"</button>
                </Show>
            </div>
        </form>
    }
}

/// The page that opens a conversation at one message, with the browser scrolled to it.
pub(crate) fn window_href(conversation: &str, message: &str) -> String {
    format!("/chat/{conversation}?around={message}#m-{message}")
}

#[component]
fn MessageItem(
    message: MessageView,
    conversation: String,
    now: Signal<i64>,
    #[prop(optional)] focused: bool,
) -> impl IntoView {
    let is_user = message.role == "user";
    let class = match (is_user, focused) {
        (true, false) => "message user",
        (false, false) => "message assistant",
        (true, true) => "message user focused",
        (false, true) => "message assistant focused",
    };
    let inside = message_inner_html(&message, now.get_untracked());
    view! {
        <article class=class id=format!("m-{}", message.id) aria-current=focused.then_some("true")
            aria-label=if is_user { "You said" } else { "Assistant reply" } inner_html=inside>
        </article>
        // Beside the message, not in it: the message's own text stays exactly what was said.
        {message.content.map(|content| view! {
            <details class="message-edit" inner_html=edit_form_html(&conversation, &message.id, &content)></details>
        })}
    }
}

/// The inside of a message's `<article>`: who said it and when, the tools it used, and the text.
///
/// Written as markup, not as a view: as views, each of a page's fifty messages cost the bundle and the
/// browser a hydration walker for its header, time and tool calls (on the server the two cost the same,
/// measured). Nothing in it changes once shown but the relative time, which the pane brings up to date
/// for all messages at once (`refresh_relative_times`).
fn message_inner_html(message: &MessageView, now: i64) -> String {
    use std::fmt::Write;
    let author = if message.role == "user" { "You" } else { "Assistant" };
    let mut html = String::with_capacity(message.html.len() + 256);
    let _ = write!(html, r#"<header class="message-meta"><span class="author">{author}</span>"#);
    if !message.created_at.is_empty() {
        let at = escape_attribute(&message.created_at);
        let label = escape_html(&crate::components::time::relative(&message.created_at, now));
        let _ = write!(html, r#"<time datetime="{at}" title="{at}">{label}</time>"#);
    }
    html.push_str("</header>");
    if !message.tool_calls.is_empty() {
        html.push_str(r#"<ul class="tool-calls" aria-label="Tools used">"#);
        for call in &message.tool_calls {
            let _ = write!(
                html,
                r#"<li><details class="{class}"><summary>Used <code>{name}</code>{failed}</summary><p class="tool-call-label">Arguments</p><pre>{arguments}</pre><p class="tool-call-label">Result</p><pre>{result}</pre></details></li>"#,
                class = if call.failed { "tool-call failed" } else { "tool-call" },
                name = escape_html(&call.name),
                failed = if call.failed { " (failed)" } else { "" },
                arguments = escape_html(&call.arguments),
                result = escape_html(&call.result),
            );
        }
        html.push_str("</ul>");
    }
    // Sanitised on the server (`chat::markdown`), or escaped text for a message still streaming in.
    let _ = write!(html, r#"<div class="message-body">{}</div>"#, message.html);
    html
}

#[cfg(test)]
mod pane_props_tests {
    use super::PaneConversation;
    use crate::server_fns::chat::{ConversationView, MessageView};

    fn message(id: &str, role: &str, content: Option<&str>) -> MessageView {
        MessageView {
            id: id.to_owned(),
            role: role.to_owned(),
            html: format!("<p>{id}</p>"),
            created_at: "2026-12-02T10:00:00Z".to_owned(),
            tool_calls: Vec::new(),
            content: content.map(str::to_owned),
        }
    }

    #[test]
    fn the_props_keep_what_the_browser_needs_and_leave_out_the_rendered_history() {
        let view = ConversationView {
            id: "c".to_owned(),
            title: "T".to_owned(),
            messages: vec![
                message("1", "user", Some("first")),
                message("2", "assistant", None),
                message("3", "user", Some("newest question")),
                message("4", "assistant", None),
            ],
            older_cursor: Some("older".to_owned()),
            newer_cursor: None,
            focus: Some("3".to_owned()),
            awaiting_reply: false,
        };
        let json = serde_json::to_string(&PaneConversation(view.clone())).unwrap();
        let PaneConversation(back) = serde_json::from_str(&json).unwrap();
        assert!(!json.contains("<p>"), "{json}");
        let contents: Vec<_> = back.messages.iter().map(|m| m.content.as_deref()).collect();
        assert_eq!(contents, [Some(""), None, Some("newest question"), None]);
        assert!(back.messages.iter().all(|m| m.html.is_empty() && m.created_at.is_empty()));
        let ids: Vec<_> = back.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3", "4"]);
        assert_eq!((back.older_cursor, back.focus, back.title), (view.older_cursor, view.focus, view.title));
        let roles: Vec<_> = back.messages.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    }
}

#[cfg(test)]
mod message_markup_tests {
    use super::message_inner_html;
    use crate::server_fns::chat::{MessageView, ToolCallView};

    #[test]
    fn a_message_reads_as_its_view_did_and_nothing_in_it_is_unescaped_but_the_sanitised_body() {
        let message = MessageView {
            id: "m".to_owned(),
            role: "assistant".to_owned(),
            html: "<p>Sanitised <em>body</em></p>".to_owned(),
            created_at: "2026-12-02T10:00:00Z".to_owned(),
            tool_calls: vec![ToolCallView {
                name: "<b>weather</b>".to_owned(),
                arguments: r#"{"city": "<Paris>"}"#.to_owned(),
                result: "{}".to_owned(),
                failed: true,
            }],
            content: None,
        };
        let two_hours_later = 1_796_205_600 + 2 * 3600;
        let html = message_inner_html(&message, two_hours_later);
        assert!(html.starts_with(r#"<header class="message-meta"><span class="author">Assistant</span><time datetime="2026-12-02T10:00:00Z" title="2026-12-02T10:00:00Z">2 hours ago</time></header>"#), "{html}");
        assert!(html.contains(r#"<details class="tool-call failed"><summary>Used <code>&lt;b&gt;weather&lt;/b&gt;</code> (failed)</summary>"#), "{html}");
        assert!(html.contains(r#"<pre>{"city": "&lt;Paris&gt;"}</pre>"#), "{html}");
        assert!(html.ends_with(r#"<div class="message-body"><p>Sanitised <em>body</em></p></div>"#), "{html}");
        let plain =
            MessageView { tool_calls: Vec::new(), created_at: String::new(), role: "user".to_owned(), ..message };
        assert_eq!(
            message_inner_html(&plain, two_hours_later),
            r#"<header class="message-meta"><span class="author">You</span></header><div class="message-body"><p>Sanitised <em>body</em></p></div>"#
        );
    }
}

#[cfg(test)]
mod edit_form_tests {
    use super::{edit_form_html, regenerate_form_html};

    #[test]
    fn what_the_person_wrote_cannot_break_out_of_the_edit_forms() {
        let hostile = r#"</textarea><script>alert(1)</script>" onfocus="x"#;
        let edit = edit_form_html("c-1", "m-1", hostile);
        assert!(edit.contains("&lt;/textarea&gt;&lt;script&gt;"), "{edit}");
        assert!(!edit.contains("<script>"));
        let regenerate = regenerate_form_html("c-1", "m-1", hostile);
        assert!(
            regenerate
                .contains(r#"value="&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot; onfocus=&quot;x""#),
            "{regenerate}"
        );
        for html in [&edit, &regenerate] {
            assert!(
                html.contains(r#"name="conversation_id" value="c-1""#)
                    && html.contains(r#"name="message_id" value="m-1""#)
            );
        }
    }
}
