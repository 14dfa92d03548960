//! A Twilio stand-in on loopback: the REST API (Basic auth; Calls create, fetch and update;
//! Recordings create, stop, media as WAV and delete) and, for every call created, a simulated callee that drives the call the
//! way Twilio does — signed status callbacks in order (or shuffled and duplicated), a signed
//! fetch of the voice URL whose TwiML is checked, signed async AMD verdicts, and reactions to
//! hang-ups and TwiML updates. Nothing here calls the backend's code: only HTTP.
//!
//! The callee's behaviour comes from the dialed number (SPEC §9): `+82105550 01NN`.
//!
//! | NN | callee |
//! |---|---|
//! | 05 | never answers (`no-answer` after the ring timeout, SIP 487) |
//! | 06 | busy |
//! | 07 | voicemail: answers, AMD says `machine_end_beep`, waits for the message or a hang-up |
//! | 08 | hangs up during the consent notice |
//! | 10 | unreachable: create answers 400 / 21211 |
//! | 12 | no answer on the first two attempts, then answers |
//! | others | answers and stays on the line until the media stream ends |
//!
//! Time is simulated: every delay is divided by the speed (`SANDBOX_SPEED`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use media_bridge::twilio::wire::{
    self, AmdCallback, CallResource, CallStatus, CreateCall, ERROR_AUTHENTICATION,
    ERROR_INVALID_TO, ERROR_NOT_FOUND, ErrorBody, RecordingCallback, RecordingResource,
    StatusCallback, Verb,
};
use rand::seq::SliceRandom;

mod account;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The account the sandbox accepts unless told otherwise.
pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
/// Its auth token (signs callbacks, checks Basic auth).
pub const AUTH_TOKEN: &str = "sandbox-twilio-auth-token";
/// A caller id the sandbox account owns.
pub const PHONE_NUMBER: &str = "+15005550006";

/// How the sandbox delivers callbacks.
#[derive(Debug, Clone)]
pub struct TwilioSandboxOptions {
    /// Time factor: 10 runs a 30 s ring in 3 s.
    pub speed: f64,
    /// Deliver each call's status callbacks at its end, shuffled.
    pub shuffle_callbacks: bool,
    /// Deliver every status callback twice.
    pub duplicate_callbacks: bool,
}

impl Default for TwilioSandboxOptions {
    fn default() -> Self {
        Self {
            speed: 1.0,
            shuffle_callbacks: false,
            duplicate_callbacks: false,
        }
    }
}

/// What the callee does, from the dialed number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    Answers,
    NeverAnswers,
    Busy,
    Voicemail,
    HangsUpDuringNotice,
    Unreachable,
    AnswersOnThirdAttempt,
}

impl Persona {
    /// The persona for an E.164 number (`+82105550 01NN`; anything else answers).
    pub fn of(to: &str) -> Self {
        match to.strip_prefix("+8210555001") {
            Some("05") => Self::NeverAnswers,
            Some("06") => Self::Busy,
            Some("07") => Self::Voicemail,
            Some("08") => Self::HangsUpDuringNotice,
            Some("10") => Self::Unreachable,
            Some("12") => Self::AnswersOnThirdAttempt,
            _ => Self::Answers,
        }
    }
}

/// What the sandbox saw of one call (for tests and logs).
#[derive(Debug, Clone, PartialEq)]
pub struct CallLog {
    pub sid: String,
    pub request: CreateCall,
    pub persona: Persona,
    /// Final REST status.
    pub status: String,
    /// The verbs of the TwiML our voice URL answered, when it was fetched.
    pub twiml: Option<Vec<Verb>>,
    /// What was wrong with the voice answer, if anything.
    pub twiml_problem: Option<String>,
    /// TwiML documents posted to replace the running one.
    pub twiml_updates: Vec<String>,
    /// Whether the backend hung the call up through the REST API.
    pub hung_up_by_api: bool,
    /// Recordings started through the REST API.
    pub recordings: Vec<String>,
    /// Recordings stopped through the REST API (the callee objected).
    pub recordings_stopped: Vec<String>,
    /// Where recording status goes, from the create-recording request.
    pub recording_callback: Option<String>,
    /// Recordings whose media the backend fetched (`GET …/Recordings/{Sid}.wav`).
    pub recordings_fetched: Vec<String>,
    /// Recordings the backend deleted (`DELETE …/Recordings/{Sid}.json`).
    pub recordings_deleted: Vec<String>,
    /// Callbacks the backend refused (non-2xx), as `url → status`.
    pub refused_callbacks: Vec<String>,
    /// Media Streams: 20 ms frames sent, agent frames received, `clear`s received.
    pub media_frames_sent: u64,
    pub media_frames_received: u64,
    pub clears: u64,
    /// Why the media stream could not run, if it could not.
    pub stream_problem: Option<String>,
    /// The backend ended the media stream — closed the socket or hung up through REST —
    /// rather than the callee hanging up.
    pub stream_closed_by_backend: bool,
}

struct LiveCall {
    log: CallLog,
    resource: CallResource,
    /// Woken when the backend hangs up or replaces the TwiML.
    changed: Arc<Notify>,
}

/// A recording the sandbox made: its call, when it started, and once complete its length.
struct SandboxRecording {
    call_sid: String,
    started: tokio::time::Instant,
    duration_secs: Option<u32>,
    deleted: bool,
}

struct Shared {
    /// `http://127.0.0.1:port`, for the `RecordingUrl`s it hands out.
    api_base: String,
    recordings: Mutex<HashMap<String, SandboxRecording>>,
    account_sid: String,
    auth_token: String,
    options: TwilioSandboxOptions,
    http: reqwest::Client,
    /// Where callbacks go instead of the URL's host (the sandbox plays the reverse proxy in
    /// front of `PUBLIC_BASE_URL`); `None` = the URL itself.
    deliver_to: Mutex<Option<SocketAddr>>,
    calls: Mutex<HashMap<String, LiveCall>>,
    attempts_per_number: Mutex<HashMap<String, u32>>,
    next_sid: AtomicU64,
    /// Create requests still to fail with HTTP 503 (provider outage drills).
    fail_creates: AtomicU32,
    /// The account's numbers and balance.
    account: account::Account,
}

/// A running Twilio sandbox; stops when dropped.
pub struct TwilioSandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl TwilioSandbox {
    /// The base URL to configure as `TWILIO_API_BASE`.
    pub fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The account SID it accepts.
    pub fn account_sid(&self) -> &str {
        &self.shared.account_sid
    }

    /// The auth token it accepts and signs with.
    pub fn auth_token(&self) -> &str {
        &self.shared.auth_token
    }

    /// Sends every callback to `addr`, keeping the signed public URL (as a reverse proxy does).
    pub fn deliver_to(&self, addr: SocketAddr) {
        *self.shared.deliver_to.lock().expect("sandbox lock") = Some(addr);
    }

    /// Makes the next `count` create requests fail with 503.
    pub fn fail_next_creates(&self, count: u32) {
        self.shared.fail_creates.store(count, Ordering::SeqCst);
    }

    /// Every call created so far.
    pub fn calls(&self) -> Vec<CallLog> {
        let calls = self.shared.calls.lock().expect("sandbox lock");
        let mut logs: Vec<CallLog> = calls.values().map(|c| c.log.clone()).collect();
        logs.sort_by(|a, b| a.sid.cmp(&b.sid));
        logs
    }
}

impl Drop for TwilioSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a Twilio sandbox on `127.0.0.1` with a free port.
pub async fn spawn(options: TwilioSandboxOptions) -> TwilioSandbox {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a loopback port for the Twilio sandbox");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let shared = Arc::new(Shared {
        api_base: format!("http://{addr}"),
        recordings: Mutex::default(),
        account_sid: ACCOUNT_SID.to_owned(),
        auth_token: AUTH_TOKEN.to_owned(),
        options,
        http: reqwest::Client::new(),
        deliver_to: Mutex::new(None),
        calls: Mutex::default(),
        attempts_per_number: Mutex::default(),
        next_sid: AtomicU64::new(1),
        fail_creates: AtomicU32::new(0),
        account: Default::default(),
    });
    let router = Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Calls.json",
            post(create_call),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Calls/{call}",
            get(fetch_call).post(update_call),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Calls/{call}/Recordings.json",
            post(create_recording),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Calls/{call}/Recordings/{recording}",
            post(update_recording),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Recordings/{recording}",
            get(recording_media).delete(delete_recording),
        )
        .route(
            "/2010-04-01/Accounts/{account}/IncomingPhoneNumbers.json",
            get(account::incoming_phone_numbers),
        )
        .route(
            "/2010-04-01/Accounts/{account}/OutgoingCallerIds.json",
            get(account::outgoing_caller_ids),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Balance.json",
            get(account::balance),
        )
        .with_state(shared.clone());
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            tracing::error!(error = %err, "the Twilio sandbox stopped");
        }
    });
    TwilioSandbox { addr, shared, task }
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(ErrorBody::new(status.as_u16(), code, message)),
    )
        .into_response()
}

/// Basic auth with the account's SID and token, for the account in the path.
fn authorized(shared: &Shared, headers: &HeaderMap, account: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let expected = format!("{}:{}", shared.account_sid, shared.auth_token);
    BASE64
        .decode(value.trim())
        .is_ok_and(|decoded| decoded == expected.as_bytes())
        && account == shared.account_sid
}

fn denied() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        ERROR_AUTHENTICATION,
        "Authentication Error - invalid username",
    )
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn now_rfc2822() -> String {
    chrono::Utc::now().to_rfc2822()
}

async fn create_call(
    State(shared): State<Arc<Shared>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&shared, &headers, &account) {
        return denied();
    }
    if shared
        .fail_creates
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            20500,
            "Service unavailable",
        );
    }
    if !is_form(&headers) {
        return error(
            StatusCode::BAD_REQUEST,
            21609,
            "Content-Type must be application/x-www-form-urlencoded",
        );
    }
    let form = wire::parse_form(&body);
    let request = match CreateCall::from_form(&form) {
        Ok(request) => request,
        Err(err) => return error(StatusCode::BAD_REQUEST, 21205, &err.to_string()),
    };
    for event in &request.status_callback_events {
        if !wire::STATUS_EVENTS.contains(&event.as_str()) {
            return error(
                StatusCode::BAD_REQUEST,
                21626,
                &format!("Invalid StatusCallbackEvent {event}"),
            );
        }
    }
    let persona = Persona::of(&request.to);
    if persona == Persona::Unreachable || !request.to.starts_with('+') {
        return error(
            StatusCode::BAD_REQUEST,
            ERROR_INVALID_TO,
            &format!(
                "The 'To' number {} is not a valid phone number.",
                request.to
            ),
        );
    }
    if request.from != PHONE_NUMBER {
        return error(
            StatusCode::BAD_REQUEST,
            21210,
            "The source phone number provided is not yet verified for your account.",
        );
    }
    let attempt = {
        let mut attempts = shared.attempts_per_number.lock().expect("sandbox lock");
        let count = attempts.entry(request.to.clone()).or_insert(0);
        *count += 1;
        *count
    };
    let sid = format!("CA{:032x}", shared.next_sid.fetch_add(1, Ordering::SeqCst));
    let resource = CallResource {
        sid: sid.clone(),
        account_sid: shared.account_sid.clone(),
        to: request.to.clone(),
        from: request.from.clone(),
        status: "queued".into(),
        date_created: Some(now_rfc2822()),
        date_updated: Some(now_rfc2822()),
        start_time: None,
        end_time: None,
        duration: None,
        price: None,
        price_unit: Some("USD".into()),
        direction: Some("outbound-api".into()),
        answered_by: None,
        api_version: Some("2010-04-01".into()),
        parent_call_sid: None,
        queue_time: Some("0".into()),
        uri: Some(format!(
            "/2010-04-01/Accounts/{}/Calls/{sid}.json",
            shared.account_sid
        )),
    };
    let changed = Arc::new(Notify::new());
    shared.calls.lock().expect("sandbox lock").insert(
        sid.clone(),
        LiveCall {
            log: CallLog {
                sid: sid.clone(),
                request: request.clone(),
                persona,
                status: "queued".into(),
                twiml: None,
                twiml_problem: None,
                twiml_updates: Vec::new(),
                hung_up_by_api: false,
                recordings: Vec::new(),
                recordings_stopped: Vec::new(),
                recording_callback: None,
                recordings_fetched: Vec::new(),
                recordings_deleted: Vec::new(),
                refused_callbacks: Vec::new(),
                media_frames_sent: 0,
                media_frames_received: 0,
                clears: 0,
                stream_problem: None,
                stream_closed_by_backend: false,
            },
            resource: resource.clone(),
            changed: changed.clone(),
        },
    );
    let driver = Driver {
        shared: shared.clone(),
        sid,
        request,
        persona,
        attempt,
        changed,
        sequence: 0,
        pending: Vec::new(),
    };
    tokio::spawn(driver.run());
    (StatusCode::CREATED, axum::Json(resource)).into_response()
}

fn call_sid_of(path_segment: &str) -> &str {
    path_segment.trim_end_matches(".json")
}

async fn fetch_call(
    State(shared): State<Arc<Shared>>,
    Path((account, call)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&shared, &headers, &account) {
        return denied();
    }
    let calls = shared.calls.lock().expect("sandbox lock");
    match calls.get(call_sid_of(&call)) {
        Some(live) => axum::Json(live.resource.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            ERROR_NOT_FOUND,
            "The requested resource was not found",
        ),
    }
}

async fn update_call(
    State(shared): State<Arc<Shared>>,
    Path((account, call)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&shared, &headers, &account) {
        return denied();
    }
    let form = wire::parse_form(&body);
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut calls = shared.calls.lock().expect("sandbox lock");
    let Some(live) = calls.get_mut(call_sid_of(&call)) else {
        return error(
            StatusCode::NOT_FOUND,
            ERROR_NOT_FOUND,
            "The requested resource was not found",
        );
    };
    let ended = live
        .resource
        .status
        .parse::<CallStatus>()
        .is_ok_and(CallStatus::is_terminal);
    if ended {
        // Twilio: a call that is over cannot be modified.
        return error(
            StatusCode::NOT_FOUND,
            ERROR_NOT_FOUND,
            "Call is not in-progress. Cannot redirect.",
        );
    }
    if let Some(status) = field("Status") {
        if status != "completed" && status != "canceled" {
            return error(StatusCode::BAD_REQUEST, 21218, "Invalid Status");
        }
        live.log.hung_up_by_api = true;
    } else if let Some(twiml) = field("Twiml") {
        if twiml.len() > 4000 {
            return error(StatusCode::BAD_REQUEST, 21232, "Twiml is too long");
        }
        if let Err(err) = wire::parse_twiml(&twiml) {
            return error(StatusCode::BAD_REQUEST, 12100, &err.to_string());
        }
        live.log.twiml_updates.push(twiml);
    } else {
        return error(
            StatusCode::BAD_REQUEST,
            21205,
            "Either Status, Url or Twiml is required",
        );
    }
    live.changed.notify_one();
    axum::Json(live.resource.clone()).into_response()
}

async fn create_recording(
    State(shared): State<Arc<Shared>>,
    Path((account, call)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&shared, &headers, &account) {
        return denied();
    }
    let form = wire::parse_form(&body);
    let callback = form
        .iter()
        .find(|(k, _)| k == "RecordingStatusCallback")
        .map(|(_, v)| v.clone());
    let mut calls = shared.calls.lock().expect("sandbox lock");
    let Some(live) = calls.get_mut(&call) else {
        return error(
            StatusCode::NOT_FOUND,
            ERROR_NOT_FOUND,
            "The requested resource was not found",
        );
    };
    if live.resource.status != "in-progress" {
        return error(
            StatusCode::BAD_REQUEST,
            21220,
            "Requested resource is not eligible for recording",
        );
    }
    let sid = format!("RE{:032x}", shared.next_sid.fetch_add(1, Ordering::SeqCst));
    live.log.recordings.push(sid.clone());
    live.log.recording_callback = callback;
    shared.recordings.lock().expect("sandbox lock").insert(
        sid.clone(),
        SandboxRecording {
            call_sid: call.clone(),
            started: tokio::time::Instant::now(),
            duration_secs: None,
            deleted: false,
        },
    );
    let resource = RecordingResource {
        sid,
        call_sid: call.clone(),
        status: "in-progress".into(),
        channels: Some(2),
    };
    (StatusCode::CREATED, axum::Json(resource)).into_response()
}

/// `POST …/Recordings/{Sid|Twilio.CURRENT}.json` with `Status=stopped|paused|in-progress`.
async fn update_recording(
    State(shared): State<Arc<Shared>>,
    Path((account, call, recording)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&shared, &headers, &account) {
        return denied();
    }
    let form = wire::parse_form(&body);
    let status = form
        .iter()
        .find(|(k, _)| k == "Status")
        .map(|(_, v)| v.clone());
    if !matches!(
        status.as_deref(),
        Some("stopped" | "paused" | "in-progress")
    ) {
        return error(
            StatusCode::BAD_REQUEST,
            21205,
            "Status must be stopped, paused or in-progress",
        );
    }
    let mut calls = shared.calls.lock().expect("sandbox lock");
    let live = calls.get_mut(&call);
    let recording = recording.trim_end_matches(".json");
    let Some(live) = live else {
        return error(
            StatusCode::NOT_FOUND,
            ERROR_NOT_FOUND,
            "The requested resource was not found",
        );
    };
    let sid = if recording == "Twilio.CURRENT" {
        live.log.recordings.last().cloned()
    } else {
        live.log
            .recordings
            .iter()
            .find(|r| *r == recording)
            .cloned()
    };
    let Some(sid) = sid else {
        return error(
            StatusCode::NOT_FOUND,
            ERROR_NOT_FOUND,
            "No recording in progress",
        );
    };
    if status.as_deref() == Some("stopped") {
        live.log.recordings_stopped.push(sid.clone());
    }
    let resource = RecordingResource {
        sid,
        call_sid: call.clone(),
        status: status.unwrap_or_default(),
        channels: Some(2),
    };
    axum::Json(resource).into_response()
}

/// The longest recording the sandbox serves (longer calls are cut, to keep tests light).
pub const MAX_RECORDING_SECS: u32 = 600;

/// The audio of a sandbox recording: a 16-bit PCM WAV, 8 kHz, two channels (as `RecordingChannels=dual`
/// gives), `duration_secs` long, with a tone per channel that depends on the recording id — so a
/// test can tell exactly which recording it got back, byte for byte.
pub fn recording_wav(recording_sid: &str, duration_secs: u32) -> Vec<u8> {
    const RATE: u32 = 8_000;
    const CHANNELS: u16 = 2;
    let seed = recording_sid.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    let tones = [
        300.0 + f64::from(seed % 400),
        700.0 + f64::from((seed / 400) % 400),
    ];
    let frames = RATE * duration_secs.min(MAX_RECORDING_SECS);
    let data_len = frames * u32::from(CHANNELS) * 2;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&CHANNELS.to_le_bytes());
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&(RATE * u32::from(CHANNELS) * 2).to_le_bytes());
    wav.extend_from_slice(&(CHANNELS * 2).to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for frame in 0..frames {
        let t = f64::from(frame) / f64::from(RATE);
        for tone in tones {
            let sample = (f64::sin(2.0 * std::f64::consts::PI * tone * t) * 8_000.0) as i16;
            wav.extend_from_slice(&sample.to_le_bytes());
        }
    }
    wav
}

/// `GET …/Recordings/{Sid}.wav`: the media of a completed recording.
async fn recording_media(
    State(shared): State<Arc<Shared>>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&shared, &headers, &account) {
        return denied();
    }
    let not_found = || {
        error(
            StatusCode::NOT_FOUND,
            ERROR_NOT_FOUND,
            "The requested resource was not found",
        )
    };
    let Some(sid) = file.strip_suffix(".wav") else {
        return not_found();
    };
    let (call_sid, duration) = {
        let recordings = shared.recordings.lock().expect("sandbox lock");
        match recordings.get(sid) {
            Some(r) if !r.deleted => match r.duration_secs {
                Some(duration) => (r.call_sid.clone(), duration),
                None => return not_found(),
            },
            _ => return not_found(),
        }
    };
    if let Some(live) = shared
        .calls
        .lock()
        .expect("sandbox lock")
        .get_mut(&call_sid)
    {
        live.log.recordings_fetched.push(sid.to_owned());
    }
    (
        [(header::CONTENT_TYPE, wire::WAV_CONTENT_TYPE)],
        recording_wav(sid, duration),
    )
        .into_response()
}

/// `DELETE …/Recordings/{Sid}.json`: 204, and the media is gone.
async fn delete_recording(
    State(shared): State<Arc<Shared>>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&shared, &headers, &account) {
        return denied();
    }
    let sid = file.trim_end_matches(".json");
    let call_sid = {
        let mut recordings = shared.recordings.lock().expect("sandbox lock");
        match recordings.get_mut(sid) {
            Some(r) if !r.deleted => {
                r.deleted = true;
                r.call_sid.clone()
            }
            _ => {
                return error(
                    StatusCode::NOT_FOUND,
                    ERROR_NOT_FOUND,
                    "The requested resource was not found",
                );
            }
        }
    };
    if let Some(live) = shared
        .calls
        .lock()
        .expect("sandbox lock")
        .get_mut(&call_sid)
    {
        live.log.recordings_deleted.push(sid.to_owned());
    }
    StatusCode::NO_CONTENT.into_response()
}

/// One simulated call, from ringing to its end.
struct Driver {
    shared: Arc<Shared>,
    sid: String,
    request: CreateCall,
    persona: Persona,
    attempt: u32,
    changed: Arc<Notify>,
    sequence: u32,
    /// Status callbacks held back to be shuffled at the end.
    pending: Vec<StatusCallback>,
}

impl Driver {
    async fn pause(&self, millis: u64) {
        let scaled = (millis as f64 / self.shared.options.speed).max(1.0);
        tokio::time::sleep(Duration::from_millis(scaled as u64)).await;
    }

    fn set_status(&self, status: CallStatus) {
        let mut calls = self.shared.calls.lock().expect("sandbox lock");
        if let Some(live) = calls.get_mut(&self.sid) {
            live.resource.status = match status {
                CallStatus::Initiated => "queued".into(),
                other => other.as_str().into(),
            };
            live.resource.date_updated = Some(now_rfc2822());
            live.log.status = live.resource.status.clone();
        }
    }

    fn hung_up_by_api(&self) -> bool {
        let calls = self.shared.calls.lock().expect("sandbox lock");
        calls.get(&self.sid).is_some_and(|c| c.log.hung_up_by_api)
    }

    fn twiml_updated(&self) -> bool {
        let calls = self.shared.calls.lock().expect("sandbox lock");
        calls
            .get(&self.sid)
            .is_some_and(|c| !c.log.twiml_updates.is_empty())
    }

    fn note(&self, edit: impl FnOnce(&mut CallLog)) {
        let mut calls = self.shared.calls.lock().expect("sandbox lock");
        if let Some(live) = calls.get_mut(&self.sid) {
            edit(&mut live.log);
        }
    }

    async fn progress(&mut self, status: CallStatus, duration: Option<u32>, sip: Option<u16>) {
        // `initiated` and `ringing` are sent only when asked for; terminal ones always.
        let event = match status {
            CallStatus::Initiated => "initiated",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "answered",
            _ => "completed",
        };
        self.set_status(status);
        if !self
            .request
            .status_callback_events
            .iter()
            .any(|e| e == event)
            && event != "completed"
        {
            return;
        }
        if self.request.status_callback.is_empty() {
            return;
        }
        let callback = StatusCallback {
            call_sid: self.sid.clone(),
            account_sid: self.shared.account_sid.clone(),
            call_status: status,
            sequence_number: Some(self.sequence),
            call_duration: duration,
            sip_response_code: sip,
            error_code: None,
            timestamp: Some(now_rfc2822()),
        };
        self.sequence += 1;
        if self.shared.options.shuffle_callbacks {
            self.pending.push(callback);
            return;
        }
        self.deliver_status(&callback).await;
    }

    async fn deliver_status(&self, callback: &StatusCallback) {
        let form = callback.to_form(&self.request.from, &self.request.to);
        let url = self.request.status_callback.clone();
        self.post(&url, &form).await;
        if self.shared.options.duplicate_callbacks {
            self.post(&url, &form).await;
        }
    }

    /// Posts a signed form to one of the backend's URLs; returns the response body.
    async fn post(&self, url: &str, form: &wire::Form) -> Option<String> {
        let signature = wire::compute_signature(&self.shared.auth_token, url, form);
        let target = self.target(url);
        let response = self
            .shared
            .http
            .post(&target)
            .header(wire::SIGNATURE_HEADER, signature)
            .header(
                header::CONTENT_TYPE.as_str(),
                "application/x-www-form-urlencoded",
            )
            .header(header::USER_AGENT.as_str(), "TwilioProxy/1.1")
            .body(wire::encode_form(form))
            .send()
            .await;
        match response {
            Ok(response) if response.status().is_success() => response.text().await.ok(),
            Ok(response) => {
                let status = response.status();
                self.note(|log| log.refused_callbacks.push(format!("{url} → {status}")));
                None
            }
            Err(err) => {
                self.note(|log| log.refused_callbacks.push(format!("{url} → {err}")));
                None
            }
        }
    }

    /// The URL the request really goes to: the public one, or the same path on `deliver_to`.
    fn target(&self, url: &str) -> String {
        let Some(addr) = *self.shared.deliver_to.lock().expect("sandbox lock") else {
            return url.to_owned();
        };
        let path = url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("/");
        format!("http://{addr}{path}")
    }

    async fn run(mut self) {
        self.pause(50).await;
        self.progress(CallStatus::Initiated, None, None).await;
        match self.persona {
            Persona::Busy => {
                self.pause(500).await;
                self.progress(CallStatus::Busy, Some(0), Some(486)).await;
            }
            Persona::NeverAnswers => self.ring_out().await,
            Persona::AnswersOnThirdAttempt if self.attempt < 3 => self.ring_out().await,
            // Refused at create; a call that got this far fails the way an unknown number does.
            Persona::Unreachable => {
                self.progress(CallStatus::Failed, Some(0), Some(404)).await;
            }
            _ => self.answer().await,
        }
        self.flush().await;
    }

    /// Rings for the whole timeout, then gives up as Twilio does (SIP 487).
    async fn ring_out(&mut self) {
        self.pause(200).await;
        self.progress(CallStatus::Ringing, None, None).await;
        self.pause(u64::from(self.request.timeout_secs) * 1000)
            .await;
        self.progress(CallStatus::NoAnswer, Some(0), Some(487))
            .await;
    }

    async fn answer(&mut self) {
        self.pause(200).await;
        self.progress(CallStatus::Ringing, None, None).await;
        self.pause(2000).await;
        if self.hung_up_by_api() {
            self.progress(CallStatus::Canceled, Some(0), Some(487))
                .await;
            return;
        }
        self.progress(CallStatus::InProgress, None, None).await;
        let started = tokio::time::Instant::now();
        let verbs = self.fetch_twiml().await;
        if self.persona == Persona::Voicemail {
            self.voicemail().await;
        } else if self.persona == Persona::HangsUpDuringNotice {
            // Gone before the notice ends: the stream never starts.
            self.pause(1500).await;
        } else if let Some(verbs) = verbs {
            self.amd("human").await;
            self.execute(&verbs).await;
        }
        let secs = (started.elapsed().as_secs_f64() * self.shared.options.speed).round() as u32;
        self.progress(CallStatus::Completed, Some(secs.max(1)), None)
            .await;
        let (recordings, callback) = {
            let calls = self.shared.calls.lock().expect("sandbox lock");
            calls.get(&self.sid).map_or((Vec::new(), None), |c| {
                (c.log.recordings.clone(), c.log.recording_callback.clone())
            })
        };
        if let Some(url) = callback {
            for recording in recordings {
                let duration = self.complete_recording(&recording);
                let form = RecordingCallback {
                    call_sid: self.sid.clone(),
                    account_sid: self.shared.account_sid.clone(),
                    recording_sid: recording.clone(),
                    recording_url: Some(format!(
                        "{}{}",
                        self.shared.api_base,
                        wire::recording_path(&self.shared.account_sid, &recording, "")
                    )),
                    recording_status: "completed".to_owned(),
                    recording_duration: Some(duration),
                }
                .to_form();
                self.post(&url, &form).await;
            }
        }
        let mut calls = self.shared.calls.lock().expect("sandbox lock");
        if let Some(live) = calls.get_mut(&self.sid) {
            live.resource.duration = Some(secs.max(1).to_string());
            live.resource.end_time = Some(now_rfc2822());
            // Twilio bills per started minute at a rate that depends on the destination.
            let minutes = secs.max(1).div_ceil(60);
            live.resource.price = Some(format!("-{:.4}", f64::from(minutes) * 0.0135));
        }
    }

    /// Marks a recording complete (its media becomes available) and returns its length in
    /// simulated seconds.
    fn complete_recording(&self, recording_sid: &str) -> u32 {
        let mut recordings = self.shared.recordings.lock().expect("sandbox lock");
        let Some(recording) = recordings.get_mut(recording_sid) else {
            return 1;
        };
        let secs = recording.started.elapsed().as_secs_f64() * self.shared.options.speed;
        let duration = (secs.round() as u32).clamp(1, MAX_RECORDING_SECS);
        recording.duration_secs = Some(duration);
        duration
    }

    /// Fetches the voice URL like Twilio and checks the answer; `None` if it is unusable.
    async fn fetch_twiml(&self) -> Option<Vec<Verb>> {
        let mut form = StatusCallback {
            call_sid: self.sid.clone(),
            account_sid: self.shared.account_sid.clone(),
            call_status: CallStatus::InProgress,
            sequence_number: None,
            call_duration: None,
            sip_response_code: None,
            error_code: None,
            timestamp: None,
        }
        .to_form(&self.request.from, &self.request.to);
        form.retain(|(k, _)| k != "CallbackSource");
        let url = self.request.url.clone();
        let Some(body) = self.post(&url, &form).await else {
            self.note(|log| log.twiml_problem = Some("the voice URL failed".into()));
            return None;
        };
        match wire::parse_twiml(&body) {
            Ok(verbs) => {
                let problem = check_consent_twiml(&verbs);
                self.note(|log| {
                    log.twiml = Some(verbs.clone());
                    log.twiml_problem = problem;
                });
                Some(verbs)
            }
            Err(err) => {
                self.note(|log| log.twiml_problem = Some(err.to_string()));
                None
            }
        }
    }

    async fn amd(&self, answered_by: &str) {
        let Some(url) = self.request.async_amd_status_callback.clone() else {
            return;
        };
        let verdict = AmdCallback {
            call_sid: self.sid.clone(),
            account_sid: self.shared.account_sid.clone(),
            answered_by: answered_by.to_owned(),
            machine_detection_duration_ms: Some(if answered_by == "human" { 1200 } else { 4200 }),
        };
        self.post(&url, &verdict.to_form()).await;
    }

    /// An answering machine: greeting, beep, then whatever the backend decides.
    async fn voicemail(&self) {
        self.pause(4000).await;
        self.amd("machine_end_beep").await;
        // Wait for the message (TwiML update) or a hang-up, at most the 30 s a box records.
        let changed = self.changed.clone();
        let _ = tokio::time::timeout(
            Duration::from_millis((30_000.0 / self.shared.options.speed) as u64),
            changed.notified(),
        )
        .await;
        if self.twiml_updated() {
            // The message plays (a few seconds), then `<Hangup/>`.
            self.pause(5000).await;
        }
    }

    /// Runs the TwiML verbs after the voice answer: the notice, then the stream.
    async fn execute(&self, verbs: &[Verb]) {
        for verb in verbs {
            if self.hung_up_by_api() {
                return;
            }
            match verb {
                Verb::Say { text, .. } => {
                    // About 6 Korean syllables a second.
                    self.pause(text.chars().count() as u64 * 160).await;
                }
                Verb::Pause { length } => self.pause(u64::from(*length) * 1000).await,
                Verb::ConnectStream { url, parameters } => {
                    // Twilio goes on to the next verb once the socket closes (or fails).
                    self.stream(url, parameters).await;
                }
                Verb::Hangup => return,
            }
        }
    }

    /// The Media Streams client: `connected`, `start` with the parameters, 20 ms µ-law frames
    /// (the first ones carry the persona, see [`crate::elevenlabs::persona_frame`]) until the
    /// backend closes the socket, the backend hangs up, or two simulated minutes pass.
    async fn stream(&self, url: &str, parameters: &std::collections::BTreeMap<String, String>) {
        use futures::{SinkExt, StreamExt};
        use media_bridge::twilio::wire::{
            FromTwilio, MediaFormat, MediaPayload, StreamStart, StreamStop, ToTwilio,
        };
        use tokio_tungstenite::tungstenite::Message;

        let target = match *self.shared.deliver_to.lock().expect("sandbox lock") {
            Some(addr) => {
                let path = url
                    .split_once("://")
                    .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
                    .unwrap_or_else(|| "/".into());
                format!("ws://{addr}{path}")
            }
            None => url.to_owned(),
        };
        let mut socket = match tokio_tungstenite::connect_async(target.as_str()).await {
            Ok((socket, _)) => socket,
            Err(err) => {
                self.note(|log| log.stream_problem = Some(format!("connect: {err}")));
                return;
            }
        };
        let stream_sid = format!(
            "MZ{:032x}",
            self.shared.next_sid.fetch_add(1, Ordering::SeqCst)
        );
        let account_sid = self.shared.account_sid.clone();
        let text = |message: &FromTwilio| {
            Message::text(serde_json::to_string(message).expect("Media Streams messages serialize"))
        };
        let connected = FromTwilio::Connected {
            protocol: "Call".into(),
            version: "1.0.0".into(),
        };
        let start = FromTwilio::Start {
            sequence_number: "1".into(),
            start: StreamStart {
                account_sid: account_sid.clone(),
                stream_sid: stream_sid.clone(),
                call_sid: self.sid.clone(),
                tracks: vec!["inbound".into()],
                custom_parameters: parameters.clone(),
                media_format: Some(MediaFormat {
                    encoding: "audio/x-mulaw".into(),
                    sample_rate: 8000,
                    channels: 1,
                }),
            },
            stream_sid: stream_sid.clone(),
        };
        if socket.send(text(&connected)).await.is_err() || socket.send(text(&start)).await.is_err()
        {
            self.note(|log| log.stream_problem = Some("closed during the handshake".into()));
            return;
        }
        let persona = self
            .request
            .to
            .strip_prefix("+8210555001")
            .unwrap_or("01")
            .to_owned();
        let frame_every = Duration::from_secs_f64((0.020 / self.shared.options.speed).max(0.000_5));
        let mut ticker = tokio::time::interval(frame_every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let max_frames = 6_000u64; // two minutes of audio
        let (mut sent, mut received, mut clears) = (0u64, 0u64, 0u64);
        let mut sequence = 2u64;
        let closed_by_backend = loop {
            tokio::select! {
                _ = ticker.tick() => {
                    let hung_up = self.hung_up_by_api();
                    if hung_up || sent >= max_frames {
                        let stop = FromTwilio::Stop {
                            sequence_number: sequence.to_string(),
                            stop: StreamStop { account_sid: account_sid.clone(), call_sid: self.sid.clone() },
                            stream_sid: stream_sid.clone(),
                        };
                        let _ = socket.send(text(&stop)).await;
                        let _ = socket.close(None).await;
                        break hung_up;
                    }
                    let audio = if sent < 5 {
                        crate::elevenlabs::persona_frame(&persona)
                    } else {
                        crate::probe::frame().unwrap_or_else(|| vec![0xFF; 160])
                    };
                    sent += 1;
                    let media = FromTwilio::Media {
                        sequence_number: sequence.to_string(),
                        media: MediaPayload {
                            track: Some("inbound".into()),
                            chunk: Some(sent.to_string()),
                            timestamp: Some((sent * 20).to_string()),
                            payload: BASE64.encode(audio),
                        },
                        stream_sid: stream_sid.clone(),
                    };
                    sequence += 1;
                    if socket.send(text(&media)).await.is_err() {
                        break true;
                    }
                }
                incoming = socket.next() => match incoming {
                    Some(Ok(Message::Text(body))) => match serde_json::from_str::<ToTwilio>(body.as_str()) {
                        Ok(ToTwilio::Media { media, .. }) => {
                            if BASE64.decode(media.payload).is_ok() {
                                received += 1;
                            }
                        }
                        Ok(ToTwilio::Clear { .. }) => clears += 1,
                        Ok(ToTwilio::Mark { .. }) => {}
                        Err(err) => {
                            self.note(|log| log.stream_problem = Some(format!("unreadable message: {err}")));
                        }
                    },
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break true,
                    Some(Ok(_)) => {}
                },
            }
        };
        self.note(|log| {
            log.media_frames_sent = sent;
            log.media_frames_received = received;
            log.clears = clears;
            log.stream_closed_by_backend = closed_by_backend;
        });
    }

    async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.shuffle(&mut rand::rng());
        for callback in &pending {
            self.deliver_status(callback).await;
        }
    }
}

/// What Twilio would trip over, or a compliance rule broken, in a voice answer: the consent
/// `<Say language="ko-KR">` must run before `<Connect><Stream>`, the stream URL must be `wss://`
/// (or `ws://` on loopback) without a query string, and each parameter under 500 characters.
pub fn check_consent_twiml(verbs: &[Verb]) -> Option<String> {
    let say = verbs
        .iter()
        .position(|v| matches!(v, Verb::Say { language, .. } if language == "ko-KR"));
    let connect = verbs
        .iter()
        .position(|v| matches!(v, Verb::ConnectStream { .. }));
    let (Some(say), Some(connect)) = (say, connect) else {
        return Some("the answer lacks a ko-KR <Say> or a <Connect><Stream>".into());
    };
    if say > connect {
        return Some("the consent <Say> comes after <Connect>".into());
    }
    if let Some(Verb::ConnectStream { url, parameters }) = verbs.get(connect) {
        let loopback = url.starts_with("ws://127.0.0.1") || url.starts_with("ws://localhost");
        if !(url.starts_with("wss://") || loopback) {
            return Some(format!("stream url {url} is not wss://"));
        }
        if url.contains('?') {
            return Some("stream url has a query string".into());
        }
        if parameters
            .iter()
            .any(|(name, value)| name.len() + value.len() >= 500)
        {
            return Some("a <Parameter> is 500 characters or more".into());
        }
    }
    None
}

/// The recording-callback form Twilio would post for `recording_sid` (exposed for tests of the
/// backend's recording webhook).
pub fn recording_form(call_sid: &str, recording_sid: &str, status: &str) -> wire::Form {
    RecordingCallback {
        call_sid: call_sid.to_owned(),
        account_sid: ACCOUNT_SID.to_owned(),
        recording_sid: recording_sid.to_owned(),
        recording_url: Some(format!(
            "https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid}"
        )),
        recording_status: status.to_owned(),
        recording_duration: Some(12),
    }
    .to_form()
}
