//! The server serves the OpenAPI document and the offline Swagger UI, and answers an extractor's
//! rejection in the error envelope.

use callbot_tests::{AppOptions, spawn_app_with};
use serde_json::Value;

fn generated() -> Value {
    serde_json::to_value(api::routes::openapi()).unwrap()
}

#[tokio::test]
async fn the_server_serves_the_document_and_the_swagger_ui_from_its_own_files() {
    let app = spawn_app_with(AppOptions::default().signed_out()).await;
    let served: Value = app.get_raw("/openapi.json").await.json().await.unwrap();
    assert_eq!(served, generated());
    assert_eq!(served["info"]["title"], "Auto CallBot API");

    let page = app.get_raw("/docs/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // The page loads its script and the document from this server only.
    let initializer = app.get_raw("/docs/swagger-initializer.js").await;
    let config = initializer.text().await.unwrap();
    assert!(config.contains("/openapi.json"), "{config}");
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css"] {
        let response = app.get_raw(&format!("/docs/{asset}")).await;
        assert_eq!(response.status(), 200, "{asset}");
        assert!(response.bytes().await.unwrap().len() > 10_000, "{asset}");
    }
    assert!(
        !html.contains("https://"),
        "the page must not load anything remote"
    );

    app.shut_down().await;
}

#[tokio::test]
async fn an_extractor_rejection_comes_in_the_error_envelope() {
    let app = spawn_app_with(AppOptions::default().signed_out()).await;
    let (token, _) = app.sign_up("doc@example.com").await;

    // A query that does not parse, and a path segment that is not UTF-8.
    for path in [
        "/campaigns/0193a4c2-7b1e-7c3a-9f00-5b2d1e4c8a10/events?limit=many",
        "/campaigns/0193a4c2-7b1e-7c3a-9f00-5b2d1e4c8a10/calls?page=first",
        "/scripts/%FF%FE",
    ] {
        let response = app.respond("GET", path, Some(&token), None).await;
        assert_eq!(response.status(), 400, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["success"], false, "{path}");
        assert_eq!(body["error"]["code"], "INVALID_INPUT", "{path}: {body}");
    }

    app.shut_down().await;
}
