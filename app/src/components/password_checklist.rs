use leptos::prelude::*;

use crate::domain::password::check_password;

/// The live list of password rules under a password field. Each rule says in words whether it is met, so
/// the state does not depend on colour or icons alone; the list is a polite live region so screen readers
/// hear changes without losing their place.
///
/// An island: it follows the input named by `input` (by id) through the document's `input` events, so the
/// field itself stays plain server-rendered HTML. With `guard_submit`, the form's submit button stays
/// disabled until every rule is met (only once hydrated: without JavaScript, the server decides).
#[island]
pub fn PasswordChecklist(
    /// The id the password input points at with `aria-describedby`.
    id: String,
    /// The password input's id.
    input: String,
    guard_submit: bool,
) -> impl IntoView {
    let password = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let field = document().get_element_by_id(&input).and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok());
        if let Some(field) = field {
            // Text typed before the page hydrated raised no event the island saw: take it as it is once
            // hydrated (an effect runs after hydration, so the rules are redrawn, not just re-read).
            let typed = field.clone();
            Effect::new(move |_| password.set(typed.value()));
            let handle = window_event_listener(leptos::ev::input, move |ev| {
                let typed = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
                if let Some(typed) = typed.filter(|t| t.id() == input) {
                    password.set(typed.value());
                }
            });
            on_cleanup(move || handle.remove());
            if guard_submit {
                let button = field.form().and_then(|form| form.query_selector("button[type=submit]").ok().flatten());
                Effect::new(move |_| {
                    let met = password.with(|p| check_password(p).iter().all(|(_, met)| *met));
                    if let Some(button) = &button {
                        let _ = if met {
                            button.remove_attribute("disabled")
                        } else {
                            button.set_attribute("disabled", "")
                        };
                    }
                });
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (input, guard_submit);
    let checks = move || password.with(|candidate| check_password(candidate));

    view! {
        <ul id=id class="password-checklist" aria-live="polite">
            {move || {
                checks()
                    .into_iter()
                    .map(|(rule, met)| {
                        view! {
                            <li class:met=met data-met=met.to_string()>
                                <span class="rule-icon" aria-hidden="true">
                                    {if met { "✓" } else { "✗" }}
                                </span>
                                " "
                                {rule.label()}
                                <span class="visually-hidden">
                                    {if met { " (met)" } else { " (not met)" }}
                                </span>
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ul>
    }
}
