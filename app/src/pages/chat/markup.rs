//! A message as markup written once: the author, the time, the tool calls and the body, and the edit and
//! regenerate forms beside it. Markup rather than views, so that fifty messages cost the bundle and
//! hydration nothing (see [`message_inner_html`]); everything a person wrote is escaped here.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::server_fns::chat::{EditMessage, MessageView};

pub fn escape_html(text: &str) -> String {
    escaped(text, false)
}

/// Text for an HTML attribute value in double quotes.
fn escape_attribute(text: &str) -> String {
    escaped(text, true)
}

/// One pass over `text` (these run for every message of a page).
fn escaped(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut rest = text;
    while let Some(at) = rest.find(|c| matches!(c, '&' | '<' | '>') || (attribute && c == '"')) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => "&quot;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out
}

/// The fields every edit of a message posts: which conversation, which message.
fn edit_target_fields(conversation: &str, message: &str) -> String {
    format!(
        r#"<div class="form-alert" role="alert" tabindex="-1" hidden><p></p></div><input type="hidden" name="conversation_id" value="{}"/><input type="hidden" name="message_id" value="{}"/>"#,
        escape_attribute(conversation),
        escape_attribute(message),
    )
}

/// The inside of a message's "Edit" disclosure: a plain form (it works without JavaScript). Written as
/// markup rather than a view: it is static once rendered, and a view would cost the bundle a hydration
/// walker for each of its elements. Nothing in it is named "message", which the composer's label is.
fn edit_form_html(conversation: &str, message: &str, content: &str) -> String {
    let field = escape_attribute(&format!("edit-{message}"));
    format!(
        r#"<summary>Edit</summary><form method="post" action="{action}" data-enhance="">{fields}<label for="{field}">New wording</label><textarea id="{field}" name="content" rows="3" required>{text}</textarea><p class="muted">The replies after it are replaced by a new one.</p><button type="submit" class="button" data-pending-label="Regenerating…">Save and regenerate</button></form>"#,
        action = EditMessage::url(),
        fields = edit_target_fields(conversation, message),
        text = escape_html(content),
    )
}

/// "Regenerate reply": the last message sent again, unchanged (an edit that keeps every word).
pub(super) fn regenerate_form_html(conversation: &str, message: &str, content: &str) -> String {
    format!(
        r#"<form method="post" action="{action}" data-enhance="">{fields}<input type="hidden" name="content" value="{text}"/><button type="submit" class="button small" data-pending-label="Regenerating…">Regenerate reply</button></form>"#,
        action = EditMessage::url(),
        fields = edit_target_fields(conversation, message),
        text = escape_attribute(content),
    )
}

#[component]
pub(super) fn MessageItem(
    message: MessageView,
    conversation: String,
    now: Signal<i64>,
    #[prop(optional)] focused: bool,
) -> impl IntoView {
    let is_user = message.role == "user";
    let class = match (is_user, focused) {
        (true, false) => "message user",
        (false, false) => "message assistant",
        (true, true) => "message user focused",
        (false, true) => "message assistant focused",
    };
    let inside = message_inner_html(&message, now.get_untracked());
    view! {
        <article class=class id=format!("m-{}", message.id) aria-current=focused.then_some("true")
            aria-label=if is_user { "You said" } else { "Assistant reply" } inner_html=inside>
        </article>
        // Beside the message, not in it: the message's own text stays exactly what was said.
        {message.content.map(|content| view! {
            <details class="message-edit" inner_html=edit_form_html(&conversation, &message.id, &content)></details>
        })}
    }
}

/// The inside of a message's `<article>`: who said it and when, the tools it used, and the text.
///
/// Written as markup, not as a view: as views, each of a page's fifty messages cost the bundle and the
/// browser a hydration walker for its header, time and tool calls (on the server the two cost the same,
/// measured). Nothing in it changes once shown but the relative time, which the pane brings up to date
/// for all messages at once (`refresh_relative_times`).
fn message_inner_html(message: &MessageView, now: i64) -> String {
    use std::fmt::Write;
    let author = if message.role == "user" { "You" } else { "Assistant" };
    let mut html = String::with_capacity(message.html.len() + 256);
    let _ = write!(html, r#"<header class="message-meta"><span class="author">{author}</span>"#);
    if !message.created_at.is_empty() {
        let at = escape_attribute(&message.created_at);
        let label = escape_html(&crate::components::time::relative(&message.created_at, now));
        let _ = write!(html, r#"<time datetime="{at}" title="{at}">{label}</time>"#);
    }
    html.push_str("</header>");
    if !message.tool_calls.is_empty() {
        html.push_str(r#"<ul class="tool-calls" aria-label="Tools used">"#);
        for call in &message.tool_calls {
            let _ = write!(
                html,
                r#"<li><details class="{class}"><summary>Used <code>{name}</code>{failed}</summary><p class="tool-call-label">Arguments</p><pre>{arguments}</pre><p class="tool-call-label">Result</p><pre>{result}</pre></details></li>"#,
                class = if call.failed { "tool-call failed" } else { "tool-call" },
                name = escape_html(&call.name),
                failed = if call.failed { " (failed)" } else { "" },
                arguments = escape_html(&call.arguments),
                result = escape_html(&call.result),
            );
        }
        html.push_str("</ul>");
    }
    // Sanitised on the server (`chat::markdown`), or escaped text for a message still streaming in.
    let _ = write!(html, r#"<div class="message-body">{}</div>"#, message.html);
    html
}

#[cfg(test)]
mod message_markup_tests {
    use super::message_inner_html;
    use crate::server_fns::chat::{MessageView, ToolCallView};

    #[test]
    fn a_message_reads_as_its_view_did_and_nothing_in_it_is_unescaped_but_the_sanitised_body() {
        let message = MessageView {
            id: "m".to_owned(),
            role: "assistant".to_owned(),
            html: "<p>Sanitised <em>body</em></p>".to_owned(),
            created_at: "2026-12-02T10:00:00Z".to_owned(),
            tool_calls: vec![ToolCallView {
                name: "<b>weather</b>".to_owned(),
                arguments: r#"{"city": "<Paris>"}"#.to_owned(),
                result: "{}".to_owned(),
                failed: true,
            }],
            content: None,
        };
        let two_hours_later = 1_796_205_600 + 2 * 3600;
        let html = message_inner_html(&message, two_hours_later);
        assert!(html.starts_with(r#"<header class="message-meta"><span class="author">Assistant</span><time datetime="2026-12-02T10:00:00Z" title="2026-12-02T10:00:00Z">2 hours ago</time></header>"#), "{html}");
        assert!(html.contains(r#"<details class="tool-call failed"><summary>Used <code>&lt;b&gt;weather&lt;/b&gt;</code> (failed)</summary>"#), "{html}");
        assert!(html.contains(r#"<pre>{"city": "&lt;Paris&gt;"}</pre>"#), "{html}");
        assert!(html.ends_with(r#"<div class="message-body"><p>Sanitised <em>body</em></p></div>"#), "{html}");
        let plain =
            MessageView { tool_calls: Vec::new(), created_at: String::new(), role: "user".to_owned(), ..message };
        assert_eq!(
            message_inner_html(&plain, two_hours_later),
            r#"<header class="message-meta"><span class="author">You</span></header><div class="message-body"><p>Sanitised <em>body</em></p></div>"#
        );
    }
}

#[cfg(test)]
mod edit_form_tests {
    use super::{edit_form_html, regenerate_form_html};

    #[test]
    fn what_the_person_wrote_cannot_break_out_of_the_edit_forms() {
        let hostile = r#"</textarea><script>alert(1)</script>" onfocus="x"#;
        let edit = edit_form_html("c-1", "m-1", hostile);
        assert!(edit.contains("&lt;/textarea&gt;&lt;script&gt;"), "{edit}");
        assert!(!edit.contains("<script>"));
        let regenerate = regenerate_form_html("c-1", "m-1", hostile);
        assert!(
            regenerate
                .contains(r#"value="&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot; onfocus=&quot;x""#),
            "{regenerate}"
        );
        for html in [&edit, &regenerate] {
            assert!(
                html.contains(r#"name="conversation_id" value="c-1""#)
                    && html.contains(r#"name="message_id" value="m-1""#)
            );
        }
    }
}
