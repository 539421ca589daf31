//! The conversation pane, the chat page's one island for a conversation: its history (adopted from the
//! server's markup), streamed replies, rename, delete, retry and paging, with the composer below.

use leptos::server_fn::ServerFn;
use leptos::{html, prelude::*};

#[cfg(feature = "hydrate")]
use super::announce_conversations_changed;
use super::{
    composer::Composer,
    markup::{MessageItem, regenerate_form_html},
    window_href,
};
use crate::{
    components::time::use_now,
    server_fns::chat::{
        ConversationView, DeleteConversation, MessageView, RenameConversation, RetryReply, load_conversation,
    },
};

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
            insights: Vec::new(),
        };
        slim.serialize(serializer)
    }
}

/// One conversation: its history, the composer that streams replies, rename, delete and retry.
///
/// Rename, delete and retry are plain forms (`crate::enhance` posts them in place): each ends in a reload
/// of the page the server redirects to. `rename_errors` and `notice` carry what a failed plain post said.
#[island]
pub(super) fn ConversationPane(
    view: PaneConversation,
    rename_errors: Vec<String>,
    notice: Option<String>,
) -> impl IntoView {
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
    let confirming_delete = RwSignal::new(false);
    let now = use_now();
    let list_ref = NodeRef::<html::Div>::new();
    let composer = Composer::new();
    // The messages' times are markup (see `message_inner_html`): keep their labels in step with the clock.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let now = now.get();
        if let Some(list) = list_ref.get() {
            crate::components::time::refresh_relative_times(&list, now);
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
            composer.set_draft(String::new());
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
                                html: format!("<p>{}</p>", super::markup::escape_html(&partial)),
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
                            composer.set_draft(content);
                            error.set(Some(message));
                        }
                        _ => error.set(failure),
                    }
                    pending_user.set(None);
                    streaming.set(None);
                    sending.set(false);
                    abort.set_value(None);
                    composer.focus();
                });
            }
            #[cfg(not(feature = "hydrate"))]
            {
                let _ = (&id, &sync_latest);
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

        {composer.view(conversation_id.get_value(), sending, send, stop)}
    }
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
            insights: vec![crate::server_fns::chat::InsightView {
                score: Some(40),
                summary: Some("the summary".to_owned()),
                state: "done".to_owned(),
                created_at: "2026-12-03T00:00:00Z".to_owned(),
            }],
        };
        let json = serde_json::to_string(&PaneConversation(view.clone())).unwrap();
        assert!(!json.contains("the summary"), "the insights are rendered on the server, never sent as props");
        assert!(!serde_json::to_string(&view).unwrap().contains("the summary"), "nor sent by the server function");
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
