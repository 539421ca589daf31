//! HTTP routes and middleware that are not Leptos pages.

pub mod health;
pub mod page_redirect;
