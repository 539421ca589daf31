//! The composer: the message box with Send (Enter) and Stop, a plain form posting to `SendMessage`
//! without JavaScript. The pane owns what a send does; the composer owns the text being written.

use leptos::server_fn::ServerFn;
use leptos::{ev::SubmitEvent, html, prelude::*};

use crate::server_fns::chat::SendMessage;

/// The text being written and the box it is written in.
#[derive(Clone, Copy)]
pub(super) struct Composer {
    draft: RwSignal<String>,
    input: NodeRef<html::Textarea>,
}

impl Composer {
    /// The composer is not bound to `draft` with `prop:value`: hydration would write the empty draft over
    /// whatever was typed before the page hydrated. The textarea is written only when the app itself
    /// changes the text (clearing it after a send, giving it back after a refusal); what was typed before
    /// hydration is picked up once the box is there.
    pub fn new() -> Self {
        let composer = Composer { draft: RwSignal::new(String::new()), input: NodeRef::new() };
        Effect::new(move |_| {
            if let Some(input) = composer.input.get() {
                let typed = input.value();
                if !typed.is_empty() {
                    composer.draft.set(typed);
                }
            }
        });
        composer
    }

    /// Replaces the text, in the box and in the draft.
    pub fn set_draft(self, text: String) {
        if let Some(input) = self.input.get_untracked() {
            input.set_value(&text);
        }
        self.draft.set(text);
    }

    /// Gives the box the keyboard back after a reply (only the browser sends replies this way).
    #[cfg(feature = "hydrate")]
    pub fn focus(self) {
        if let Some(input) = self.input.get_untracked() {
            let _ = input.focus();
        }
    }

    /// The form. `send` gets the draft on submit or Enter (Shift+Enter is a new line); while `sending`,
    /// the box is disabled and Send becomes Stop.
    pub fn view(
        self,
        conversation_id: String,
        sending: RwSignal<bool>,
        send: impl Fn(String) + Clone + 'static,
        stop: impl Fn(leptos::ev::MouseEvent) + Clone + Send + Sync + 'static,
    ) -> impl IntoView {
        let Composer { draft, input } = self;
        let on_submit = {
            let send = send.clone();
            move |ev: SubmitEvent| {
                ev.prevent_default();
                send(draft.get_untracked());
            }
        };
        let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
            if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                ev.prevent_default();
                send(draft.get_untracked());
            }
        };
        view! {
            <form class="composer" method="post" action=SendMessage::url() on:submit=on_submit>
                <input type="hidden" name="conversation_id" value=conversation_id/>
                <label for="composer-input" class="visually-hidden">"Message"</label>
                <textarea
                    id="composer-input"
                    name="content"
                    rows="3"
                    placeholder="Message Parley… (Enter to send, Shift+Enter for a new line)"
                    required
                    node_ref=input
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=on_keydown
                    disabled=move || sending.get()
                ></textarea>
                <div class="composer-actions">
                    <Show
                        when=move || sending.get()
                        fallback=|| view! { <button type="submit" class="button primary">"Send"</button> }
                    >
                        <button type="button" class="button" on:click=stop.clone()>"Stop"</button>
                    </Show>
                </div>
            </form>
        }
    }
}
