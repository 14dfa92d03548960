//! The stylesheet and the script, compiled into the binary and served with long-lived caching:
//! pages link them as `/static/app.css?v=<hash of the file>`, so a new build is a new URL.

use std::sync::LazyLock;

use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("../static/app.css");
const JS: &str = include_str!("../static/app.js");

/// A short hash of both files, the `v` of their URLs.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::new()
        .chain_update(CSS.as_bytes())
        .chain_update(JS.as_bytes())
        .finalize();
    hex::encode(&digest[..6])
});

#[derive(serde::Deserialize)]
pub struct Versioned {
    v: Option<String>,
}

/// `GET /static/{file}`: immutable for a year when asked with the current version, else for
/// a minute (a page from an older build still gets styled).
pub async fn serve(Path(file): Path<String>, Query(query): Query<Versioned>) -> Response {
    let (body, content_type) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let cache = if query.v.as_deref() == Some(VERSION.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=60"
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}
