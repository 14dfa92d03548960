//! The Twilio webhooks in the OpenAPI document: the forms Twilio posts (as far as we read them),
//! the signature header, and the media socket. The wire format itself is
//! `protocols::twilio`.

#![allow(dead_code)]

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use media_bridge::router::MediaUpgrade;
use utoipa::{IntoParams, ToSchema};

use crate::state::AppState;

pub const FORBIDDEN: &str = "`X-Twilio-Signature` is missing or wrong (nothing is recorded), or no \
Twilio account is configured";
pub const BAD_FORM: &str = "A field is missing or malformed, or the call id is not a UUID";
/// What the voice webhook answers for a live call.
pub const VOICE_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\
<Say language=\"ko-KR\" voice=\"Polly.Seoyeon-Neural\">이 통화는 서비스 품질 향상을 위해 녹음될 수 있습니다. \
지금부터 AI 상담원이 안내해 드립니다.</Say><Pause length=\"1\"/><Connect><Stream \
url=\"wss://callbot.example/twilio/media\"><Parameter name=\"call_id\" value=\"…\"/><Parameter \
name=\"token\" value=\"…\"/></Stream></Connect><Hangup/></Response>";

/// Twilio's signature: base64 HMAC-SHA1, keyed with the auth token, over the public URL followed
/// by the form's keys and values sorted by key.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct Signature {
    #[param(
        rename = "X-Twilio-Signature",
        example = "0X1Ys8TQbNtE9o8tvb8lkzMqi+I="
    )]
    x_twilio_signature: String,
}

/// What every webhook may answer besides its own success.
#[derive(utoipa::IntoResponses)]
pub enum WebhookRefusals {
    #[response(status = 400, description = BAD_FORM, content_type = "text/plain")]
    BadForm(String),
    #[response(status = 403, description = FORBIDDEN, content_type = "text/plain")]
    Forbidden(String),
    #[response(
        status = 404,
        description = "No such call",
        content_type = "text/plain"
    )]
    UnknownCall(String),
    #[response(status = 500, description = "The store failed (Twilio retries)")]
    Internal,
}

/// The voice request (fields we read; Twilio sends more, all accepted).
#[derive(ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct VoiceForm {
    #[schema(example = "CA0123456789abcdef0123456789abcdef")]
    call_sid: String,
    account_sid: Option<String>,
    call_status: Option<String>,
}

/// A status callback.
#[derive(ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct StatusForm {
    #[schema(example = "CA0123456789abcdef0123456789abcdef")]
    call_sid: String,
    account_sid: String,
    /// `queued`, `initiated`, `ringing`, `in-progress`, `completed`, `busy`, `no-answer`,
    /// `canceled` or `failed`.
    #[schema(example = "completed")]
    call_status: String,
    /// Orders callbacks of one call.
    sequence_number: Option<u32>,
    /// Seconds, on `completed`.
    call_duration: Option<u32>,
    sip_response_code: Option<u16>,
    error_code: Option<String>,
    timestamp: Option<String>,
}

/// An answering-machine verdict.
#[derive(ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AmdForm {
    call_sid: String,
    account_sid: String,
    /// `human`, `machine_start`, `machine_end_beep`, `machine_end_silence`, `fax`, `unknown`…
    #[schema(example = "machine_end_beep")]
    answered_by: String,
    machine_detection_duration: Option<u32>,
}

/// A recording status callback.
#[derive(ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RecordingForm {
    call_sid: String,
    account_sid: String,
    recording_sid: String,
    recording_url: Option<String>,
    /// `in-progress`, `completed` or `absent`.
    #[schema(example = "completed")]
    recording_status: String,
    recording_duration: Option<u32>,
}

/// The Media Streams WebSocket. Twilio connects after the voice webhook's `<Connect><Stream>`;
/// the first messages are `connected` and `start` (with the `call_id` and `token` parameters,
/// checked before anything else), then `media` frames of µ-law 8 kHz audio both ways, `mark`,
/// `dtmf` and `stop`. The bridge relays it to the ElevenLabs agent.
#[utoipa::path(
    get, path = "/twilio/media", tag = openapi::tags::TWILIO,
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket handshake", content_type = "text/plain", body = String),
        (status = 426, description = "The connection cannot be upgraded", content_type = "text/plain", body = String),
        (status = 429, description = "Too many media sockets from this address are waiting for their start", content_type = "text/plain", body = String),
        (status = 503, description = "No media bridge runs in this process", content_type = "text/plain", body = String),
    ),
)]
pub async fn media(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: MediaUpgrade,
) -> Response {
    // Behind our own proxies (TRUSTED_PROXIES) sockets count per client, not per proxy.
    let client = state.client_ip(peer, &headers);
    media_bridge::router::serve_media(state.bridge.clone(), client, upgrade).await
}

/// The media socket route (served by `media_bridge`, documented here).
pub fn media_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(media))
}
