use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{
    form::{Field, FormAlert, failed, form_level_message},
    password_checklist::PasswordChecklist,
};
use crate::server_fns::accounts::{FormError, Signup, SignupSettings};

#[component]
pub fn SignupPage() -> impl IntoView {
    let signup = ServerAction::<Signup>::new();
    let error = failed(signup.value().get_untracked());
    let field = |name: &str| error.as_ref().map(|e| e.field(name)).unwrap_or_default();
    let display_name_errors = field("display_name");
    let password_errors = field("password");
    let password_confirm_errors = field("password_confirm");
    let goals_errors = field("goals");
    let terms_errors = field("accept_terms");
    let terms_url = use_context::<SignupSettings>().and_then(|s| s.terms_url);
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
                <GoalsField errors=goals_errors/>
                {terms_url.map(|url| view! { <TermsConsent url errors=terms_errors.clone()/> })}
                <button type="submit" class="button primary" data-pending-label="Creating account…">
                    "Create account"
                </button>
            </ActionForm>
            <p class="aside">"Already have an account? " <a href="/login">"Log in"</a></p>
        </section>
    }
}

/// "Your goals": optional, becomes the custom instructions (changeable later on the account page).
#[component]
fn GoalsField(errors: Vec<String>) -> impl IntoView {
    let invalid = !errors.is_empty();
    view! {
        <div class="field" class:invalid=invalid>
            <label for="signup-goals">"Your goals (optional)"</label>
            <textarea
                id="signup-goals"
                name="goals"
                rows="3"
                maxlength="4000"
                aria-invalid=if invalid { "true" } else { "false" }
                aria-describedby="signup-goals-errors signup-goals-hint"
            ></textarea>
            <p class="field-hint" id="signup-goals-hint">
                "What you would like help with. The assistant keeps it in mind; change it any time on your account page."
            </p>
            <ul id="signup-goals-errors" class="field-errors">
                {errors.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
            </ul>
        </div>
    }
}

/// The consent box, when the site has terms (`PARLEY_TERMS_URL`): required by the browser and by the server.
#[component]
fn TermsConsent(url: String, errors: Vec<String>) -> impl IntoView {
    let invalid = !errors.is_empty();
    view! {
        <div class="field consent" class:invalid=invalid>
            <input
                type="checkbox"
                id="signup-accept-terms"
                name="accept_terms"
                value="true"
                required=true
                aria-invalid=if invalid { "true" } else { "false" }
                aria-describedby="signup-accept-terms-errors"
            />
            <label for="signup-accept-terms">
                "I accept the " <a href=url target="_blank" rel="noopener">"terms of service"</a>
            </label>
            <ul id="signup-accept-terms-errors" class="field-errors">
                {errors.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
            </ul>
        </div>
    }
}
