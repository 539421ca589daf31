//! Parley's user interface and the domain rules it shares with the server.
//!
//! Compiled twice: with `ssr` into the server binary (rendering HTML) and with `hydrate` into the WASM
//! bundle. Nothing in here may need a server-only crate without `ssr`.
//!
//! Islands architecture: every page is rendered on the server, and navigation is a plain page load. Only
//! the parts a person interacts with (`#[island]` components: the forms, the conversation pane, the
//! sidebar list) are compiled into the WASM bundle and hydrated in the browser, and every one of them
//! also works as a plain HTML form before (or without) the bundle.

pub mod components;
pub mod domain;
#[cfg(feature = "hydrate")]
pub mod enhance;
pub mod pages;
pub mod server_fns;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::components::{
    auth::Auth,
    layout::{SiteFooter, SiteHeader},
};
use crate::pages::{
    account::AccountPage,
    chat::{ChatPage, ConversationPage},
    home::HomePage,
    imports::ImportPage,
    login::LoginPage,
    not_found::NotFound,
    recovery::{ForgotPasswordPage, ResetPasswordPage, VerifyEmailPage},
    search::SearchPage,
    signup::SignupPage,
    tasks::TasksPage,
};

/// Progressive enhancement from the first moment, before the WASM arrives (see the file).
const EARLY_FORMS_JS: &str = include_str!("early_forms.js");

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                // Enter sends a message, and a ticked box saves, even before the WASM above has arrived.
                <script nonce=leptos::nonce::use_nonce() inner_html=EARLY_FORMS_JS></script>
                // Outside the hydrated body: without JavaScript, reveal the forms that scripts would toggle.
                <noscript><link rel="stylesheet" href="/noscript.css"/></noscript>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    Auth::provide();

    view! {
        <Stylesheet id="parley" href="/pkg/parley.css"/>
        <Title formatter=|page: String| {
            if page.is_empty() { "Parley".to_owned() } else { format!("{page} · Parley") }
        }/>
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <SiteHeader/>
            <main id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage/>
                    <Route path=path!("/signup") view=SignupPage/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/forgot-password") view=ForgotPasswordPage/>
                    <Route path=path!("/reset-password") view=ResetPasswordPage/>
                    <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::Async/>
                    // Pages behind an account render whole on the server, so that a signed-out visitor gets
                    // a real redirect status before any HTML is sent.
                    <Route path=path!("/chat") view=ChatPage ssr=SsrMode::Async/>
                    <Route path=path!("/chat/:id") view=ConversationPage ssr=SsrMode::Async/>
                    <Route path=path!("/search") view=SearchPage ssr=SsrMode::Async/>
                    <Route path=path!("/tasks") view=TasksPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/imports/:id") view=ImportPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <SiteFooter/>
        </Router>
    }
}
