//! Who is signed in, shared by the header and the pages that need an account.

use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_location};

use crate::{
    domain::redirect::encode_query_value,
    server_fns::accounts::{FormError, UserSummary, current_user},
};

/// The signed-in user, looked up once per page. Pages render on the server (only islands run in the
/// browser), and every sign-in, sign-out or profile edit ends in a fresh page load, so it never changes
/// during a render.
#[derive(Clone, Copy)]
pub struct Auth {
    pub user: Resource<Result<Option<UserSummary>, FormError>>,
}

impl Auth {
    /// Creates the resource and provides it to the whole app.
    pub fn provide() -> Self {
        // Blocking, so a page that needs an account can still answer with a redirect status.
        let user = Resource::new_blocking(|| (), |_| current_user());
        let auth = Auth { user };
        provide_context(auth);
        auth
    }
}

/// Renders `children` for a signed-in user; sends anyone else to `/login?next=<this page>`.
#[component]
pub fn RequireUser(children: ChildrenFn) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let location = use_location();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.user.await {
                    Ok(Some(_)) => children.with_value(|c| c()).into_any(),
                    Ok(None) | Err(FormError::Unauthorized) => {
                        // `search` comes without its leading `?`.
                        let search = location.search.get_untracked();
                        let here = if search.is_empty() {
                            location.pathname.get_untracked()
                        } else {
                            format!("{}?{search}", location.pathname.get_untracked())
                        };
                        let path = format!("/login?next={}", encode_query_value(&here));
                        view! { <Redirect path=path/> }.into_any()
                    }
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
