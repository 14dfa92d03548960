//! The OpenAPI document: the committed copy is current, the server serves it and the offline
//! Swagger UI, and the document keeps the rules every operation shares.

use std::collections::BTreeSet;
use std::path::Path;

use callbot::{Application, Config, Role};
use commands::CancellationToken;
use serde_json::{Value, json};

fn generated() -> Value {
    serde_json::to_value(api::routes::openapi()).unwrap()
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = openapi::to_json(&api::routes::openapi());
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(openapi::COMMITTED_PATH);
    let committed = std::fs::read_to_string(&path).ok();
    if let Err(message) = openapi::compare_with_committed(&generated, committed.as_deref()) {
        panic!("{message}");
    }
}

/// Every `(method, path, operation)` of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                all.push((method.clone(), path.clone(), operation.clone()));
            }
        }
    }
    all
}

#[test]
fn every_operation_documents_its_answers_and_the_shared_ones() {
    let doc = generated();
    let operations = operations(&doc);
    assert!(
        operations.len() >= 35,
        "only {} operations",
        operations.len()
    );
    let mut ids = BTreeSet::new();
    for (method, path, operation) in &operations {
        let name = format!("{method} {path}");
        assert!(
            ids.insert(operation["operationId"].as_str().unwrap().to_owned()),
            "{name}: duplicate operationId"
        );
        assert!(
            operation["tags"].as_array().is_some_and(|t| t.len() == 1),
            "{name}: one tag"
        );
        assert!(
            operation["summary"].is_string() || operation["description"].is_string(),
            "{name}: says what it does"
        );
        let responses = operation["responses"].as_object().unwrap();
        assert!(
            responses
                .keys()
                .any(|status| status.starts_with('2') || status == "101"),
            "{name}: no success answer"
        );
        // Signed download links: no sign-in and no per-user limit; the signature is the key.
        if path.starts_with("/api/v1/downloads/") {
            assert!(operation.get("security").is_none(), "{name}: public");
            assert!(responses.contains_key("500"), "{name}: no 500");
        } else if path.starts_with("/api/v1/") {
            for status in ["429", "500"] {
                assert!(responses.contains_key(status), "{name}: no {status}");
            }
            let limited = &responses["429"];
            assert!(
                limited["headers"]["Retry-After"].is_object(),
                "{name}: 429 without Retry-After"
            );
            let public = path.ends_with("/auth/register") || path.ends_with("/auth/login");
            if public {
                assert!(operation.get("security").is_none(), "{name}: public");
            } else {
                assert_eq!(
                    operation["security"],
                    json!([{ "bearer": [] }, { "session_cookie": [] }]),
                    "{name}"
                );
                assert!(responses.contains_key("401"), "{name}: no 401");
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{name}: {status} is not the error envelope"
                    );
                }
            }
        }
        if path.starts_with("/twilio/") && path != "/twilio/media" {
            let signature = operation["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "X-Twilio-Signature")
                .unwrap_or_else(|| panic!("{name}: no signature header"));
            assert_eq!(signature["in"], "header");
            assert_eq!(signature["required"], true);
            assert!(responses.contains_key("403"), "{name}: no 403");
        }
    }
    let stream = &doc["paths"]["/api/v1/campaigns/{id}/status"]["get"]["responses"]["200"];
    assert!(stream["content"]["text/event-stream"].is_object());
    for frame in ["StatusFrame", "CallUpdateFrame", "CompletedFrame"] {
        assert!(
            doc["components"]["schemas"][frame].is_object(),
            "{frame} missing"
        );
    }
}

#[test]
fn every_reference_resolves() {
    fn walk(value: &Value, refs: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    refs.insert(target.clone());
                }
                map.values().for_each(|v| walk(v, refs));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
            _ => {}
        }
    }
    let doc = generated();
    let mut refs = BTreeSet::new();
    walk(&doc, &mut refs);
    assert!(refs.len() > 20);
    for target in refs {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {target}"));
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
}

#[test]
fn the_error_codes_are_those_the_server_answers_with() {
    use api::error::ApiError;
    let errors = [
        ApiError::invalid("x"),
        ApiError::WeakPassword { missing: vec![] },
        ApiError::InvalidPhone {
            message: "x".into(),
            details: json!({}),
        },
        ApiError::Unauthorized,
        ApiError::AccountLocked {
            until: chrono::Utc::now(),
        },
        ApiError::NotFound,
        ApiError::InvalidState("x".into()),
        ApiError::NoContacts,
        ApiError::Conflict("x".into()),
        ApiError::InsufficientCredits("x".into()),
        ApiError::RateLimited {
            retry_after_secs: 1,
        },
        ApiError::PayloadTooLarge,
        ApiError::GenerationFailed { reason: "x".into() },
        ApiError::MethodNotAllowed,
        ApiError::internal("x"),
        ApiError::ProviderUnavailable {
            provider: "twilio",
            message: "x".into(),
        },
        ApiError::LinkExpired,
        ApiError::RangeNotSatisfiable { length: 1 },
        ApiError::RecordingUnreadable("x".into()),
        ApiError::ReportFontMissing { path: "x".into() },
    ];
    let answered: BTreeSet<&str> = errors.iter().map(ApiError::code).collect();
    let documented: BTreeSet<&str> = openapi::ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(answered, documented);
    assert_eq!(openapi::SESSION_COOKIE_NAME, api::auth::COOKIE);
}

#[tokio::test]
async fn the_server_serves_the_document_and_the_swagger_ui_from_its_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_lookup(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().to_path_buf(),
        vec![Role::All],
        |_| None,
    )
    .unwrap();
    let app = Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let stop = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(stop.clone()));
    let client = reqwest::Client::new();

    let served: Value = client
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, generated());
    assert_eq!(served["info"]["title"], "Auto CallBot API");

    let page = client.get(format!("{base}/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // The page loads its script and the document from this server only.
    let config = client
        .get(format!("{base}/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(config.contains("/openapi.json"), "{config}");
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css"] {
        let response = client
            .get(format!("{base}/docs/{asset}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert!(response.bytes().await.unwrap().len() > 10_000, "{asset}");
    }
    assert!(
        !html.contains("https://"),
        "the page must not load anything remote"
    );

    stop.cancel();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_extractor_rejection_comes_in_the_error_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_lookup(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().to_path_buf(),
        vec![Role::All],
        |_| None,
    )
    .unwrap();
    let app = Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}/api/v1", app.port());
    let stop = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(stop.clone()));
    let client = reqwest::Client::new();
    let credentials = json!({ "email": "doc@example.com", "password": "password123" });
    let registered = client
        .post(format!("{base}/auth/register"))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let login: Value = client
        .post(format!("{base}/auth/login"))
        .json(&credentials)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["data"]["accessToken"].as_str().unwrap().to_owned();

    // A query that does not parse, and a path segment that is not UTF-8.
    for path in [
        "/campaigns/0193a4c2-7b1e-7c3a-9f00-5b2d1e4c8a10/events?limit=many",
        "/campaigns/0193a4c2-7b1e-7c3a-9f00-5b2d1e4c8a10/calls?page=first",
        "/scripts/%FF%FE",
    ] {
        let response = client
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
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

    stop.cancel();
    server.await.unwrap().unwrap();
}
