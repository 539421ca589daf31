use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::{
    auth::{Auth, RequireUser},
    form::{failed, form_level_message, Field, FormAlert},
    password_checklist::PasswordChecklist,
};
use crate::server_fns::accounts::{
    ChangePassword, DeleteAccount, FormError, SignOutEverywhere, UpdateDisplayName, UpdateInstructions,
};

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
    let user = auth.user.get_untracked().and_then(Result::ok).flatten();
    let email = user.as_ref().map(|u| u.email.clone()).unwrap_or_default();
    let instructions = user.as_ref().and_then(|u| u.instructions.clone()).unwrap_or_default();
    let display_name = user.and_then(|u| u.display_name).unwrap_or_default();
    // The server's redirect after a change says what changed.
    let status = match use_query_map().with_untracked(|q| q.get("updated")).as_deref() {
        Some("profile") => Some("Your display name was saved."),
        Some("instructions") => Some("Your instructions were saved. The assistant follows them from your next message."),
        Some("password") => Some("Your password was changed. Every other session has been signed out."),
        _ => None,
    };

    let rename = ServerAction::<UpdateDisplayName>::new();
    let instruct = ServerAction::<UpdateInstructions>::new();
    let instructions_error = failed(instruct.value().get_untracked());
    let instructions_errors = instructions_error.as_ref().map(|e| e.field("instructions")).unwrap_or_default();
    let change_password = ServerAction::<ChangePassword>::new();
    let sign_out_everywhere = ServerAction::<SignOutEverywhere>::new();
    let delete = ServerAction::<DeleteAccount>::new();
    // After a plain post that failed, the error the server put in the URL (one form at a time).
    let rename_error = failed(rename.value().get_untracked());
    let password_error = failed(change_password.value().get_untracked());
    let sessions_error = failed(sign_out_everywhere.value().get_untracked());
    let delete_error = failed(delete.value().get_untracked());
    let field = |error: &Option<FormError>, name: &str| error.as_ref().map(|e| e.field(name)).unwrap_or_default();
    let alert = |error: &Option<FormError>| error.as_ref().and_then(form_level_message);

    view! {
        <section class="account">
            <h1>"Account"</h1>
            <p class="muted">"Signed in as " <strong>{email}</strong></p>
            {status.map(|message| view! { <p class="form-success" role="status">{message}</p> })}

            <section class="panel" aria-labelledby="profile-heading">
                <h2 id="profile-heading">"Profile"</h2>
                <ActionForm action=rename attr:data-enhance="">
                    <FormAlert message=alert(&rename_error)/>
                    <Field
                        id="account-display-name"
                        name="display_name"
                        label="Display name"
                        autocomplete="nickname"
                        required=true
                        maxlength="80"
                        value=display_name
                        errors=field(&rename_error, "display_name")
                    />
                    <button type="submit" class="button" data-pending-label="Saving…">"Save display name"</button>
                </ActionForm>
            </section>

            <section class="panel" aria-labelledby="instructions-heading">
                <h2 id="instructions-heading">"Instructions for the assistant"</h2>
                <p class="muted">"What the assistant should know about you and your goals. It reads them before every conversation."</p>
                <ActionForm action=instruct attr:data-enhance="">
                    <FormAlert message=alert(&instructions_error)/>
                    <div class="field">
                        <label for="account-instructions">"Instructions"</label>
                        <textarea id="account-instructions" name="instructions" rows="5" maxlength="4000"
                            aria-describedby="account-instructions-errors"
                            aria-invalid=if instructions_errors.is_empty() { "false" } else { "true" }>{instructions}</textarea>
                        <ul id="account-instructions-errors" class="field-errors">
                            {instructions_errors.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
                        </ul>
                    </div>
                    <button type="submit" class="button" data-pending-label="Saving…">"Save instructions"</button>
                </ActionForm>
            </section>

            <section class="panel" aria-labelledby="password-heading">
                <h2 id="password-heading">"Change password"</h2>
                <ActionForm action=change_password attr:data-enhance="">
                    <FormAlert message=alert(&password_error)/>
                    <Field
                        id="account-current-password"
                        name="current_password"
                        label="Current password"
                        input_type="password"
                        autocomplete="current-password"
                        required=true
                        errors=field(&password_error, "current_password")
                    />
                    <Field
                        id="account-new-password"
                        name="new_password"
                        label="New password"
                        input_type="password"
                        autocomplete="new-password"
                        required=true
                        described_by="account-new-password-rules"
                        errors=field(&password_error, "new_password")
                    >
                        <PasswordChecklist id="account-new-password-rules".to_owned() input="account-new-password".to_owned() guard_submit=false/>
                    </Field>
                    <Field
                        id="account-new-password-confirm"
                        name="new_password_confirm"
                        label="Confirm new password"
                        input_type="password"
                        autocomplete="new-password"
                        required=true
                        errors=field(&password_error, "new_password_confirm")
                    />
                    <button type="submit" class="button" data-pending-label="Changing password…">"Change password"</button>
                </ActionForm>
            </section>

            <section class="panel" aria-labelledby="sessions-heading">
                <h2 id="sessions-heading">"Sessions"</h2>
                <p>"Signs out every browser and app that uses your account, this one included."</p>
                <ActionForm action=sign_out_everywhere attr:data-enhance="">
                    <FormAlert message=alert(&sessions_error)/>
                    <button type="submit" class="button">"Sign out everywhere"</button>
                </ActionForm>
            </section>

            <section class="panel danger" aria-labelledby="delete-heading">
                <h2 id="delete-heading">"Delete account"</h2>
                <p>"This permanently deletes your account and all of your conversations. It cannot be undone."</p>
                <ActionForm action=delete attr:data-enhance="">
                    <FormAlert message=alert(&delete_error)/>
                    <Field
                        id="account-delete-password"
                        name="password"
                        label="Password"
                        input_type="password"
                        autocomplete="current-password"
                        required=true
                        errors=field(&delete_error, "password")
                    />
                    <button type="submit" class="button danger" data-pending-label="Deleting…">"Delete my account"</button>
                </ActionForm>
            </section>
        </section>
    }
}
