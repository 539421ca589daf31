use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::form::{Field, FormAlert, failed, form_level_message};
use crate::server_fns::accounts::Login;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = failed(login.value().get_untracked());
    let field = |name: &str| error.as_ref().map(|e| e.field(name)).unwrap_or_default();
    let email_errors = field("email");
    let password_errors = field("password");
    // Where to go after logging in; the server accepts only paths of this site.
    let next = use_query_map().with_untracked(|q| q.get("next")).unwrap_or_default();

    let alert = error.as_ref().and_then(form_level_message);
    let reset = use_query_map().with_untracked(|q| q.get("reset")).is_some();
    view! {
        <Title text="Log in"/>
        <section class="auth-card">
            <h1>"Log in"</h1>
            {reset.then(|| view! {
                <p class="form-success" role="status">"Your password was changed and every session signed out. Log in with your new password."</p>
            })}
            <ActionForm action=login attr:data-enhance="">
                <FormAlert message=alert/>
                <input type="hidden" name="next" value=next/>
                <Field
                    id="login-email"
                    name="email"
                    label="Email"
                    input_type="email"
                    autocomplete="username"
                    required=true
                    errors=email_errors
                />
                <Field
                    id="login-password"
                    name="password"
                    label="Password"
                    input_type="password"
                    autocomplete="current-password"
                    required=true
                    errors=password_errors
                />
                <button type="submit" class="button primary" data-pending-label="Logging in…">"Log in"</button>
            </ActionForm>
            <p class="aside"><a href="/forgot-password">"Forgot password?"</a></p>
            <p class="aside">"New to Parley? " <a href="/signup">"Create an account"</a></p>
        </section>
    }
}
