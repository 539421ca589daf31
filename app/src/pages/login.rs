use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::components::{
    auth::Auth,
    form::{focus_first_error, form_level_message, Field, FormAlert},
};
use crate::server_fns::accounts::Login;

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let login = ServerAction::<Login>::new();
    let result = login.value();
    Effect::watch(
        move || login.version().get(),
        move |_, _, _| {
            if matches!(result.get_untracked(), Some(Ok(()))) {
                auth.changed();
            }
        },
        false,
    );
    focus_first_error(result.into());

    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let error = move || result.get().and_then(Result::err);
    let field = move |name: &'static str| Signal::derive(move || error().map(|e| e.field(name)).unwrap_or_default());
    let alert = Signal::derive(move || error().as_ref().and_then(form_level_message));

    view! {
        <Title text="Log in"/>
        <section class="auth-card">
            <h1>"Log in"</h1>
            <FormAlert message=alert/>
            <ActionForm action=login>
                <input type="hidden" name="next" value=next/>
                <Field
                    id="login-email"
                    name="email"
                    label="Email"
                    input_type="email"
                    autocomplete="username"
                    required=true
                    errors=field("email")
                />
                <Field
                    id="login-password"
                    name="password"
                    label="Password"
                    input_type="password"
                    autocomplete="current-password"
                    required=true
                    errors=field("password")
                />
                <button type="submit" class="button primary" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Logging in…" } else { "Log in" }}
                </button>
            </ActionForm>
            <p class="aside">"New to Parley? " <A href="/signup">"Create an account"</A></p>
        </section>
    }
}
