use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{
    form::{Field, FormAlert, failed, form_level_message},
    password_checklist::PasswordChecklist,
};
use crate::server_fns::accounts::{FormError, Signup};

#[component]
pub fn SignupPage() -> impl IntoView {
    let signup = ServerAction::<Signup>::new();
    let error = failed(signup.value().get_untracked());
    let field = |name: &str| error.as_ref().map(|e| e.field(name)).unwrap_or_default();
    let display_name_errors = field("display_name");
    let password_errors = field("password");
    let password_confirm_errors = field("password_confirm");
    let email_taken = matches!(error, Some(FormError::EmailTaken));
    let mut email_errors = field("email");
    if email_taken {
        email_errors.push(FormError::EmailTaken.to_string());
    }

    let alert = error.as_ref().and_then(form_level_message);
    view! {
        <Title text="Sign up"/>
        <section class="auth-card">
            <h1>"Create your account"</h1>
            <ActionForm action=signup attr:data-enhance="">
                <FormAlert message=alert/>
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
                    <p class="field-hint" data-shown-on-error="email_taken" hidden=!email_taken>
                        "Is it yours? " <a href="/login">"Log in instead"</a>
                    </p>
                </Field>
                <Field
                    id="signup-display-name"
                    name="display_name"
                    label="Display name (optional)"
                    autocomplete="nickname"
                    maxlength="80"
                    errors=display_name_errors
                />
                <Field
                    id="signup-password"
                    name="password"
                    label="Password"
                    input_type="password"
                    autocomplete="new-password"
                    required=true
                    errors=password_errors
                    described_by="signup-password-rules"
                >
                    <PasswordChecklist id="signup-password-rules".to_owned() input="signup-password".to_owned() guard_submit=true/>
                </Field>
                <Field
                    id="signup-password-confirm"
                    name="password_confirm"
                    label="Confirm password"
                    input_type="password"
                    autocomplete="new-password"
                    required=true
                    errors=password_confirm_errors
                />
                <button type="submit" class="button primary" data-pending-label="Creating account…">
                    "Create account"
                </button>
            </ActionForm>
            <p class="aside">"Already have an account? " <a href="/login">"Log in"</a></p>
        </section>
    }
}
