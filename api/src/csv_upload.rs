//! Reading a contacts CSV out of an import request (a raw body or a multipart upload, with a
//! size limit), and how the importer's whole-file refusals answer over HTTP. The file format
//! itself is `commands::contacts_import`.

use std::future::poll_fn;
use std::pin::Pin;

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::header;
use commands::contacts_import::{ImportError, ImportLimits, PHONE_HEADERS};
use serde_json::json;

use crate::error::ApiError;

impl From<ImportError> for ApiError {
    fn from(err: ImportError) -> Self {
        let details = match &err {
            ImportError::TooLarge { .. } => return ApiError::PayloadTooLarge,
            ImportError::TooManyRows { max_rows } => {
                json!({ "problem": "TOO_MANY_ROWS", "maxRows": max_rows })
            }
            ImportError::Empty => json!({ "problem": "EMPTY" }),
            ImportError::NoPhoneColumn { headers } => json!({
                "problem": "NO_PHONE_COLUMN",
                "headersFound": headers,
                "phoneHeaders": PHONE_HEADERS,
            }),
            ImportError::Malformed { line, reason } => {
                json!({ "problem": "MALFORMED", "line": line, "reason": reason })
            }
        };
        ApiError::InvalidInput {
            message: err.to_string(),
            details: Some(details),
        }
    }
}

/// Content types that carry the CSV file itself as the body.
const CSV_CONTENT_TYPES: &[&str] = &[
    "text/csv",
    "application/csv",
    "text/comma-separated-values",
    "application/vnd.ms-excel",
    "text/plain",
    "application/octet-stream",
];

/// Room for the multipart boundaries, part headers and small form fields around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// Reads the CSV file out of an import request: a raw body (`text/csv` and friends, or no
/// Content-Type) or a `multipart/form-data` upload, from the part named `file` or else the first
/// part that carries a file name. Anything over `limits.max_bytes` is refused with 413 as soon
/// as it is seen, before it is all read.
///
/// The handler must take the whole `Request` (not `Bytes`), so axum's default body limit does
/// not cut the file off first.
pub async fn csv_body(request: Request, limits: &ImportLimits) -> Result<Vec<u8>, ApiError> {
    let (parts, body) = request.into_parts();
    let content_type = match parts.headers.get(header::CONTENT_TYPE) {
        Some(value) => value
            .to_str()
            .map_err(|_| ApiError::invalid("the Content-Type header is not readable"))?
            .to_owned(),
        None => String::new(),
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence.is_empty() || CSV_CONTENT_TYPES.contains(&essence.as_str()) {
        if declared.is_some_and(|len| len > limits.max_bytes as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        read_limited(body, limits.max_bytes).await
    } else if essence == "multipart/form-data" {
        if declared.is_some_and(|len| len > (limits.max_bytes + MULTIPART_OVERHEAD) as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        multipart_file(&content_type, body, limits.max_bytes).await
    } else {
        Err(ApiError::InvalidInput {
            message: format!(
                "expected a CSV file sent as text/csv or as a multipart/form-data upload (part \"file\"), not {essence}"
            ),
            details: Some(json!({
                "contentType": essence,
                "accepted": ["text/csv", "multipart/form-data"],
            })),
        })
    }
}

async fn read_limited(mut body: Body, max_bytes: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|err| {
            ApiError::invalid(format!("the upload could not be read to the end: {err}"))
        })?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > max_bytes {
                return Err(ApiError::PayloadTooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

async fn multipart_file(
    content_type: &str,
    body: Body,
    max_bytes: usize,
) -> Result<Vec<u8>, ApiError> {
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        ApiError::invalid("the multipart upload has no boundary in its Content-Type")
    })?;
    let limits = multer::SizeLimit::new()
        .whole_stream((max_bytes + MULTIPART_OVERHEAD) as u64)
        .per_field(max_bytes as u64);
    let mut multipart = multer::Multipart::with_constraints(
        body.into_data_stream(),
        boundary,
        multer::Constraints::new().size_limit(limits),
    );
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") && field.file_name().is_none() {
            continue;
        }
        let mut out = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if out.len() + chunk.len() > max_bytes {
                return Err(ApiError::PayloadTooLarge);
            }
            out.extend_from_slice(&chunk);
        }
        return Ok(out);
    }
    Err(ApiError::invalid(
        "the multipart upload has no file; send the CSV in a part named \"file\"",
    ))
}

fn multipart_error(err: multer::Error) -> ApiError {
    match err {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            ApiError::PayloadTooLarge
        }
        other => ApiError::invalid(format!("the multipart upload is malformed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use commands::contacts_import::{ParsedImport, parse_contacts_csv};

    use super::*;

    const KOREAN_SHEET: &str = "이름,전화번호,예약시간,업체명,메모\r\n\
        홍길동,010-1234-5678,2025-03-01 14:00,행복치과,첫 방문\r\n\
        김영희,01098765432,2025-03-02 10:30,행복치과,\r\n\
        뷁똠햏,+82 10 5550 0101,,행복치과,CP949 전용 글자\r\n";

    fn parse(bytes: &[u8]) -> ParsedImport {
        parse_contacts_csv(bytes, &["KR"], &ImportLimits::default()).unwrap()
    }

    fn assert_korean_sheet(parsed: &ParsedImport) {
        let phones: Vec<_> = parsed.contacts.iter().map(|c| c.phone.as_str()).collect();
        assert_eq!(phones, ["+821012345678", "+821098765432", "+821055500101"]);
        assert_eq!(parsed.contacts[2].name.as_deref(), Some("뷁똠햏"));
    }

    #[test]
    fn import_errors_become_api_errors_with_details() {
        let too_large: ApiError = ImportError::TooLarge { max_bytes: 10 }.into();
        assert_eq!(too_large.code(), "PAYLOAD_TOO_LARGE");
        assert_eq!(
            too_large.into_response().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );

        let cases = [
            (
                ImportError::TooManyRows { max_rows: 5 },
                json!({"problem": "TOO_MANY_ROWS", "maxRows": 5}),
            ),
            (ImportError::Empty, json!({"problem": "EMPTY"})),
            (
                ImportError::Malformed {
                    line: 4,
                    reason: "bad".into(),
                },
                json!({"problem": "MALFORMED", "line": 4, "reason": "bad"}),
            ),
        ];
        for (err, expected) in cases {
            match ApiError::from(err) {
                ApiError::InvalidInput { details, .. } => assert_eq!(details, Some(expected)),
                other => panic!("{other:?}"),
            }
        }
        let no_phone: ApiError = ImportError::NoPhoneColumn {
            headers: vec!["이름".into()],
        }
        .into();
        assert_eq!(no_phone.code(), "INVALID_INPUT");
        let ApiError::InvalidInput { message, details } = no_phone else {
            unreachable!()
        };
        assert!(message.contains("이름"), "{message}");
        let details = details.unwrap();
        assert_eq!(details["headersFound"], json!(["이름"]));
        assert!(
            details["phoneHeaders"]
                .as_array()
                .unwrap()
                .contains(&json!("전화번호"))
        );
    }

    // --- csv_body ---------------------------------------------------------------------------

    fn request(content_type: Option<&str>, body: impl Into<Body>) -> Request {
        let mut builder = Request::builder().method("POST").uri("/import");
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        builder.body(body.into()).unwrap()
    }

    /// A multipart body as a browser sends it: `(name, file name, bytes)` per part.
    fn multipart(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, file_name, bytes) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file_name {
                Some(file) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/vnd.ms-excel\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        body
    }

    const BOUNDARY: &str = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

    fn multipart_type() -> String {
        format!("multipart/form-data; boundary={BOUNDARY}")
    }

    async fn status_of(result: Result<Vec<u8>, ApiError>) -> (StatusCode, String) {
        let err = result.expect_err("expected an error");
        let code = err.code().to_owned();
        (err.into_response().status(), code)
    }

    #[tokio::test]
    async fn a_text_csv_body_is_read_as_it_is() {
        let (cp949, _, _) = encoding_rs::EUC_KR.encode(KOREAN_SHEET);
        for ct in [
            Some("text/csv"),
            Some("text/csv; charset=euc-kr"),
            Some("application/vnd.ms-excel"),
            Some("Application/CSV"),
            Some("text/plain"),
            None,
        ] {
            let body = csv_body(request(ct, cp949.to_vec()), &ImportLimits::default())
                .await
                .unwrap();
            assert_eq!(body, cp949.as_ref(), "{ct:?}");
        }
        let parsed = parse(&cp949);
        assert_korean_sheet(&parsed);
    }

    #[tokio::test]
    async fn a_multipart_upload_yields_the_part_named_file() {
        let body = multipart(
            BOUNDARY,
            &[
                ("campaign", None, b"ignored"),
                ("file", None, KOREAN_SHEET.as_bytes()),
            ],
        );
        let bytes = csv_body(
            request(Some(&multipart_type()), body),
            &ImportLimits::default(),
        )
        .await
        .unwrap();
        assert_eq!(bytes, KOREAN_SHEET.as_bytes());
    }

    #[tokio::test]
    async fn a_multipart_upload_yields_the_first_file_part_whatever_its_name() {
        let (cp949, _, _) = encoding_rs::EUC_KR.encode(KOREAN_SHEET);
        let body = multipart(
            BOUNDARY,
            &[
                ("note", None, b"text field"),
                ("upload", Some("고객명단.csv"), &cp949),
                ("other", Some("second.csv"), b"phone\n010-1234-5678\n"),
            ],
        );
        let bytes = csv_body(
            request(Some(&multipart_type()), body),
            &ImportLimits::default(),
        )
        .await
        .unwrap();
        assert_korean_sheet(&parse(&bytes));
    }

    #[tokio::test]
    async fn a_multipart_upload_without_a_file_is_invalid_input() {
        let body = multipart(BOUNDARY, &[("note", None, b"no file here")]);
        let result = csv_body(
            request(Some(&multipart_type()), body),
            &ImportLimits::default(),
        )
        .await;
        assert_eq!(
            status_of(result).await,
            (StatusCode::BAD_REQUEST, "INVALID_INPUT".to_owned())
        );
        let no_boundary = csv_body(
            request(Some("multipart/form-data"), "x"),
            &ImportLimits::default(),
        )
        .await;
        assert_eq!(status_of(no_boundary).await.0, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn an_oversized_body_is_payload_too_large_with_or_without_a_length() {
        let limits = ImportLimits {
            max_bytes: 100,
            max_rows: 10,
        };
        let big = vec![b'a'; 101];
        let exact = vec![b'a'; 100];
        assert_eq!(
            csv_body(request(Some("text/csv"), exact.clone()), &limits)
                .await
                .unwrap()
                .len(),
            100
        );
        // A declared length is refused up front…
        let declared = Request::builder()
            .method("POST")
            .header(header::CONTENT_TYPE, "text/csv")
            .header(header::CONTENT_LENGTH, "101")
            .body(Body::from(big.clone()))
            .unwrap();
        assert_eq!(
            status_of(csv_body(declared, &limits).await).await,
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE".to_owned()
            )
        );
        // …and a streamed body of unknown length is cut off while it is read: this one never
        // ends, so only stopping early can answer.
        let endless = futures::stream::repeat_with(|| Ok::<_, std::io::Error>(vec![b'a'; 7]));
        let streamed = Body::from_stream(endless);
        assert_eq!(
            status_of(csv_body(request(Some("text/csv"), streamed), &limits).await)
                .await
                .0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        // A multipart file over the limit, too.
        let body = multipart(BOUNDARY, &[("file", Some("big.csv"), &big)]);
        assert_eq!(
            status_of(csv_body(request(Some(&multipart_type()), body), &limits).await)
                .await
                .0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let body = multipart(BOUNDARY, &[("file", Some("ok.csv"), &exact)]);
        assert_eq!(
            csv_body(request(Some(&multipart_type()), body), &limits)
                .await
                .unwrap(),
            exact
        );
    }

    #[tokio::test]
    async fn other_content_types_are_invalid_input_naming_what_is_accepted() {
        let result = csv_body(
            request(Some("application/json"), "{}"),
            &ImportLimits::default(),
        )
        .await;
        let err = result.unwrap_err();
        assert_eq!(err.code(), "INVALID_INPUT");
        let message = err.to_string();
        assert!(message.contains("text/csv"), "{message}");
        assert!(message.contains("application/json"), "{message}");
    }
}
