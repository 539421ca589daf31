use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::{
    auth::{Auth, RequireUser},
    form::{focus_first_error, form_level_message, Field, FormAlert},
    password_checklist::PasswordChecklist,
};
use crate::server_fns::accounts::{ChangePassword, DeleteAccount, FormError, SignOutEverywhere, UpdateDisplayName};

/// Field errors of an action's last result, per field name.
fn field_errors(result: Signal<Option<Result<(), FormError>>>, name: &'static str) -> Signal<Vec<String>> {
    Signal::derive(move || result.get().and_then(Result::err).map(|e| e.field(name)).unwrap_or_default())
}

fn alert_of(result: Signal<Option<Result<(), FormError>>>) -> Signal<Option<String>> {
    Signal::derive(move || result.get().and_then(Result::err).as_ref().and_then(form_level_message))
}

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Title text="Account"/>
        <RequireUser>
            <AccountSettings/>
        </RequireUser>
    }
}

#[component]
fn AccountSettings() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let query = use_query_map();
    let updated = move || query.with(|q| q.get("updated"));
    let status = move || match updated().as_deref() {
        Some("profile") => Some("Your display name was saved."),
        Some("password") => Some("Your password was changed. Every other session has been signed out."),
        _ => None,
    };

    let rename = ServerAction::<UpdateDisplayName>::new();
    let change_password = ServerAction::<ChangePassword>::new();
    let sign_out_everywhere = ServerAction::<SignOutEverywhere>::new();
    let delete = ServerAction::<DeleteAccount>::new();
    for version in [rename.version(), sign_out_everywhere.version(), delete.version()] {
        Effect::watch(move || version.get(), move |_, _, _| auth.changed(), false);
    }
    focus_first_error(rename.value().into());
    focus_first_error(change_password.value().into());
    focus_first_error(delete.value().into());

    let (new_password, set_new_password) = signal(String::new());
    let current_name = Signal::derive(move || {
        auth.user.get().and_then(Result::ok).flatten().and_then(|u| u.display_name).unwrap_or_default()
    });
    let email = Signal::derive(move || auth.user.get().and_then(Result::ok).flatten().map(|u| u.email).unwrap_or_default());

    view! {
        <section class="account">
            <h1>"Account"</h1>
            <p class="muted">"Signed in as " <strong>{email}</strong></p>
            <Show when=move || status().is_some()>
                <p class="form-success" role="status">{status}</p>
            </Show>

            <section class="panel" aria-labelledby="profile-heading">
                <h2 id="profile-heading">"Profile"</h2>
                <FormAlert message=alert_of(rename.value().into())/>
                <ActionForm action=rename>
                    <Field
                        id="account-display-name"
                        name="display_name"
                        label="Display name"
                        autocomplete="nickname"
                        required=true
                        maxlength="80"
                        value=current_name.get_untracked()
                        errors=field_errors(rename.value().into(), "display_name")
                    />
                    <button type="submit" class="button" disabled=move || rename.pending().get()>"Save display name"</button>
                </ActionForm>
            </section>

            <section class="panel" aria-labelledby="password-heading">
                <h2 id="password-heading">"Change password"</h2>
                <FormAlert message=alert_of(change_password.value().into())/>
                <ActionForm action=change_password>
                    <Field
                        id="account-current-password"
                        name="current_password"
                        label="Current password"
                        input_type="password"
                        autocomplete="current-password"
                        required=true
                        errors=field_errors(change_password.value().into(), "current_password")
                    />
                    <Field
                        id="account-new-password"
                        name="new_password"
                        label="New password"
                        input_type="password"
                        autocomplete="new-password"
                        required=true
                        described_by="account-new-password-rules"
                        on_input=Callback::new(move |value| set_new_password.set(value))
                        errors=field_errors(change_password.value().into(), "new_password")
                    >
                        <PasswordChecklist password=new_password id="account-new-password-rules"/>
                    </Field>
                    <Field
                        id="account-new-password-confirm"
                        name="new_password_confirm"
                        label="Confirm new password"
                        input_type="password"
                        autocomplete="new-password"
                        required=true
                        errors=field_errors(change_password.value().into(), "new_password_confirm")
                    />
                    <button type="submit" class="button" disabled=move || change_password.pending().get()>
                        "Change password"
                    </button>
                </ActionForm>
            </section>

            <section class="panel" aria-labelledby="sessions-heading">
                <h2 id="sessions-heading">"Sessions"</h2>
                <p>"Signs out every browser and app that uses your account, this one included."</p>
                <FormAlert message=alert_of(sign_out_everywhere.value().into())/>
                <ActionForm action=sign_out_everywhere>
                    <button type="submit" class="button">"Sign out everywhere"</button>
                </ActionForm>
            </section>

            <section class="panel danger" aria-labelledby="delete-heading">
                <h2 id="delete-heading">"Delete account"</h2>
                <p>"This permanently deletes your account and all of your conversations. It cannot be undone."</p>
                <FormAlert message=alert_of(delete.value().into())/>
                <ActionForm action=delete>
                    <Field
                        id="account-delete-password"
                        name="password"
                        label="Password"
                        input_type="password"
                        autocomplete="current-password"
                        required=true
                        errors=field_errors(delete.value().into(), "password")
                    />
                    <button type="submit" class="button danger" disabled=move || delete.pending().get()>
                        "Delete my account"
                    </button>
                </ActionForm>
            </section>
        </section>
    }
}
