//! The OpenAPI document: the committed copy is current, and the document keeps the rules every
//! operation shares. (That the server serves it is in `callbot-tests`, `api_openapi`.)

use std::collections::BTreeSet;
use std::path::Path;

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
        ApiError::MissingVariables {
            message: "x".into(),
            details: serde_json::Value::Null,
        },
    ];
    let answered: BTreeSet<&str> = errors.iter().map(ApiError::code).collect();
    let documented: BTreeSet<&str> = openapi::ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(answered, documented);
    assert_eq!(openapi::SESSION_COOKIE_NAME, api::auth::COOKIE);
}
