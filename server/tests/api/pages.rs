//! Server-rendered pages as a client without JavaScript receives them.

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_home_page_is_rendered_on_the_server() {
    let app = spawn_app().await;

    let response = app.get("/").await;

    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("<title>Parley</title>"), "{html}");
    assert!(html.contains("Create your account"));
}

#[tokio::test]
async fn the_signup_form_is_complete_without_javascript() {
    let app = spawn_app().await;

    let html = app.get("/signup").await.text().await.unwrap();

    for fragment in [
        r#"<label for="signup-email">"#,
        r#"name="email""#,
        r#"name="password""#,
        r#"name="password_confirm""#,
        "8 to 128 characters",
        "Create account",
    ] {
        assert!(html.contains(fragment), "missing {fragment:?}");
    }
    assert!(!html.contains("disabled"), "the submit button must work before hydration");
}

#[tokio::test]
async fn an_unknown_path_gets_the_404_page_with_status_404() {
    let app = spawn_app().await;

    let response = app.get("/no/such/page").await;

    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Page not found"));
}
