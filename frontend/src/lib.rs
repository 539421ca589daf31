//! The WASM entry point. The loader (Leptos's islands script) calls `hydrate` once the bundle is in, then
//! hydrates each `#[island]` on the page; everything else stays the server-rendered HTML it is.

use leptos::prelude::*;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // There is no client-side router: a server function that answers with a redirect loads that page.
    let _ = leptos::server_fn::redirect::set_redirect_hook(app::enhance::navigate);
    app::enhance::install();
    leptos::mount::hydrate_islands();
    // The loader hydrates the islands right after this returns, each a microtask after the last; a task
    // queued now runs once they all have. From then on the islands handle Enter in the composers, and
    // app/src/early_forms.js leaves them to the islands.
    set_timeout(
        || {
            if let Some(root) = document().document_element() {
                let _ = root.set_attribute("data-hydrated", "");
            }
        },
        std::time::Duration::ZERO,
    );
}
