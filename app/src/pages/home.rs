use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::A;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text=""/>
        <Meta
            name="description"
            content="Parley keeps a private, searchable history of your conversations with an AI assistant."
        />
        <section class="hero">
            <h1>"Your conversations with an AI assistant, kept private and easy to find."</h1>
            <p class="lead">
                "Parley is a quiet place to think out loud with an assistant. Every conversation is saved to
                your own account, searchable later, and visible to nobody else."
            </p>
            <p class="actions">
                <A href="/signup" attr:class="button primary">"Create your account"</A>
            </p>
        </section>
        <section class="features" aria-label="What Parley does">
            <article>
                <h2>"Private by default"</h2>
                <p>"Your history belongs to your account alone. No one else can list or open it."</p>
            </article>
            <article>
                <h2>"Searchable history"</h2>
                <p>"Come back to any answer: your conversations stay in order, with nothing lost."</p>
            </article>
            <article>
                <h2>"Works anywhere"</h2>
                <p>"Use it in the browser, or from your own tools through the JSON API."</p>
            </article>
        </section>
    }
}
