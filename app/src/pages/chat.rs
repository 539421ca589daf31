//! The chat: a sidebar of conversations, the empty state that starts one, and a conversation with its
//! history, composer and streamed replies. Every action also works as a plain form without JavaScript.

use leptos::{ev::SubmitEvent, html, prelude::*};
use leptos_meta::Title;
use leptos_router::{
    components::Form,
    hooks::{use_params_map, use_query_map},
};

use crate::components::{
    auth::RequireUser,
    time::{use_now, RelativeTime},
};
use crate::server_fns::{
    accounts::FormError,
    chat::{
        list_conversations, load_conversation, ConversationView, DeleteConversation, MessageView, NewConversation,
        RenameConversation, RetryReply, SendMessage, StartConversation,
    },
};
use leptos::server_fn::ServerFn;

/// Bumped whenever the sidebar's list may have changed (a reply moved a chat to the top, a title changed).
#[derive(Clone, Copy)]
struct SidebarRefresh(RwSignal<u64>);

impl SidebarRefresh {
    fn bump(self) {
        self.0.update(|n| *n += 1);
    }
}

#[component]
pub fn ChatPage() -> impl IntoView {
    view! {
        <Title text="Chats"/>
        <RequireUser>
            <ChatLayout current=Signal::derive(|| None::<String>)>
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
    let conversation = Resource::new(move || (id.get(), show()), |(id, show)| load_conversation(id, None, show));
    // The server reads the <title> after rendering the page, from every <Title> registered during the
    // render, including those of views the render already threw away and disposed (under concurrent
    // requests the route and its Suspense children can render more than once). An arena signal would be
    // gone by then and reading it panics; a reference-counted one lives as long as the closure that reads it.
    let title = ArcRwSignal::new(String::from("Conversation"));
    let pane = {
        let title = title.clone();
        move || {
            let title = title.clone();
            Suspend::new(async move {
                match conversation.await {
                    Ok(view) => view! { <ConversationPane view=view page_title=title/> }.into_any(),
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
                    <ChatLayout current=Signal::derive(move || Some(id.get()))>
                        <Suspense fallback=|| view! { <p class="muted">"Loading the conversation…"</p> }>
                            {pane}
                        </Suspense>
                    </ChatLayout>
                }
            }
        </RequireUser>
    }
}

#[component]
fn ChatLayout(#[prop(into)] current: Signal<Option<String>>, children: Children) -> impl IntoView {
    let refresh = SidebarRefresh(RwSignal::new(0));
    provide_context(refresh);
    // `?q=` filters the sidebar on every chat page, so a search survives opening one of its results.
    let query = use_query_map();
    let search = Memo::new(move |_| {
        query.with(|q| q.get("q")).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
    });
    let list = Resource::new(move || (refresh.0.get(), search.get()), |(_, search)| list_conversations(None, search));
    let new_chat = ServerAction::<NewConversation>::new();
    let now = use_now();

    view! {
        <div class="chat-layout">
            // On a phone the list and search fold away behind this disclosure (a plain <details>, so it
            // opens and closes without JavaScript too); on wider screens it is always open (style/main.css).
            <details class="chat-drawer">
            <summary class="chat-drawer-toggle">"Conversations"</summary>
            <aside class="chat-sidebar" aria-label="Conversations">
                <ActionForm action=new_chat attr:class="new-chat">
                    <button type="submit" class="button primary" disabled=move || new_chat.pending().get()>
                        "New chat"
                    </button>
                </ActionForm>
                <Form action="/chat" attr:role="search" attr:class="conversation-search">
                    <label for="conversation-search" class="visually-hidden">"Search conversations"</label>
                    <input id="conversation-search" type="search" name="q" maxlength="200"
                        placeholder="Search conversations" value=move || search.get().unwrap_or_default()/>
                    <button type="submit" class="button">"Search"</button>
                </Form>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || {
                        // Read before the await: by the time the list arrives this layout may have been
                        // replaced (a navigation), and its signals disposed.
                        let searching = search.get_untracked();
                        // Result links keep the search.
                        let suffix = searching
                            .as_deref()
                            .map(|s| format!("?q={}", crate::domain::redirect::encode_query_value(s)))
                            .unwrap_or_default();
                        Suspend::new(async move {
                        match list.await {
                            Ok(list) if list.items.is_empty() => match searching {
                                Some(text) => view! {
                                    <p class="muted sidebar-empty">
                                        "No conversations match “" {text} "”. " <a href="/chat">"Clear search"</a>
                                    </p>
                                }
                                .into_any(),
                                None => view! { <p class="muted sidebar-empty">"No conversations yet."</p> }.into_any(),
                            },
                            Ok(list) => view! {
                                <ul class="conversation-list">
                                    {list
                                        .items
                                        .into_iter()
                                        .map(|c| {
                                            let href = format!("/chat/{}{}", c.id, suffix);
                                            let id = c.id.clone();
                                            let is_current =
                                                Signal::derive(move || current.with(|cur| cur.as_deref() == Some(id.as_str())));
                                            view! {
                                                <li class:current=is_current>
                                                    <a href=href aria-current=move || is_current.get().then_some("page")>
                                                        <span class="conversation-title">{c.title}</span>
                                                        <RelativeTime at=c.updated_at now=now/>
                                                    </a>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                                {searching.is_some().then(|| view! {
                                    <p class="muted sidebar-empty"><a href="/chat">"Clear search"</a></p>
                                })}
                            }
                            .into_any(),
                            Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })
                    }}
                </Transition>
            </aside>
            </details>
            <section class="chat-main">{children()}</section>
        </div>
    }
}

#[component]
fn EmptyState() -> impl IntoView {
    let start = ServerAction::<StartConversation>::new();
    let error = move || start.value().get().and_then(Result::err);
    // Enter sends here as in a conversation (Shift+Enter makes a new line); the form's own submit runs,
    // so the browser's `required` check and the action's pending state apply as for a click.
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            // One conversation per message: a held or repeated Enter while the first is on its way does nothing.
            if ev.repeat() || start.pending().get_untracked() {
                return;
            }
            #[cfg(feature = "hydrate")]
            {
                use leptos::wasm_bindgen::JsCast;
                let form = ev
                    .target()
                    .and_then(|target| target.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
                    .and_then(|textarea| textarea.form());
                if let Some(form) = form {
                    let _ = form.request_submit();
                }
            }
        }
    };
    view! {
        <div class="empty-state">
            <h1>"Your conversations"</h1>
            <p class="lead">"Ask anything to begin. Your conversations are private and kept in this list."</p>
            <ActionForm action=start attr:class="composer">
                <label for="start-input" class="visually-hidden">"Message"</label>
                <textarea
                    id="start-input"
                    name="content"
                    rows="3"
                    placeholder="Message Parley…"
                    required
                    aria-describedby="start-errors"
                    on:keydown=on_keydown
                ></textarea>
                <button type="submit" class="button primary" disabled=move || start.pending().get()>
                    {move || if start.pending().get() { "Sending…" } else { "Send" }}
                </button>
            </ActionForm>
            <p id="start-errors" class="field-errors" role="alert">{move || error().map(|e| e.to_string())}</p>
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

#[cfg(feature = "hydrate")]
fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[component]
fn ConversationPane(view: ConversationView, page_title: ArcRwSignal<String>) -> impl IntoView {
    let id = view.id.clone();
    page_title.set(view.title.clone());
    // The pane's own title signal: sharing the page's would leave this pane's views subscribed to it
    // after the pane is gone, and the next pane's title would wake them. The effect, disposed with the
    // pane, carries renames up to the page title.
    let title = RwSignal::new(view.title);
    Effect::new(move |_| page_title.set(title.get()));
    let messages = RwSignal::new(view.messages);
    let older = RwSignal::new(view.older_cursor);
    let awaiting = RwSignal::new(view.awaiting_reply);
    let pending_user = RwSignal::new(None::<String>);
    let streaming = RwSignal::new(None::<String>);
    let sending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let draft = RwSignal::new(String::new());
    let renaming = RwSignal::new(false);
    let confirming_delete = RwSignal::new(false);
    let refresh = use_context::<SidebarRefresh>();
    let now = use_now();
    let list_ref = NodeRef::<html::Div>::new();
    let input_ref = NodeRef::<html::Textarea>::new();
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

    let rename = ServerAction::<RenameConversation>::new();
    let delete = ServerAction::<DeleteConversation>::new();
    let retry = ServerAction::<RetryReply>::new();
    // A no-JavaScript send that failed comes back as an error on the page.
    let send_action = ServerAction::<SendMessage>::new();
    Effect::new(move |_| {
        if let Some(Err(e)) = send_action.value().get() {
            error.set(Some(e.to_string()));
        }
    });
    // The redirect after a rename lands on this same page, so apply the stored title here.
    Effect::watch(
        move || rename.version().get(),
        move |_, _, _| {
            if let Some(Ok(new_title)) = rename.value().get_untracked() {
                title.set(new_title);
                renaming.set(false);
                if let Some(refresh) = refresh {
                    refresh.bump();
                }
            }
        },
        false,
    );
    let rename_error = move || rename.value().get().and_then(Result::err).map(|e| e.field("title").join(" ")).filter(|m| !m.is_empty());

    let scroll_to_bottom = move || {
        if let Some(list) = list_ref.get_untracked() {
            list.set_scroll_top(list.scroll_height());
        }
    };
    // Opening a conversation shows its newest messages.
    Effect::new(move |_| {
        if list_ref.get().is_some() {
            request_animation_frame(scroll_to_bottom);
        }
    });
    // Keep following the reply while it streams in.
    Effect::new(move |_| {
        streaming.track();
        pending_user.track();
        request_animation_frame(scroll_to_bottom);
    });

    // Fetches the newest page and merges it, so stored messages (rendered Markdown) replace local ones.
    let sync_latest = {
        let id = id.clone();
        move || {
            let id = id.clone();
            async move {
                if let Ok(latest) = load_conversation(id, None, None).await {
                    title.set(latest.title);
                    awaiting.set(latest.awaiting_reply);
                    messages.update(|list| {
                        list.retain(|m| !m.id.starts_with("local-"));
                        for message in latest.messages {
                            if !list.iter().any(|m| m.id == message.id) {
                                list.push(message);
                            }
                        }
                    });
                }
                if let Some(refresh) = refresh {
                    refresh.bump();
                }
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
                use crate::components::reply_stream::{stream_reply, StreamEvent};
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
                let Ok(page) = load_conversation(id, Some(cursor), None).await else { return };
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

    let older_href = {
        let id = id.clone();
        move || older.with(Option::is_some).then(|| format!("/chat/{id}?show={}", messages.with(Vec::len) + 50))
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
            <ActionForm action=rename attr:class="rename-form">
                <input type="hidden" name="conversation_id" value=conversation_id.get_value()/>
                <label for="rename-title">"New title"</label>
                <input id="rename-title" name="title" type="text" maxlength="200" required value=title.get_untracked()
                    aria-invalid=move || rename_error().is_some().to_string()/>
                <button type="submit" class="button primary">"Save title"</button>
                <p class="field-errors" role="alert">{rename_error}</p>
            </ActionForm>
        </div>
        <div class="inline-panel danger no-js-reveal" hidden=move || !confirming_delete.get()>
            <p>"Delete this conversation and all of its messages? This cannot be undone."</p>
            <ActionForm action=delete>
                <input type="hidden" name="conversation_id" value=conversation_id.get_value()/>
                <button type="submit" class="button danger">"Delete conversation"</button>
                <button type="button" class="button js-only" on:click=move |_| confirming_delete.set(false)>"Cancel"</button>
            </ActionForm>
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
                <MessageItem message=message now=now/>
            </For>
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
                    <ActionForm action=retry>
                        <input type="hidden" name="conversation_id" value=conversation_id.get_value()/>
                        <button type="submit" class="button" disabled=move || retry.pending().get()>"Retry"</button>
                    </ActionForm>
                </Show>
            </div>
        </Show>
        {
            let sync_latest = sync_latest.clone();
            Effect::watch(
                move || retry.version().get(),
                move |_, _, _| {
                    let s = sync_latest.clone();
                    leptos::task::spawn_local(async move { s().await });
                    // A retry that failed again says why; one that worked clears the message.
                    error.set(retry.value().get_untracked().and_then(Result::err).map(|e| e.to_string()));
                },
                false,
            );
        }

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

#[component]
fn MessageItem(message: MessageView, now: Signal<i64>) -> impl IntoView {
    let is_user = message.role == "user";
    let author = if is_user { "You" } else { "Assistant" };
    let at = message.created_at.clone();
    view! {
        <article class=if is_user { "message user" } else { "message assistant" }
            aria-label=if is_user { "You said" } else { "Assistant reply" }>
            <header class="message-meta">
                <span class="author">{author}</span>
                {(!at.is_empty()).then(|| view! { <RelativeTime at=at.clone() now=now/> })}
            </header>
            <div class="message-body" inner_html=message.html></div>
        </article>
    }
}
