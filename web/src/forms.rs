//! Posted forms as ordered name/value pairs: repeated names (one per contact row) keep their
//! order, which serde's form decoding cannot express.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A posted form: its fields in order, and its file (at most one) when multipart.
#[derive(Debug, Default)]
pub struct FormData {
    fields: Vec<(String, String)>,
    /// The uploaded file's bytes, when one was chosen.
    pub file: Option<Bytes>,
}

impl FormData {
    /// The first value of `name`, trimmed; `""` when absent.
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.trim())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// Whether a checkbox was ticked.
    pub fn checked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }

    /// Fields whose names start with `prefix`, the prefix cut off.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.fields
            .iter()
            .filter_map(move |(key, value)| Some((key.strip_prefix(prefix)?, value.trim())))
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bad = |what: String| (StatusCode::BAD_REQUEST, what).into_response();
        if content_type.starts_with("multipart/form-data") {
            let mut multipart = Multipart::from_request(request, state)
                .await
                .map_err(IntoResponse::into_response)?;
            let mut form = Self::default();
            while let Some(field) = multipart
                .next_field()
                .await
                .map_err(|e| bad(e.body_text()))?
            {
                let name = field.name().unwrap_or("").to_owned();
                if field.file_name().is_some() {
                    let bytes = field.bytes().await.map_err(|e| bad(e.body_text()))?;
                    if !bytes.is_empty() {
                        form.file = Some(bytes);
                    }
                } else {
                    let text = field.text().await.map_err(|e| bad(e.body_text()))?;
                    form.fields.push((name, text));
                }
            }
            return Ok(form);
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            fields: form_urlencoded::parse(&bytes).into_owned().collect(),
            file: None,
        })
    }
}
