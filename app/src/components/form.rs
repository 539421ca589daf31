//! Building blocks shared by every form: labelled fields with inline errors, the form-level alert, and
//! focus management after a failed submit.

use leptos::prelude::*;

use crate::server_fns::accounts::FormError;

/// One labelled input with its inline error messages. The input points at its messages with
/// `aria-describedby` and is marked `aria-invalid` while it has any.
#[component]
pub fn Field(
    /// The element id, also used to derive the error list's id.
    #[prop(into)]
    id: String,
    /// The form field name, which is the server function's argument name.
    #[prop(into)]
    name: String,
    #[prop(into)]
    label: String,
    #[prop(default = "text")]
    input_type: &'static str,
    #[prop(optional)]
    autocomplete: Option<&'static str>,
    #[prop(default = false)]
    required: bool,
    #[prop(optional, into)]
    maxlength: Option<String>,
    /// The messages to show for this field (empty when it is fine).
    #[prop(into)]
    errors: Signal<Vec<String>>,
    /// Extra element ids describing the input (e.g. a password checklist).
    #[prop(optional, into)]
    described_by: Option<String>,
    /// The initial value.
    #[prop(optional, into)]
    value: Option<String>,
    /// Called with the new value on every keystroke.
    #[prop(optional, into)]
    on_input: Option<Callback<String>>,
    /// Content after the input (e.g. a checklist or a hint).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let error_id = format!("{id}-errors");
    let describedby = match &described_by {
        Some(extra) => format!("{error_id} {extra}"),
        None => error_id.clone(),
    };
    let invalid = move || errors.with(|e| !e.is_empty());
    let input_ref = NodeRef::<leptos::html::Input>::new();
    // Text typed before the page hydrated raised no input event that the app saw (on a slow connection
    // that can be a whole password): report it once, when the browser takes over.
    Effect::new(move |_| {
        if let (Some(input), Some(callback)) = (input_ref.get(), on_input) {
            let value = input.value();
            if !value.is_empty() {
                callback.run(value);
            }
        }
    });
    view! {
        <div class="field" class:invalid=invalid>
            <label for=id.clone()>{label}</label>
            <input
                node_ref=input_ref
                id=id
                name=name
                type=input_type
                autocomplete=autocomplete
                required=required
                maxlength=maxlength
                value=value
                aria-invalid=move || if invalid() { "true" } else { "false" }
                aria-describedby=describedby
                on:input=move |ev| {
                    if let Some(callback) = on_input {
                        callback.run(event_target_value(&ev));
                    }
                }
            />
            {children.map(|c| c())}
            <ul id=error_id class="field-errors">
                {move || errors.get().into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
            </ul>
        </div>
    }
}

/// The form-level message (errors that belong to no single field), announced to screen readers.
#[component]
pub fn FormAlert(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.with(Option::is_some)>
            <div class="form-alert" role="alert" tabindex="-1">
                <p>{move || message.get()}</p>
            </div>
        </Show>
    }
}

/// The sentence for errors that are not tied to one field.
pub fn form_level_message(error: &FormError) -> Option<String> {
    match error {
        FormError::Fields(_) | FormError::EmailTaken => None,
        other => Some(other.to_string()),
    }
}

/// After a failed submit, moves keyboard focus to the first invalid field, or to the form's alert, so
/// that keyboard and screen-reader users land on what needs fixing. Runs in the browser only.
pub fn focus_first_error<T: Send + Sync + 'static>(result: Signal<Option<Result<T, FormError>>>) {
    Effect::new(move |_| {
        let failed = result.with(|r| matches!(r, Some(Err(_))));
        if !failed {
            return;
        }
        request_animation_frame(|| {
            use leptos::wasm_bindgen::JsCast;
            let target = document()
                .query_selector("main [aria-invalid='true'], main [role='alert']")
                .ok()
                .flatten()
                .and_then(|element| element.dyn_into::<leptos::web_sys::HtmlElement>().ok());
            if let Some(element) = target {
                let _ = element.focus();
            }
        });
    });
}
