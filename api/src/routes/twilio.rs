//! Twilio webhooks (no JWT; every request must carry a valid `X-Twilio-Signature` over the URL
//! under `PUBLIC_BASE_URL`, or it is refused with 403 and nothing is recorded):
//!
//! - `POST /twilio/voice/{callId}`: the TwiML that plays the consent notice, then connects the
//!   media stream with the call id and a per-call token.
//! - `POST /twilio/status/{callId}`: call progress, turned into Call commands. Callbacks arrive
//!   out of order and more than once; the aggregate ignores what is already settled and stale
//!   progress (a lower `SequenceNumber` than one already seen for that `CallSid`) is dropped.
//! - `POST /twilio/amd/{callId}`: answering-machine verdicts; a machine applies the campaign's
//!   voicemail policy.
//! - `POST /twilio/recording/{callId}`: recording status; a completed recording is recorded as
//!   available (`RecordingAvailable`) and answered at once — the recordings worker fetches,
//!   encrypts and stores it, or discards it without consent.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use commands::services::provider_callbacks::{self as callbacks, CallbackError, VoiceAnswer};
use media_bridge::token::stream_token;
use media_bridge::twilio::TwilioClient;
use protocols::twilio::{
    self as wire, AmdCallback, FormError, RecordingCallback, StatusCallback, Verb,
};
use secrecy::{ExposeSecret, SecretString};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::twilio_doc::{AmdForm, RecordingForm, StatusForm, VoiceForm};
use crate::state::AppState;

/// The consent notice with the AI disclosure, played before anything is recorded.
pub const CONSENT_NOTICE: &str = "이 통화는 서비스 품질 향상을 위해 녹음될 수 있습니다. \
     지금부터 AI 상담원이 안내해 드립니다.";
/// The Korean voice the notice is read in (always sent with `language="ko-KR"`).
pub const CONSENT_VOICE: &str = "Polly.Seoyeon-Neural";
/// What is left on an answering machine when the campaign sets no message.
pub const DEFAULT_VOICEMAIL_MESSAGE: &str =
    "안녕하세요, AI 상담원입니다. 확인 전화를 드렸습니다. 편하실 때 다시 연락 부탁드립니다.";

/// What the webhooks need of Twilio: the adapter (for hang-ups and TwiML updates), the token
/// that signs its requests, and the secret for per-call stream tokens.
#[derive(Clone)]
pub struct TwilioLink {
    pub client: TwilioClient,
    pub auth_token: SecretString,
    pub stream_secret: SecretString,
    /// The highest `SequenceNumber` seen per `CallSid` (stale progress is dropped).
    sequences: Arc<Mutex<HashMap<String, u32>>>,
}

impl TwilioLink {
    /// A link over `client`, checking signatures with `auth_token`.
    pub fn new(
        client: TwilioClient,
        auth_token: SecretString,
        stream_secret: SecretString,
    ) -> Self {
        Self {
            client,
            auth_token,
            stream_secret,
            sequences: Arc::default(),
        }
    }

    /// Whether this callback is older than one already handled for its call (terminal
    /// callbacks always pass: handling them twice is harmless).
    fn is_stale(&self, callback: &StatusCallback) -> bool {
        let Some(sequence) = callback.sequence_number else {
            return false;
        };
        let mut seen = self.sequences.lock().expect("sequence map poisoned");
        let highest = seen.entry(callback.call_sid.clone()).or_insert(sequence);
        let stale = sequence < *highest && !callback.call_status.is_terminal();
        *highest = (*highest).max(sequence);
        if callback.call_status.is_terminal() {
            // Nothing follows a terminal event; keep the map small.
            seen.remove(&callback.call_sid);
        }
        stale
    }
}

/// The webhook routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(voice))
        .routes(routes!(status))
        .routes(routes!(amd))
        .routes(routes!(recording))
}

/// Why a webhook was not handled.
#[derive(Debug)]
enum WebhookError {
    /// No Twilio configured, or a missing or wrong signature.
    Forbidden,
    /// A field is missing or malformed.
    BadForm(FormError),
    /// No such call.
    UnknownCall,
    /// The store failed.
    Internal(String),
}

impl From<CallbackError> for WebhookError {
    fn from(err: CallbackError) -> Self {
        match err {
            CallbackError::UnknownCall => Self::UnknownCall,
            CallbackError::Store(detail) => Self::Internal(detail),
        }
    }
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        match self {
            Self::Forbidden => (StatusCode::FORBIDDEN, "invalid Twilio signature").into_response(),
            Self::BadForm(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
            Self::UnknownCall => (StatusCode::NOT_FOUND, "unknown call").into_response(),
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "Twilio webhook failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// Checks the signature over the public URL Twilio requested and returns the form.
fn verified_form(
    state: &AppState,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(TwilioLink, wire::Form), WebhookError> {
    let link = state.twilio.clone().ok_or(WebhookError::Forbidden)?;
    let signature = headers
        .get(wire::SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .ok_or(WebhookError::Forbidden)?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", link.client.config().public_base_url);
    let form = wire::parse_form(body);
    if !wire::validate_signature(link.auth_token.expose_secret(), &url, &form, signature) {
        tracing::warn!(%path, "Twilio webhook with an invalid signature refused");
        return Err(WebhookError::Forbidden);
    }
    Ok((link, form))
}

/// `?attempt=N` on our webhook URLs (signed with the rest of the URL).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AttemptQuery {
    /// The attempt the URL was made for.
    #[param(minimum = 1)]
    attempt: Option<u32>,
}

fn twiml(xml: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response()
}

/// The consent-then-stream TwiML of PROTOCOLS §C4.
pub fn consent_twiml(stream_url: &str, call_id: &str, token: &str) -> String {
    wire::render_twiml(&[
        Verb::Say {
            language: "ko-KR".into(),
            voice: CONSENT_VOICE.into(),
            text: CONSENT_NOTICE.into(),
        },
        Verb::Pause { length: 1 },
        Verb::ConnectStream {
            url: stream_url.to_owned(),
            parameters: BTreeMap::from([
                ("call_id".to_owned(), call_id.to_owned()),
                ("token".to_owned(), token.to_owned()),
            ]),
        },
        Verb::Hangup,
    ])
}

/// The media socket's URL: the public base with a WebSocket scheme (`wss` behind TLS).
pub fn stream_url(public_base_url: &str) -> String {
    let base = if let Some(rest) = public_base_url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = public_base_url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        public_base_url.to_owned()
    };
    format!("{base}/twilio/media")
}

/// Twilio asks what to do with an answered call: the consent notice, then the media stream.
#[utoipa::path(
    post, path = "/twilio/voice/{call_id}", tag = openapi::tags::TWILIO,
    params(("call_id" = Uuid, Path, description = "Our call id"), AttemptQuery, super::twilio_doc::Signature),
    request_body(content = VoiceForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "TwiML: the notice and `<Connect><Stream>`, or `<Hangup/>` for a call that is not live",
            content_type = "text/xml", body = String, example = json!(super::twilio_doc::VOICE_TWIML)),
        (status = 400, description = super::twilio_doc::BAD_FORM, content_type = "text/plain", body = String),
        (status = 403, description = super::twilio_doc::FORBIDDEN, content_type = "text/plain", body = String),
        (status = 404, description = "No such call", content_type = "text/plain", body = String),
        (status = 500, description = "The store failed (Twilio retries)"),
    ),
)]
#[tracing::instrument(skip_all, fields(%call_id))]
async fn voice(
    State(state): State<AppState>,
    Path(call_id): Path<Uuid>,
    Query(query): Query<AttemptQuery>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let (link, form) = verified_form(&state, &uri, &headers, &body)?;
    let call_sid = form
        .iter()
        .find(|(k, _)| k == "CallSid")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
        .ok_or(WebhookError::BadForm(FormError::Missing("CallSid")))?;
    let answer = callbacks::voice(&state.services, call_id, &call_sid, query.attempt).await?;
    if answer == VoiceAnswer::HangUp {
        return Ok(twiml(wire::render_twiml(&[Verb::Hangup])));
    }
    let token = stream_token(
        link.stream_secret.expose_secret().as_bytes(),
        &call_id.to_string(),
        &call_sid,
    );
    let url = stream_url(&link.client.config().public_base_url);
    Ok(twiml(consent_twiml(&url, &call_id.to_string(), &token)))
}

/// Call progress (`initiated`, `ringing`, `answered`, `completed`…); idempotent, order-independent.
#[utoipa::path(
    post, path = "/twilio/status/{call_id}", tag = openapi::tags::TWILIO,
    params(("call_id" = Uuid, Path, description = "Our call id"), AttemptQuery, super::twilio_doc::Signature),
    request_body(content = StatusForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 204, description = "Handled (or ignored as stale or for another attempt)"),
        (status = 400, description = super::twilio_doc::BAD_FORM, content_type = "text/plain", body = String),
        (status = 403, description = super::twilio_doc::FORBIDDEN, content_type = "text/plain", body = String),
        (status = 404, description = "No such call", content_type = "text/plain", body = String),
        (status = 500, description = "The store failed (Twilio retries)"),
    ),
)]
#[tracing::instrument(skip_all, fields(%call_id))]
async fn status(
    State(state): State<AppState>,
    Path(call_id): Path<Uuid>,
    Query(query): Query<AttemptQuery>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, WebhookError> {
    let (link, form) = verified_form(&state, &uri, &headers, &body)?;
    let callback = StatusCallback::from_form(&form).map_err(WebhookError::BadForm)?;
    callbacks::status(&state.services, call_id, &callback, query.attempt, |c| {
        link.is_stale(c)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The answering-machine verdict; a machine gets the campaign's voicemail policy.
#[utoipa::path(
    post, path = "/twilio/amd/{call_id}", tag = openapi::tags::TWILIO,
    params(("call_id" = Uuid, Path, description = "Our call id"), AttemptQuery, super::twilio_doc::Signature),
    request_body(content = AmdForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 204, description = "Handled"),
        (status = 400, description = super::twilio_doc::BAD_FORM, content_type = "text/plain", body = String),
        (status = 403, description = super::twilio_doc::FORBIDDEN, content_type = "text/plain", body = String),
        (status = 404, description = "No such call", content_type = "text/plain", body = String),
        (status = 500, description = "The store failed (Twilio retries)"),
    ),
)]
#[tracing::instrument(skip_all, fields(%call_id))]
async fn amd(
    State(state): State<AppState>,
    Path(call_id): Path<Uuid>,
    Query(query): Query<AttemptQuery>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, WebhookError> {
    let (_, form) = verified_form(&state, &uri, &headers, &body)?;
    let verdict = AmdCallback::from_form(&form).map_err(WebhookError::BadForm)?;
    callbacks::answering_machine(&state.services, call_id, &verdict, query.attempt).await?;
    // The voicemail worker (`workers::voicemail`) carries the policy out at Twilio.
    Ok(StatusCode::NO_CONTENT)
}

/// Recording status: a finished recording is recorded as available for the recordings worker.
#[utoipa::path(
    post, path = "/twilio/recording/{call_id}", tag = openapi::tags::TWILIO,
    params(("call_id" = Uuid, Path, description = "Our call id"), AttemptQuery, super::twilio_doc::Signature),
    request_body(content = RecordingForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 204, description = "Handled"),
        (status = 400, description = super::twilio_doc::BAD_FORM, content_type = "text/plain", body = String),
        (status = 403, description = super::twilio_doc::FORBIDDEN, content_type = "text/plain", body = String),
        (status = 404, description = "No such call", content_type = "text/plain", body = String),
        (status = 500, description = "The store failed (Twilio retries)"),
    ),
)]
#[tracing::instrument(skip_all, fields(%call_id))]
async fn recording(
    State(state): State<AppState>,
    Path(call_id): Path<Uuid>,
    Query(query): Query<AttemptQuery>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, WebhookError> {
    let (_, form) = verified_form(&state, &uri, &headers, &body)?;
    let report = RecordingCallback::from_form(&form).map_err(WebhookError::BadForm)?;
    callbacks::recording(&state.services, call_id, &report, query.attempt).await?;
    Ok(StatusCode::NO_CONTENT)
}
