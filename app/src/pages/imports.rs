//! The page an import is followed on (`/imports/:id`): where it stands, a progress bar, and what it added or
//! why it failed. Rendered whole on the server; while the import runs the page refreshes itself every two
//! seconds (a `refresh` meta tag), which works the same with and without JavaScript.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

use crate::components::auth::RequireUser;
use crate::server_fns::{
    accounts::FormError,
    imports::{ImportView, import_status},
};

#[component]
pub fn ImportPage() -> impl IntoView {
    view! {
        <Title text="Import"/>
        <RequireUser>
            <ImportProgress/>
        </RequireUser>
    }
}

#[component]
fn ImportProgress() -> impl IntoView {
    let id = use_params_map().with_untracked(|p| p.get("id")).unwrap_or_default();
    let status = Resource::new(|| (), move |_| import_status(id.clone()));
    view! {
        <section class="import-status">
            <h1>"Import"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(import) => {
                            let in_progress = import.in_progress();
                            view! {
                                {in_progress.then(|| view! { <Meta http_equiv="refresh" content="2"/> })}
                                <ImportState import/>
                            }
                            .into_any()
                        }
                        Err(FormError::NotFound) => view! { <p role="alert">"This import does not exist."</p> }.into_any(),
                        Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <p><a href="/account#import-heading">"Back to your account"</a></p>
        </section>
    }
}

/// One import's state: the sentence, the bar, and what to do next (here and in the account page's list).
#[component]
pub fn ImportState(import: ImportView) -> impl IntoView {
    let total = import.total_messages.unwrap_or(0).max(import.messages).max(1);
    let value = if import.state == "done" { total } else { import.messages };
    let percent = i64::from(value) * 100 / i64::from(total);
    let show_bar = import.state != "failed";
    let added = import.state == "done" && import.conversations > 0;
    let skipped = (import.skipped > 0).then(|| {
        let parts = if import.skipped == 1 { "part" } else { "parts" };
        format!("{} {parts} of the file (images, files and other non-text content) could not be kept.", import.skipped)
    });
    let failed = import.state == "failed";
    view! {
        <p role=if failed { "alert" } else { "status" }>{import.summary()}</p>
        {show_bar.then(|| view! {
            <progress class="import-progress" max=total value=value aria-label="Import progress">{format!("{percent}%")}</progress>
        })}
        {skipped.map(|text| view! { <p class="muted">{text}</p> })}
        {added.then(|| view! { <p><a class="button" href="/chat">"Open your conversations"</a></p> })}
    }
}
