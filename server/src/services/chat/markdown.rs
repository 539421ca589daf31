//! Markdown to safe HTML. Raw HTML in a message is shown as text, never interpreted; the result is then
//! sanitised by ammonia (allow-list of tags and URL schemes), and every link opens safely.

use std::sync::{Arc, LazyLock, Mutex};

use pulldown_cmark::{Event, Options, Parser, html};
use uuid::Uuid;

use crate::support::fifo_cache::FifoCache;

/// The sanitiser's allow-lists are hash sets: built once, not for every message of every page.
static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder.url_schemes(["http", "https", "mailto"].into_iter().collect()).link_rel(Some("noopener noreferrer"));
    builder
});

pub fn render(markdown: &str) -> String {
    let parser =
        Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES).map(|event| match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            other => other,
        });
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, parser);
    SANITISER.clean(&unsafe_html).to_string()
}

/// The HTML of a stored message, rendered once per instance and kept while it fits the cache.
///
/// Parsing, rendering and sanitising were a fifth of the chat page's CPU time, for the same few messages
/// on every view. A stored message never changes, so its id names its HTML; the cache lives in memory (a
/// sanitiser upgrade is a new binary, so every cached page is rendered by the sanitiser that serves it)
/// and holds at most `CACHE_BYTES` of HTML, forgetting the oldest entries first.
pub fn render_message(id: Uuid, markdown: &str) -> Arc<str> {
    // The source's length rides in the key: a cheap guard that the id still names the same text.
    let key = (id, markdown.len());
    if let Some(html) = CACHE.lock().ok().and_then(|cache| cache.get(&key)) {
        return html;
    }
    let html: Arc<str> = render(markdown).into();
    if let Ok(mut cache) = CACHE.lock() {
        cache.insert(key, html.clone(), html.len());
    }
    html
}

const CACHE_BYTES: usize = 32 * 1024 * 1024;

static CACHE: LazyLock<Mutex<FifoCache<(Uuid, usize)>>> = LazyLock::new(|| Mutex::new(FifoCache::new(CACHE_BYTES)));

#[cfg(test)]
mod tests {
    use super::{render, render_message};
    use std::sync::Arc;
    use uuid::Uuid;

    #[test]
    fn a_stored_message_renders_as_its_text_says_cached_or_not() {
        let id = Uuid::now_v7();
        let first = render_message(id, "**bold** <script>x</script>");
        assert_eq!(&*first, render("**bold** <script>x</script>"));
        assert!(Arc::ptr_eq(&first, &render_message(id, "**bold** <script>x</script>")), "the second view is cached");
        // Another text under the same id (it cannot happen: messages are never edited) is rendered afresh.
        assert_eq!(&*render_message(id, "*other text*"), render("*other text*"));
    }

    #[test]
    fn markdown_renders_and_hostile_input_is_inert() {
        assert!(render("**bold**").contains("<strong>bold</strong>"));
        assert!(render("```\nlet x = 1;\n```").contains("<pre><code>"));
        assert!(render("- a\n- b").contains("<li>a</li>"));
        let link = render("[site](https://example.com)");
        assert!(
            link.contains(r#"href="https://example.com""#) && link.contains(r#"rel="noopener noreferrer""#),
            "{link}"
        );

        for hostile in ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "[x](javascript:alert(1))"] {
            let html = render(hostile);
            assert!(
                !html.contains("<img") && !html.contains("<script") && !html.contains("javascript:"),
                "{hostile} → {html}"
            );
        }
        assert!(render("<script>alert(1)</script>").contains("&lt;script&gt;"), "raw HTML is shown as text");
    }
}
