use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::auth::Auth;
use crate::server_fns::accounts::Logout;

#[component]
pub fn SiteHeader() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let logout = ServerAction::<Logout>::new();

    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"◆"</span>
                " Parley"
            </A>
            <nav aria-label="Main">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match auth.user.await {
                            Ok(Some(user)) => view! {
                                <ul>
                                    <li><A href="/chat">"Chats"</A></li>
                                    <li><A href="/tasks">"Tasks"</A></li>
                                    <li><A href="/account">"Account"</A></li>
                                    <li class="signed-in-as">
                                        <span class="visually-hidden">"Signed in as "</span>
                                        {user.name().to_owned()}
                                    </li>
                                    <li>
                                        <ActionForm action=logout attr:class="inline-form">
                                            <button type="submit" class="link-button">"Log out"</button>
                                        </ActionForm>
                                    </li>
                                </ul>
                            }
                            .into_any(),
                            _ => view! {
                                <ul>
                                    <li><A href="/login">"Log in"</A></li>
                                    <li><A href="/signup">"Sign up"</A></li>
                                </ul>
                            }
                            .into_any(),
                        }
                    })}
                </Transition>
            </nav>
        </header>
    }
}

#[component]
pub fn SiteFooter() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <p>"Parley keeps your conversations private: only you can read them."</p>
        </footer>
    }
}
