//! Building blocks shared by every form: labelled fields with inline errors and the form-level alert.
//!
//! They render on the server. After a plain (no-JavaScript) post that failed, the server renders the
//! error it put in the URL; in the browser, `crate::enhance` writes errors into the same elements.

use leptos::prelude::*;

use crate::server_fns::accounts::FormError;

/// One labelled input with its inline error messages. The input points at its messages with
/// `aria-describedby` (that list first: `crate::enhance` writes into it) and is marked `aria-invalid`
/// while it has any.
#[component]
pub fn Field(
    /// The element id, also used to derive the error list's id.
    #[prop(into)]
    id: String,
    /// The form field name, which is the server function's argument name.
    #[prop(into)]
    name: String,
    #[prop(into)] label: String,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(default = false)] required: bool,
    #[prop(optional, into)] maxlength: Option<String>,
    /// The messages to show for this field (empty when it is fine).
    #[prop(optional)]
    errors: Vec<String>,
    /// Extra element ids describing the input (e.g. a password checklist).
    #[prop(optional, into)]
    described_by: Option<String>,
    /// The initial value.
    #[prop(optional, into)]
    value: Option<String>,
    /// Content after the input (e.g. a checklist or a hint).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let error_id = format!("{id}-errors");
    let describedby = match &described_by {
        Some(extra) => format!("{error_id} {extra}"),
        None => error_id.clone(),
    };
    let invalid = !errors.is_empty();
    view! {
        <div class="field" class:invalid=invalid>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=input_type
                autocomplete=autocomplete
                required=required
                maxlength=maxlength
                value=value
                aria-invalid=if invalid { "true" } else { "false" }
                aria-describedby=describedby
            />
            {children.map(|c| c())}
            <ul id=error_id class="field-errors">
                {errors.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
            </ul>
        </div>
    }
}

/// The form-level message (errors that belong to no single field), announced to screen readers. Always
/// rendered, hidden while empty, so that `crate::enhance` has a place to write.
#[component]
pub fn FormAlert(message: Option<String>) -> impl IntoView {
    let hidden = message.is_none();
    view! {
        <div class="form-alert" role="alert" tabindex="-1" hidden=hidden>
            <p>{message}</p>
        </div>
    }
}

/// The sentence for errors that are not tied to one field.
pub fn form_level_message(error: &FormError) -> Option<String> {
    match error {
        FormError::Fields(_) | FormError::EmailTaken => None,
        other => Some(other.to_string()),
    }
}

/// What a server-rendered form shows after a plain post that failed: the error the server function put
/// in the URL, read by the action (on the server only; `None` in the browser and after a success).
pub fn failed<T>(result: Option<Result<T, FormError>>) -> Option<FormError> {
    result.and_then(Result::err)
}
