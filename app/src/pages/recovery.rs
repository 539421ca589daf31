//! Getting back in: "Forgot password?" (ask for a link), the page the link opens (choose a new password),
//! and the page a verification link opens. Plain forms and server-rendered results: all of it works
//! without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::{
    form::{Field, FormAlert, failed, form_level_message},
    password_checklist::PasswordChecklist,
};
use crate::server_fns::accounts::{FormError, RequestPasswordReset, ResetPassword, verify_email};

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let request = ServerAction::<RequestPasswordReset>::new();
    let error = failed(request.value().get_untracked());
    let email_errors = error.as_ref().map(|e| e.field("email")).unwrap_or_default();
    let alert = error.as_ref().and_then(form_level_message);
    let sent = use_query_map().with_untracked(|q| q.get("sent")).is_some();
    view! {
        <Title text="Forgot password"/>
        <section class="auth-card">
            <h1>"Forgot your password?"</h1>
            {if sent {
                view! {
                    <p class="form-success" role="status">
                        "If an account exists for that address, we have sent it a link to choose a new password. "
                        "The link works once, for 30 minutes. Check your spam folder if it does not arrive."
                    </p>
                }
                .into_any()
            } else {
                view! { <p class="muted">"Enter the email you signed up with and we will send you a link to choose a new password."</p> }.into_any()
            }}
            <ActionForm action=request attr:data-enhance="">
                <FormAlert message=alert/>
                <Field
                    id="forgot-email"
                    name="email"
                    label="Email"
                    input_type="email"
                    autocomplete="email"
                    required=true
                    errors=email_errors
                />
                <button type="submit" class="button primary" data-pending-label="Sending…">"Send reset link"</button>
            </ActionForm>
            <p class="aside"><a href="/login">"Back to log in"</a></p>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let reset = ServerAction::<ResetPassword>::new();
    let error = failed(reset.value().get_untracked());
    let field = |name: &str| error.as_ref().map(|e| e.field(name)).unwrap_or_default();
    let (password_errors, confirm_errors) = (field("password"), field("password_confirm"));
    // A used or expired link has no field of its own: it is the form's message.
    let alert = field("token").into_iter().next().or_else(|| error.as_ref().and_then(form_level_message));
    let token = use_query_map().with_untracked(|q| q.get("token")).unwrap_or_default();
    view! {
        <Title text="Choose a new password"/>
        <section class="auth-card">
            <h1>"Choose a new password"</h1>
            {if token.is_empty() {
                view! {
                    <p role="alert">"This link is incomplete. " <a href="/forgot-password">"Ask for a new one"</a> "."</p>
                }
                .into_any()
            } else {
                view! {
                    <ActionForm action=reset attr:data-enhance="">
                        <FormAlert message=alert/>
                        <input type="hidden" name="token" value=token/>
                        <Field
                            id="reset-password"
                            name="password"
                            label="New password"
                            input_type="password"
                            autocomplete="new-password"
                            required=true
                            described_by="reset-password-rules"
                            errors=password_errors
                        >
                            <PasswordChecklist id="reset-password-rules".to_owned() input="reset-password".to_owned() guard_submit=false/>
                        </Field>
                        <Field
                            id="reset-password-confirm"
                            name="password_confirm"
                            label="Confirm new password"
                            input_type="password"
                            autocomplete="new-password"
                            required=true
                            errors=confirm_errors
                        />
                        <button type="submit" class="button primary" data-pending-label="Saving…">"Set new password"</button>
                    </ActionForm>
                    <p class="aside">"Link not working? " <a href="/forgot-password">"Ask for a new one"</a></p>
                }
                .into_any()
            }}
        </section>
    }
}

/// The page a verification link opens: following the link is what verifies (it carries a single-use
/// token), so the result is rendered straight away.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let token = use_query_map().with_untracked(|q| q.get("token")).unwrap_or_default();
    let outcome = Resource::new_blocking(|| (), move |_| verify_email(token.clone()));
    view! {
        <Title text="Verify email"/>
        <section class="auth-card">
            <h1>"Verify your email"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Checking your link…"</p> }>
                {move || Suspend::new(async move {
                    match outcome.await {
                        Ok(()) => view! {
                            <p class="form-success" role="status">"Your email is verified. Thank you!"</p>
                            <p><a class="button primary" href="/account">"Go to your account"</a></p>
                        }
                        .into_any(),
                        Err(FormError::EmailTaken) => view! {
                            <p role="alert">"Another account took this address meanwhile, so your email stays as it was."</p>
                        }
                        .into_any(),
                        Err(FormError::Fields(_)) => view! {
                            <p role="alert">
                                "This verification link is not valid any more: it was used already, or it expired. "
                                "You can ask for a new one on your account page."
                            </p>
                            <p><a class="button" href="/account">"Go to your account"</a></p>
                        }
                        .into_any(),
                        Err(other) => view! { <p role="alert">{other.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
