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

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use commands::services::provider_callbacks::{self as callbacks, CallbackError, VoiceAnswer};
use media_bridge::token::stream_token;
use protocols::twilio::{
    self as wire, AmdCallback, FormError, RecordingCallback, StatusCallback, Verb,
};
use secrecy::ExposeSecret;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::twilio_doc::{AmdForm, RecordingForm, StatusForm, VoiceForm, WebhookRefusals};
use crate::state::{AppState, TwilioLink};

/// The consent notice with the AI disclosure, played before anything is recorded.
pub const CONSENT_NOTICE: &str = "이 통화는 서비스 품질 향상을 위해 녹음될 수 있습니다. \
     지금부터 AI 상담원이 안내해 드립니다.";
/// The Korean voice the notice is read in (always sent with `language="ko-KR"`).
pub const CONSENT_VOICE: &str = "Polly.Seoyeon-Neural";
/// What is left on an answering machine when the campaign sets no message.
pub const DEFAULT_VOICEMAIL_MESSAGE: &str =
    "안녕하세요, AI 상담원입니다. 확인 전화를 드렸습니다. 편하실 때 다시 연락 부탁드립니다.";

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

/// A webhook request whose `X-Twilio-Signature` checks out over the public URL Twilio
/// requested: our call id and attempt from the URL, the Twilio link and the form.
struct SignedWebhook {
    call_id: Uuid,
    attempt: Option<u32>,
    link: TwilioLink,
    form: wire::Form,
}

impl FromRequest<AppState> for SignedWebhook {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Path(call_id) = Path::<Uuid>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Query(query) = Query::<AttemptQuery>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Ok(OriginalUri(uri)) = OriginalUri::from_request_parts(&mut parts, state).await;
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let signature = parts
            .headers
            .get(wire::SIGNATURE_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let forbidden = || WebhookError::Forbidden.into_response();
        let link = state.twilio.clone().ok_or_else(forbidden)?;
        let signature = signature.ok_or_else(forbidden)?;
        let url = format!("{}{path}", link.client.config().public_base_url);
        let form = wire::parse_form(&body);
        if !wire::validate_signature(link.auth_token.expose_secret(), &url, &form, &signature) {
            tracing::warn!(%path, "Twilio webhook with an invalid signature refused");
            return Err(forbidden());
        }
        Ok(Self {
            call_id,
            attempt: query.attempt,
            link,
            form,
        })
    }
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
    responses((status = 200, description = "TwiML: the notice and `<Connect><Stream>`, or `<Hangup/>` for a call that is not live",
            content_type = "text/xml", body = String, example = json!(super::twilio_doc::VOICE_TWIML)), WebhookRefusals),
)]
#[tracing::instrument(skip_all, fields(call_id = %webhook.call_id))]
async fn voice(
    State(state): State<AppState>,
    webhook: SignedWebhook,
) -> Result<Response, WebhookError> {
    let SignedWebhook {
        call_id,
        attempt,
        link,
        form,
    } = webhook;
    let call_sid = form
        .iter()
        .find(|(k, _)| k == "CallSid")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
        .ok_or(WebhookError::BadForm(FormError::Missing("CallSid")))?;
    let answer = callbacks::voice(&state.services, call_id, &call_sid, attempt).await?;
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
    responses((status = 204, description = "Handled (or ignored as stale or for another attempt)"), WebhookRefusals),
)]
#[tracing::instrument(skip_all, fields(call_id = %webhook.call_id))]
async fn status(
    State(state): State<AppState>,
    webhook: SignedWebhook,
) -> Result<StatusCode, WebhookError> {
    let callback = StatusCallback::from_form(&webhook.form).map_err(WebhookError::BadForm)?;
    let (call_id, attempt) = (webhook.call_id, webhook.attempt);
    callbacks::status(&state.services, call_id, &callback, attempt, |c| {
        webhook.link.is_stale(c)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The answering-machine verdict; a machine gets the campaign's voicemail policy.
#[utoipa::path(
    post, path = "/twilio/amd/{call_id}", tag = openapi::tags::TWILIO,
    params(("call_id" = Uuid, Path, description = "Our call id"), AttemptQuery, super::twilio_doc::Signature),
    request_body(content = AmdForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 204, description = "Handled"), WebhookRefusals),
)]
#[tracing::instrument(skip_all, fields(call_id = %webhook.call_id))]
async fn amd(
    State(state): State<AppState>,
    webhook: SignedWebhook,
) -> Result<StatusCode, WebhookError> {
    let verdict = AmdCallback::from_form(&webhook.form).map_err(WebhookError::BadForm)?;
    let (call_id, attempt) = (webhook.call_id, webhook.attempt);
    callbacks::answering_machine(&state.services, call_id, &verdict, attempt).await?;
    // The voicemail worker (`workers::voicemail`) carries the policy out at Twilio.
    Ok(StatusCode::NO_CONTENT)
}

/// Recording status: a finished recording is recorded as available for the recordings worker.
#[utoipa::path(
    post, path = "/twilio/recording/{call_id}", tag = openapi::tags::TWILIO,
    params(("call_id" = Uuid, Path, description = "Our call id"), AttemptQuery, super::twilio_doc::Signature),
    request_body(content = RecordingForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 204, description = "Handled"), WebhookRefusals),
)]
#[tracing::instrument(skip_all, fields(call_id = %webhook.call_id))]
async fn recording(
    State(state): State<AppState>,
    webhook: SignedWebhook,
) -> Result<StatusCode, WebhookError> {
    let report = RecordingCallback::from_form(&webhook.form).map_err(WebhookError::BadForm)?;
    let (call_id, attempt) = (webhook.call_id, webhook.attempt);
    callbacks::recording(&state.services, call_id, &report, attempt).await?;
    Ok(StatusCode::NO_CONTENT)
}
