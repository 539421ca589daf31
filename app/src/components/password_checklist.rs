use leptos::prelude::*;

use crate::domain::password::check_password;

/// The live list of password rules under a password field. Each rule says in words whether it is met, so
/// the state does not depend on colour or icons alone; the list is a polite live region so screen readers
/// hear changes without losing their place.
#[component]
pub fn PasswordChecklist(
    /// The password as currently typed.
    #[prop(into)]
    password: Signal<String>,
    /// The id the password input points at with `aria-describedby`.
    #[prop(into)]
    id: String,
) -> impl IntoView {
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
