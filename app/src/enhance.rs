//! Progressive enhancement for the site's forms, in the browser only.
//!
//! Every form is server-rendered HTML that works as a plain post: the server function runs, and the
//! browser follows its redirect (or, on an error, comes back to the page with the error in the URL, and
//! the server renders it next to the field). Once the WASM is in, a form marked `data-enhance` is instead
//! posted with `fetch`, so that on an error nothing typed is lost: the messages are written into the same
//! places the server would have rendered them, and focus moves to the first one. A success follows the
//! server's redirect as a page load, as without JavaScript.
//!
//! This is plain DOM code, not a Leptos island: a dozen forms share it, and one listener on the document
//! costs the bundle a few kilobytes where an island per form cost tens.
//!
//! The markup it relies on (rendered by `components::form`):
//! - a field's messages go in the element named first in its input's `aria-describedby`;
//! - the form-level message goes in the form's `.form-alert` (its `<p>`);
//! - an element with `data-shown-on-error="<kind>"` is revealed for that error (e.g. `email_taken`);
//! - a submit button's `data-pending-label` replaces its text while the post is on its way.

use leptos::prelude::{document, window};
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Element, Event, HtmlElement, HtmlFormElement, Response};

use crate::components::form::form_level_message;
use crate::server_fns::accounts::FormError;

/// The header a server function sets, beside `Location`, when it redirects a `fetch` (not a plain post).
const REDIRECT_HEADER: &str = "serverfnredirect";

/// Starts enhancing every `form[data-enhance]` on the page, present or future (one delegated listener).
pub fn install() {
    let on_submit = Closure::<dyn Fn(Event)>::new(on_submit);
    let _ = document().add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
    // The listener lives as long as the page.
    on_submit.forget();
}

/// Loads `target` the way a plain form post would have: a redirect to this very page reloads it, so it
/// shows what changed; the fragment alone never decides.
pub fn navigate(target: &str) {
    let location = window().location();
    let here = format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default());
    let without_fragment = target.split('#').next().unwrap_or(target);
    if without_fragment == here {
        let _ = location.reload();
    } else {
        let _ = location.assign(target);
    }
}

fn on_submit(event: Event) {
    // A form an island handles itself (the conversation composer) has prevented the default already.
    if event.default_prevented() {
        return;
    }
    let Some(form) = event.target().and_then(|target| target.dyn_into::<HtmlFormElement>().ok()) else {
        return;
    };
    if !form.has_attribute("data-enhance") || !form.method().eq_ignore_ascii_case("post") {
        return;
    }
    event.prevent_default();
    // One post per form at a time: a second click or Enter while the first is on its way does nothing.
    if form.has_attribute("data-submitting") {
        return;
    }
    wasm_bindgen_futures::spawn_local(submit(form));
}

async fn submit(form: HtmlFormElement) {
    set_busy(&form, true);
    match post(&form).await {
        // The page is going away: stay busy, so nothing is sent twice meanwhile.
        Ok(Some(location)) => return navigate(&location),
        Ok(None) => return navigate(""),
        Err(error) => show_error(&form, &error),
    }
    set_busy(&form, false);
}

/// Posts the form as the browser would (URL-encoded), asking for the server function's JSON answer.
/// `Ok(Some(location))` is a redirect to follow; `Ok(None)` a success without one.
async fn post(form: &HtmlFormElement) -> Result<Option<String>, FormError> {
    let unreachable =
        || FormError::Transport("could not reach Parley. Check your connection and try again.".to_owned());
    let fields = web_sys::FormData::new_with_form(form).map_err(|_| unreachable())?;
    let body = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&fields).map_err(|_| unreachable())?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&body);
    let headers = web_sys::Headers::new().map_err(|_| unreachable())?;
    let _ = headers.set("Accept", "application/json");
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(&form.action(), &init).map_err(|_| unreachable())?;
    let response: Response = JsFuture::from(window().fetch_with_request(&request))
        .await
        .and_then(JsValue::dyn_into)
        .map_err(|_| unreachable())?;
    let header = |name: &str| response.headers().get(name).ok().flatten();
    if response.ok() {
        return Ok(header(REDIRECT_HEADER).and(header("Location")));
    }
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise).await.ok().and_then(|text| text.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    };
    Err(serde_json::from_str::<FormError>(&text).unwrap_or(match response.status() {
        503 => FormError::Unavailable,
        status => FormError::Transport(format!("the server answered {status}. Please try again.")),
    }))
}

fn set_busy(form: &HtmlFormElement, busy: bool) {
    let _ = if busy { form.set_attribute("data-submitting", "") } else { form.remove_attribute("data-submitting") };
    let _ = form.set_attribute("aria-busy", if busy { "true" } else { "false" });
    for button in elements(form, "button[type=submit]") {
        let _ = if busy { button.set_attribute("disabled", "") } else { button.remove_attribute("disabled") };
        if let Some(pending) = button.get_attribute("data-pending-label") {
            if busy {
                let _ = button.set_attribute("data-label", &button.text_content().unwrap_or_default());
                button.set_text_content(Some(&pending));
            } else if let Some(label) = button.get_attribute("data-label") {
                button.set_text_content(Some(&label));
            }
        }
    }
    // Enter in a composer makes its text read-only while it is sent (app/src/early_forms.js).
    if !busy {
        for textarea in elements(form, "textarea") {
            let _ = textarea.remove_attribute("readonly");
        }
    }
}

/// Writes the error where the server would have rendered it, and moves focus to what needs fixing.
fn show_error(form: &HtmlFormElement, error: &FormError) {
    // Whatever the last attempt said is no longer true.
    for list in elements(form, ".field-errors") {
        list.set_inner_html("");
    }
    for input in elements(form, "[aria-invalid]") {
        let _ = input.set_attribute("aria-invalid", "false");
    }
    for field in elements(form, ".field.invalid") {
        let _ = field.class_list().remove_1("invalid");
    }
    for hint in elements(form, "[data-shown-on-error]") {
        let _ = hint.set_attribute("hidden", "");
    }

    let mut fields: Vec<(String, Vec<String>)> = match error {
        FormError::Fields(fields) => fields.iter().map(|(name, messages)| (name.clone(), messages.clone())).collect(),
        _ => Vec::new(),
    };
    if matches!(error, FormError::EmailTaken) {
        fields.push(("email".to_owned(), vec![error.to_string()]));
        if let Some(hint) = first(form, "[data-shown-on-error=email_taken]") {
            let _ = hint.remove_attribute("hidden");
        }
    }
    let mut unplaced = Vec::new();
    for (name, messages) in fields {
        match field_parts(form, &name) {
            Some((input, list)) => {
                let _ = input.set_attribute("aria-invalid", "true");
                if let Some(field) = input.closest(".field").ok().flatten() {
                    let _ = field.class_list().add_1("invalid");
                }
                for message in messages {
                    if let Ok(item) = document().create_element("li") {
                        item.set_text_content(Some(&message));
                        let _ = list.append_child(&item);
                    }
                }
            }
            None => unplaced.extend(messages),
        }
    }

    let alert = first(form, ".form-alert");
    let message = form_level_message(error).or_else(|| (!unplaced.is_empty()).then(|| unplaced.join(" ")));
    if let Some(alert) = &alert {
        match &message {
            Some(text) => {
                match first(alert, "p") {
                    Some(paragraph) => paragraph.set_text_content(Some(text)),
                    None => alert.set_text_content(Some(text)),
                }
                let _ = alert.remove_attribute("hidden");
            }
            None => {
                let _ = alert.set_attribute("hidden", "");
            }
        }
    }

    let target = first(form, "[aria-invalid=true]").or(alert.filter(|_| message.is_some()));
    if let Some(target) = target.and_then(|element| element.dyn_into::<HtmlElement>().ok()) {
        let _ = target.focus();
    }
}

/// The input named `name` and the list its messages go in.
fn field_parts(form: &HtmlFormElement, name: &str) -> Option<(Element, Element)> {
    let input = first(form, &format!("[name=\"{name}\"]"))?;
    let list_id = input.get_attribute("aria-describedby")?.split_whitespace().next()?.to_owned();
    let list = document().get_element_by_id(&list_id)?;
    Some((input, list))
}

fn first(root: &Element, selector: &str) -> Option<Element> {
    root.query_selector(selector).ok().flatten()
}

fn elements(root: &Element, selector: &str) -> Vec<Element> {
    let Ok(found) = root.query_selector_all(selector) else { return Vec::new() };
    (0..found.length()).filter_map(|i| found.item(i)?.dyn_into::<Element>().ok()).collect()
}
