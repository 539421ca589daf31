use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::{
    auth::Auth,
    form::{focus_first_error, form_level_message, Field, FormAlert},
    password_checklist::PasswordChecklist,
};
use crate::domain::password::check_password;
use crate::server_fns::accounts::{FormError, Signup};

#[component]
pub fn SignupPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let signup = ServerAction::<Signup>::new();
    let result = signup.value();
    Effect::watch(
        move || signup.version().get(),
        move |_, _, _| {
            if matches!(result.get_untracked(), Some(Ok(()))) {
                auth.changed();
            }
        },
        false,
    );
    focus_first_error(result.into());

    let (password, set_password) = signal(String::new());
    // Until the WASM has hydrated, the server decides; blocking the button before then would lock out
    // people without JavaScript.
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    let policy_met = move || password.with(|p| check_password(p).iter().all(|(_, met)| *met));

    let error = move || result.get().and_then(Result::err);
    let field = move |name: &'static str| Signal::derive(move || error().map(|e| e.field(name)).unwrap_or_default());
    let email_taken = move || matches!(error(), Some(FormError::EmailTaken));
    let email_errors = Signal::derive(move || {
        let mut messages = field("email").get();
        if email_taken() {
            messages.push(FormError::EmailTaken.to_string());
        }
        messages
    });
    let alert = Signal::derive(move || error().as_ref().and_then(form_level_message));

    view! {
        <Title text="Sign up"/>
        <section class="auth-card">
            <h1>"Create your account"</h1>
            <FormAlert message=alert/>
            <ActionForm action=signup attr:novalidate=move || hydrated.get().then_some("")>
                <Field
                    id="signup-email"
                    name="email"
                    label="Email"
                    input_type="email"
                    autocomplete="email"
                    required=true
                    maxlength="254"
                    errors=email_errors
                >
                    <Show when=email_taken>
                        <p class="field-hint">
                            "Is it yours? " <A href="/login">"Log in instead"</A>
                        </p>
                    </Show>
                </Field>
                <Field
                    id="signup-display-name"
                    name="display_name"
                    label="Display name (optional)"
                    autocomplete="nickname"
                    maxlength="80"
                    errors=field("display_name")
                />
                <Field
                    id="signup-password"
                    name="password"
                    label="Password"
                    input_type="password"
                    autocomplete="new-password"
                    required=true
                    errors=field("password")
                    described_by="signup-password-rules"
                    on_input=Callback::new(move |value| set_password.set(value))
                >
                    <PasswordChecklist password=password id="signup-password-rules"/>
                </Field>
                <Field
                    id="signup-password-confirm"
                    name="password_confirm"
                    label="Confirm password"
                    input_type="password"
                    autocomplete="new-password"
                    required=true
                    errors=field("password_confirm")
                />
                <button
                    type="submit"
                    class="button primary"
                    disabled=move || hydrated.get() && (!policy_met() || signup.pending().get())
                >
                    {move || if signup.pending().get() { "Creating account…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p class="aside">"Already have an account? " <A href="/login">"Log in"</A></p>
        </section>
    }
}
