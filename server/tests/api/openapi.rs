//! `GET /api/v1/openapi.json`: the contract, generated from the code.

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/openapi.json").await;

    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/auth/signup", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/me", "patch"),
        ("/api/v1/me", "delete"),
        ("/api/v1/me/password", "post"),
        ("/api/v1/conversations", "get"),
        ("/api/v1/conversations", "post"),
        ("/api/v1/conversations/{id}", "get"),
        ("/api/v1/conversations/{id}", "patch"),
        ("/api/v1/conversations/{id}", "delete"),
        ("/api/v1/conversations/{id}/messages", "get"),
        ("/api/v1/conversations/{id}/messages", "post"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is missing");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert!(doc["components"]["schemas"]["TokenBody"].is_object());
}
