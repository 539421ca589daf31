use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::{
    auth::{Auth, RequireUser},
    form::{Field, FormAlert, failed, form_level_message},
    password_checklist::PasswordChecklist,
    time::{RelativeTime, use_now},
};
use crate::domain::user_agent;
use crate::pages::imports::ImportState;
use crate::server_fns::accounts::{
    ChangeEmail, ChangePassword, DeleteAccount, EndSession, FormError, ResendVerification, SessionView,
    SignOutEverywhere, UpdateDisplayName, UpdateInstructions, list_sessions,
};
use crate::server_fns::imports::recent_imports;

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
    let verified = user.as_ref().is_some_and(|u| u.email_verified);
    let instructions = user.as_ref().and_then(|u| u.instructions.clone()).unwrap_or_default();
    let terms_accepted = user.as_ref().and_then(|u| u.terms_accepted_at.clone());
    let display_name = user.and_then(|u| u.display_name).unwrap_or_default();
    // The server's redirect after a change says what changed.
    let status = match use_query_map().with_untracked(|q| q.get("updated")).as_deref() {
        Some("profile") => Some("Your display name was saved."),
        Some("instructions") => {
            Some("Your instructions were saved. The assistant follows them from your next message.")
        }
        Some("password") => Some("Your password was changed. Every other session has been signed out."),
        Some("email") => {
            Some("Check your inbox: we sent a link to the new address. Your email changes when you open it.")
        }
        Some("verification") => Some("We sent you a new verification link. It works for 24 hours."),
        Some("session") => Some("That session was ended: it is signed out."),
        _ => None,
    };

    let rename = ServerAction::<UpdateDisplayName>::new();
    let instruct = ServerAction::<UpdateInstructions>::new();
    let instructions_error = failed(instruct.value().get_untracked());
    let instructions_errors = instructions_error.as_ref().map(|e| e.field("instructions")).unwrap_or_default();
    let change_password = ServerAction::<ChangePassword>::new();
    let sign_out_everywhere = ServerAction::<SignOutEverywhere>::new();
    let delete = ServerAction::<DeleteAccount>::new();
    let change_email = ServerAction::<ChangeEmail>::new();
    let resend = ServerAction::<ResendVerification>::new();
    let end_session = ServerAction::<EndSession>::new();
    let email_error = failed(change_email.value().get_untracked());
    let resend_error = failed(resend.value().get_untracked());
    let end_session_error = failed(end_session.value().get_untracked());
    let sessions = Resource::new(|| (), |_| list_sessions());
    let now = use_now();
    // After a plain post that failed, the error the server put in the URL (one form at a time).
    let rename_error = failed(rename.value().get_untracked());
    let password_error = failed(change_password.value().get_untracked());
    let sessions_error = failed(sign_out_everywhere.value().get_untracked());
    let delete_error = failed(delete.value().get_untracked());
    // An upload refused before it could be queued comes back here with what was wrong.
    let import_problem = use_query_map().with_untracked(|q| q.get("import")).and_then(|problem| {
        Some(match problem.as_str() {
            "empty" => "The file you chose is empty. Choose the export file itself.".to_owned(),
            "too_large" => "This file is larger than Parley accepts. Import the zip or the JSON file alone.".to_owned(),
            "cut_off" => "The upload stopped before the end of the file. Please try again.".to_owned(),
            "missing" => "Choose a file to import.".to_owned(),
            "unavailable" => "Parley is temporarily unavailable. Please try again in a moment.".to_owned(),
            _ => return None,
        })
    });
    let imports = Resource::new(|| (), |_| recent_imports());
    let field = |error: &Option<FormError>, name: &str| error.as_ref().map(|e| e.field(name)).unwrap_or_default();
    let alert = |error: &Option<FormError>| error.as_ref().and_then(form_level_message);

    view! {
        <section class="account">
            <h1>"Account"</h1>
            <p class="muted">"Signed in as " <strong>{email}</strong></p>
            {terms_accepted.map(|at| {
                let day = at.get(..10).unwrap_or(&at).to_owned();
                view! { <p class="muted">"You accepted the terms of service on " <time datetime=at>{day}</time> "."</p> }
            })}
            {status.map(|message| view! { <p class="form-success" role="status">{message}</p> })}

            <section class="panel" aria-labelledby="email-heading">
                <h2 id="email-heading">"Email"</h2>
                // The address itself is shown once, above ("Signed in as"); here, whether it is proven.
                <p>
                    "Your address: "
                    {if verified {
                        view! { <span class="badge ok">"Verified"</span> }.into_any()
                    } else {
                        view! { <span class="badge">"Not verified"</span> }.into_any()
                    }}
                </p>
                {(!verified).then(|| view! {
                    <ActionForm action=resend attr:data-enhance="" attr:class="inline-form">
                        <FormAlert message=alert(&resend_error)/>
                        <p class="muted">"We sent a link to this address when you signed up. Lost it?"</p>
                        <button type="submit" class="button" data-pending-label="Sending…">"Send verification link"</button>
                    </ActionForm>
                })}
                <ActionForm action=change_email attr:data-enhance="">
                    <FormAlert message=alert(&email_error)/>
                    <Field
                        id="account-new-email"
                        name="email"
                        label="New email"
                        input_type="email"
                        autocomplete="email"
                        required=true
                        errors=field(&email_error, "email")
                    />
                    <Field
                        id="account-email-password"
                        name="current_password"
                        label="Your password"
                        input_type="password"
                        autocomplete="current-password"
                        required=true
                        errors=field(&email_error, "current_password")
                    />
                    <p class="muted">"We send a link to the new address. Your email changes when you open it."</p>
                    <button type="submit" class="button" data-pending-label="Sending…">"Change email"</button>
                </ActionForm>
            </section>

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
                <p class="muted">"Where your account is signed in: browsers, and apps using the API."</p>
                <FormAlert message=alert(&end_session_error)/>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match sessions.await {
                            Ok(list) => view! {
                                <ul class="session-list">
                                    {list.into_iter().map(|s| view! { <SessionItem session=s now/> }).collect_view()}
                                </ul>
                            }
                            .into_any(),
                            Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
                <p>"Signs out every browser and app that uses your account, this one included."</p>
                <ActionForm action=sign_out_everywhere attr:data-enhance="">
                    <FormAlert message=alert(&sessions_error)/>
                    <button type="submit" class="button">"Sign out everywhere"</button>
                </ActionForm>
            </section>

            <section class="panel" aria-labelledby="export-heading">
                <h2 id="export-heading">"Your data"</h2>
                <p>"Download everything you have in Parley: your profile, every conversation with all its messages, and your tasks."</p>
                <p class="button-row">
                    <a class="button" href="/api/v1/me/export" download="">"Download as JSON"</a>
                    <a class="button" href="/api/v1/me/export?format=markdown" download="">"Download as Markdown (zip)"</a>
                </p>
            </section>

            <section class="panel" aria-labelledby="import-heading">
                <h2 id="import-heading">"Import your history"</h2>
                <p>
                    "Bring your conversations from ChatGPT (the zip it emails you, or the conversations.json in it), "
                    "Open WebUI (its chat export) or another Parley (Download as JSON). Importing the same file again "
                    "adds nothing; a newer export adds only what is new."
                </p>
                <FormAlert message=import_problem/>
                // A plain multipart form, before and after the WASM: the file streams to the server as it is.
                <form class="import-form" method="post" action="/account/import" enctype="multipart/form-data">
                    <p class="field">
                        <label for="import-file">"Export file"</label>
                        <input
                            id="import-file"
                            type="file"
                            name="file"
                            accept=".json,.zip,application/json,application/zip"
                            required
                        />
                    </p>
                    <button type="submit" class="button">"Import"</button>
                </form>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list = imports.await.unwrap_or_default();
                        (!list.is_empty()).then(|| view! {
                            <h3>"Recent imports"</h3>
                            <ul class="import-list">
                                {list.into_iter().map(|import| {
                                    let href = format!("/imports/{}", import.id);
                                    let day = import.created_at.get(..10).unwrap_or_default().to_owned();
                                    view! {
                                        <li>
                                            <a href=href>"Import of " <time datetime=import.created_at.clone()>{day}</time></a>
                                            <ImportState import/>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        })
                    })}
                </Suspense>
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

/// One place the account is signed in, with the button that ends it.
#[component]
fn SessionItem(session: SessionView, now: Signal<i64>) -> impl IntoView {
    let device = user_agent::describe(session.user_agent.as_deref());
    let kind = if session.kind == "api" { "App (API)" } else { "Browser" };
    let label = format!("{device} · {kind}");
    let ended_label = format!("End session: {label}");
    let end_url = <EndSession as leptos::server_fn::ServerFn>::url();
    view! {
        <li class="session" class:current=session.current>
            <div class="session-about">
                <strong>{label}</strong>
                {session.current.then(|| view! { " " <span class="badge ok">"This browser"</span> })}
                <br/>
                <span class="muted">
                    {session.ip.map(|ip| format!("IP {ip} · "))}
                    "signed in " <RelativeTime at=session.created_at now/>
                    " · last seen " <RelativeTime at=session.last_seen_at now/>
                </span>
            </div>
            <form method="post" action=end_url data-enhance="">
                <input type="hidden" name="id" value=session.id/>
                <button type="submit" class="button small" aria-label=ended_label data-pending-label="Ending…">"End session"</button>
            </form>
        </li>
    }
}
