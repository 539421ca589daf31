//! Markdown to safe HTML. Raw HTML in a message is shown as text, never interpreted; the result is then
//! sanitised by ammonia (allow-list of tags and URL schemes), and every link opens safely.

use std::sync::LazyLock;

use pulldown_cmark::{html, Event, Options, Parser};

/// The sanitiser's allow-lists are hash sets: built once, not for every message of every page.
static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder.url_schemes(["http", "https", "mailto"].into_iter().collect()).link_rel(Some("noopener noreferrer"));
    builder
});

pub fn render(markdown: &str) -> String {
    let parser = Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, parser);
    SANITISER.clean(&unsafe_html).to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_renders_and_hostile_input_is_inert() {
        assert!(render("**bold**").contains("<strong>bold</strong>"));
        assert!(render("```\nlet x = 1;\n```").contains("<pre><code>"));
        assert!(render("- a\n- b").contains("<li>a</li>"));
        let link = render("[site](https://example.com)");
        assert!(link.contains(r#"href="https://example.com""#) && link.contains(r#"rel="noopener noreferrer""#), "{link}");

        for hostile in ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "[x](javascript:alert(1))"] {
            let html = render(hostile);
            assert!(!html.contains("<img") && !html.contains("<script") && !html.contains("javascript:"), "{hostile} → {html}");
        }
        assert!(render("<script>alert(1)</script>").contains("&lt;script&gt;"), "raw HTML is shown as text");
    }
}
