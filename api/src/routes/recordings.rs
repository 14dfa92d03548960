//! `GET /api/v1/calls/{id}/recording` (signed in, owner only): the PRD shape with a signed
//! `recordingUrl` valid for 15 minutes; 404 when the call is not the caller's or has no stored
//! recording (never recorded, discarded, or purged).
//!
//! `GET /api/v1/downloads/recordings/{id}?exp=…&sig=…` (no Bearer; the signature is the
//! authority): decrypts and streams `audio/wav`, honouring a single `Range` (206 with
//! `Content-Range`, 416 `RANGE_NOT_SATISFIABLE` outside the file). A forged or altered link is
//! 404 `NOT_FOUND`; an authentic one past its expiry is 410 `LINK_EXPIRED`. A file that does
//! not decrypt (wrong `RECORDING_KEY`, damage) is 500 `RECORDING_UNREADABLE`, never garbage.
//!
//! The whole file is decrypted in memory before a range is cut from it: AES-GCM only vouches for
//! a file as a whole, and recordings are a few megabytes.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openapi::{ErrorBody, Success, tags};
use projections::call_list::CallList;
use projections::recordings::Recordings;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::downloads::{self, Link, LinkQuery, LinkRefusals};
use crate::auth::UserPath;
use crate::error::{ApiError, ok, timestamp};
use crate::state::AppState;
use commands::recordings::{LINK_TTL_MINUTES, ReadError};

/// Signed-in routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(recording))
}

/// The folder of recording links under `/api/v1/downloads`.
const FOLDER: &str = "recordings";

/// The call's recording: a signed, short-lived link to the decrypted audio, the transcript and
/// the summary (only for calls whose callee consented and did not object).
#[utoipa::path(
    get, path = "/calls/{id}/recording", tag = tags::CALLS,
    params(("id" = Uuid, Path, description = "Call id")),
    responses(
        (status = 200, description = "A short-lived signed link to the decrypted audio, with the transcript and summary", body = Success<RecordingInfo>),
        (status = 404, description = "`NOT_FOUND`: no such call, or it has no stored recording (no consent, objected, purged)", body = ErrorBody),
    ),
)]
#[tracing::instrument(skip_all, fields(call_id = %id))]
async fn recording(
    State(state): State<AppState>,
    UserPath { user, id }: UserPath,
) -> Result<Response, ApiError> {
    let call_id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let pool = state.store.db().pool();
    let owner = user.account_id.to_string();
    let row = Recordings::find(pool, &owner, &id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    if row.status.as_deref() != Some("STORED") {
        return Err(ApiError::NotFound);
    }
    let call = CallList::find(pool, &owner, &id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let (summary, transcript) = projections::reports::call_texts(&call);
    let (link, expires_at) = state.files.signer.sign(
        &downloads::path(FOLDER, &call_id),
        state.clock.now(),
        chrono::Duration::minutes(LINK_TTL_MINUTES),
    );
    Ok(ok(json!({
        "recordingUrl": state.files.absolute(&link),
        "duration": row.duration_secs,
        "transcript": transcript,
        "summary": summary,
        "expiresAt": timestamp(expires_at),
        "recordingConsent": row.consent.unwrap_or(false),
        "contentType": "audio/wav",
        "bytes": row.bytes,
    }))
    .into_response())
}

/// The decrypted recording behind a signed link from `GET /calls/{id}/recording`; needs no
/// sign-in, honours `Range`.
#[utoipa::path(
    get, path = "/downloads/recordings/{id}", tag = tags::CALLS, operation_id = "download_recording",
    params(
        ("id" = Uuid, Path, description = "Call id"),
        LinkQuery,
        ("Range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-1023`"),
    ),
    responses(
        (status = 200, description = "The whole recording", content_type = "audio/wav", body = Vec<u8>),
        (status = 206, description = "The requested range, with `Content-Range`", content_type = "audio/wav", body = Vec<u8>),
        LinkRefusals,
        (status = 416, description = "`RANGE_NOT_SATISFIABLE`: the range is outside the file", body = ErrorBody),
        (status = 500, description = "`RECORDING_UNREADABLE`: the file does not decrypt with the configured key", body = ErrorBody),
    ),
)]
#[tracing::instrument(skip_all, fields(call_id = %link.id))]
pub(super) async fn download(
    State(state): State<AppState>,
    link: Link,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let call_id = link.verified(&state, FOLDER)?;
    let audio = match state.files.recordings.read(&call_id).await {
        Ok(audio) => audio,
        Err(ReadError::Missing) => return Err(ApiError::NotFound),
        Err(ReadError::Cipher(error)) => {
            return Err(ApiError::RecordingUnreadable(format!(
                "call {call_id}: {error}"
            )));
        }
        Err(ReadError::Io(error)) => return Err(ApiError::internal(error)),
    };
    serve_bytes(audio, "audio/wav", &headers)
}

/// What a `Range` header asks of a body of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// No usable range: send everything (absent, another unit, several ranges, bad syntax).
    Full,
    /// Bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// A valid range entirely outside the body.
    Unsatisfiable,
}

/// Reads a single-range `Range` header (RFC 9110 §14.1.2).
pub fn parse_range(header: Option<&str>, len: u64) -> ByteRange {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return ByteRange::Full;
    };
    if spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return ByteRange::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // The last `n` bytes.
        let Ok(n) = last.parse::<u64>() else {
            return ByteRange::Full;
        };
        if n == 0 || len == 0 {
            return ByteRange::Unsatisfiable;
        }
        return ByteRange::Part {
            start: len.saturating_sub(n),
            end: len - 1,
        };
    }
    let Ok(start) = first.parse::<u64>() else {
        return ByteRange::Full;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match last.parse::<u64>() {
            Ok(end) if end >= start => end,
            _ => return ByteRange::Full,
        }
    };
    if start >= len {
        return ByteRange::Unsatisfiable;
    }
    ByteRange::Part {
        start,
        end: end.min(len - 1),
    }
}

/// Sends `body` whole or the requested range of it.
pub fn serve_bytes(
    body: Vec<u8>,
    content_type: &'static str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let len = body.len() as u64;
    let range = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok());
    let (status, body, content_range) = match parse_range(range, len) {
        ByteRange::Full => (StatusCode::OK, body, None),
        ByteRange::Unsatisfiable => return Err(ApiError::RangeNotSatisfiable { length: len }),
        ByteRange::Part { start, end } => (
            StatusCode::PARTIAL_CONTENT,
            body[start as usize..=end as usize].to_vec(),
            Some(format!("bytes {start}-{end}/{len}")),
        ),
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Some(value) = content_range.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(header::CONTENT_RANGE, value);
    }
    Ok(response)
}

// ----- answers, for the document (the handler builds the same JSON; the contract run checks it) --

/// A call's recording (PRD shape plus consent and expiry).
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct RecordingInfo {
    /// Signed link to the decrypted audio; works without sign-in until `expiresAt`.
    recording_url: String,
    /// Length in seconds, when Twilio said.
    duration: Option<i64>,
    /// The conversation, one `agent: …` / `user: …` line per turn.
    transcript: Option<String>,
    /// The AI summary, in Korean.
    summary: Option<String>,
    #[schema(format = DateTime)]
    expires_at: String,
    /// False when the callee objected (then there is no recording at all).
    recording_consent: bool,
    #[schema(example = "audio/wav")]
    content_type: String,
    /// Size of the audio in bytes.
    bytes: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        let part = |start, end| ByteRange::Part { start, end };
        assert_eq!(parse_range(None, 100), ByteRange::Full);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), part(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), part(90, 99));
        assert_eq!(parse_range(Some("bytes=90-500"), 100), part(90, 99));
        assert_eq!(parse_range(Some("bytes=-10"), 100), part(90, 99));
        assert_eq!(parse_range(Some("bytes=-500"), 100), part(0, 99));
        assert_eq!(
            parse_range(Some("bytes=100-"), 100),
            ByteRange::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=-0"), 100), ByteRange::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=9-0"), 100), ByteRange::Full);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), ByteRange::Full);
        assert_eq!(parse_range(Some("items=0-1"), 100), ByteRange::Full);
        assert_eq!(parse_range(Some("bytes=x-1"), 100), ByteRange::Full);
    }
}
