//! Search results: the user's messages that match, best first, each with the words highlighted and a
//! link that opens its conversation at that message. Rendered on the server; plain links throughout.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::chat::{ChatLayout, window_href};
use crate::components::{auth::RequireUser, time::RelativeTime};
use crate::domain::redirect::encode_query_value;
use crate::server_fns::{
    accounts::FormError,
    chat::{SearchHitView, SearchResults, search_messages},
};

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let q = query.with_untracked(|q| q.get("q")).unwrap_or_default().trim().to_owned();
    let cursor = query.with_untracked(|q| q.get("cursor")).filter(|c| !c.is_empty());
    let results = {
        let q = q.clone();
        Resource::new(|| (), move |_| search_messages(q.clone(), cursor.clone()))
    };
    let body = {
        let q = q.clone();
        move || {
            let q = q.clone();
            Suspend::new(async move {
                match results.await {
                    Ok(results) => view! { <ResultList q results/> }.into_any(),
                    Err(FormError::Fields(fields)) => {
                        let message = fields
                            .get("q")
                            .and_then(|m| m.first())
                            .cloned()
                            .unwrap_or_else(|| "This search is not valid.".to_owned());
                        view! { <p class="form-alert" role="alert">{message}</p> }.into_any()
                    }
                    Err(error) => view! { <p class="form-alert" role="alert">{error.to_string()}</p> }.into_any(),
                }
            })
        }
    };
    let heading = if q.is_empty() { "Search".to_owned() } else { format!("Messages matching “{q}”") };
    view! {
        <Title text=heading.clone()/>
        <RequireUser>
            {
                let body = body.clone();
                let heading = heading.clone();
                view! {
                    <ChatLayout>
                        <div class="search-results-page">
                            <h1>{heading}</h1>
                            <Suspense fallback=|| view! { <p class="muted">"Searching…"</p> }>{body}</Suspense>
                        </div>
                    </ChatLayout>
                }
            }
        </RequireUser>
    }
}

#[component]
fn ResultList(q: String, results: SearchResults) -> impl IntoView {
    if results.results.is_empty() {
        return view! { <p class="muted">"No messages match. Try fewer or shorter words."</p> }.into_any();
    }
    let more = results
        .next_cursor
        .map(|cursor| format!("/search?q={}&cursor={}", encode_query_value(&q), encode_query_value(&cursor)));
    view! {
        <ol class="search-results" aria-label="Matching messages">
            {results.results.into_iter().map(|hit| view! { <ResultItem hit/> }.into_any()).collect_view()}
        </ol>
        {more.map(|href| view! { <p class="load-older"><a class="button" href=href>"More results"</a></p> })}
    }
    .into_any()
}

#[component]
fn ResultItem(hit: SearchHitView) -> impl IntoView {
    let now = Signal::stored(server_now());
    let author = if hit.role == "user" { "You" } else { "Assistant" };
    view! {
        <li class="search-result">
            <a href=window_href(&hit.conversation_id, &hit.message_id)>
                <span class="search-result-meta">
                    <span class="conversation-title">{hit.conversation_title}</span>
                    <span class="muted">{author}" · "<RelativeTime at=hit.created_at now=now/></span>
                </span>
                <span class="snippet">
                    {hit.snippet.into_iter().map(|part| if part.matched {
                        view! { <mark>{part.text}</mark> }.into_any()
                    } else {
                        part.text.into_any()
                    }).collect_view()}
                </span>
            </a>
        </li>
    }
    .into_any()
}

/// This page is never hydrated, so the server's clock is the only one its times are relative to.
fn server_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
