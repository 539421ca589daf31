//! The chat: a sidebar of conversations, the empty state that starts one, and a conversation with its
//! history, composer and streamed replies. Every action also works as a plain form without JavaScript.

use leptos::prelude::*;
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
        ConversationList, DeleteConversation, EditMessage, NewConversation, RenameConversation, RetryReply,
        SendMessage, StartConversation, list_conversations, load_conversation,
    },
};

mod composer;
mod insights;
mod markup;
mod pane;

use insights::InsightsPanel;
/// Text for HTML markup, escaped as the chat page escapes what people wrote (the server's plain pages use it too).
pub use markup::escape_html;
use pane::{ConversationPane, PaneConversation};

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
                        let insights = view.insights.clone();
                        view! {
                            <InsightsPanel insights/>
                            <ConversationPane view=PaneConversation(view) rename_errors notice/>
                        }
                        .into_any()
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
                    if let Ok(list) = list_conversations(None, search).await
                        && !items.is_disposed()
                    {
                        items.set(list.items);
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

/// The page that opens a conversation at one message, with the browser scrolled to it.
pub(crate) fn window_href(conversation: &str, message: &str) -> String {
    format!("/chat/{conversation}?around={message}#m-{message}")
}
