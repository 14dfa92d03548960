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
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use protocols::twilio::{
    self as wire, AmdCallback, CallResource, CallStatus, ConnectionOverrides, CreateCall,
    ERROR_AUTHENTICATION, ERROR_INVALID_TO, ERROR_NOT_FOUND, ErrorBody, RecordingCallback,
    RecordingList, RecordingResource, StatusCallback, Verb,
};
use rand::seq::SliceRandom;

use crate::loopback::{self, Served};

mod account;
mod callee;
mod calls;
mod load_stream;
mod recordings;

pub use callee::check_consent_twiml;
pub use recordings::{MAX_RECORDING_SECS, recording_form, recording_wav};
use tokio::sync::Notify;

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
    /// Load mode: every answering callee streams stamped real-time frames and times their
    /// echoes (see [`crate::load`]) instead of playing its persona.
    pub load: Option<Arc<crate::load::LoadCallee>>,
}

impl Default for TwilioSandboxOptions {
    fn default() -> Self {
        Self {
            speed: 1.0,
            shuffle_callbacks: false,
            duplicate_callbacks: false,
            load: None,
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
    /// What the backend asked of the call's recordings.
    pub recordings: RecordingLog,
    /// Callbacks the backend refused (non-2xx), as `url → status`.
    pub refused_callbacks: Vec<String>,
    /// How the media stream went.
    pub stream: StreamLog,
    /// The call reached its `TimeLimit` and was ended by Twilio.
    pub time_limit_reached: bool,
}

/// What the backend asked of a call's recordings through the REST API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordingLog {
    /// Recordings started.
    pub started: Vec<String>,
    /// Recordings stopped (the callee objected).
    pub stopped: Vec<String>,
    /// Where recording status goes, from the create-recording request.
    pub callback: Option<String>,
    /// Recordings whose media the backend fetched (`GET …/Recordings/{Sid}.wav`).
    pub fetched: Vec<String>,
    /// Recordings the backend deleted (`DELETE …/Recordings/{Sid}.json`).
    pub deleted: Vec<String>,
}

/// How a call's Media Stream went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamLog {
    /// 20 ms frames sent, agent frames received, `clear`s received.
    pub frames_sent: u64,
    pub frames_received: u64,
    pub clears: u64,
    /// Why the stream could not run, if it could not.
    pub problem: Option<String>,
    /// The backend ended the stream — closed the socket or hung up through REST — rather than
    /// the callee hanging up.
    pub closed_by_backend: bool,
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
    /// When it started, RFC 2822 (`date_created`, `start_time`).
    created: String,
    /// `in-progress`, `paused`, `stopped` or, once the call is over, `completed`.
    status: String,
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
    /// Part of every sid it makes, so two sandboxes (two processes) never hand out the same
    /// sid, as Twilio's are unique everywhere.
    instance: u32,
    /// Create requests still to fail with HTTP 503 (provider outage drills).
    fail_creates: AtomicU32,
    lose_create_answers: AtomicU32,
    /// The account's numbers and balance.
    account: account::Account,
}

/// A running Twilio sandbox; stops when dropped.
pub struct TwilioSandbox {
    server: Served,
    shared: Arc<Shared>,
}

impl TwilioSandbox {
    /// The base URL to configure as `TWILIO_API_BASE`.
    pub fn api_base(&self) -> String {
        format!("http://{}", loopback::reachable(self.server.addr))
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

    /// Makes the next `count` create requests create their call but answer 500, as when
    /// Twilio's answer is lost on the way: the client cannot know the call exists.
    pub fn lose_next_create_answers(&self, count: u32) {
        self.shared
            .lose_create_answers
            .store(count, Ordering::SeqCst);
    }

    /// Every call created so far.
    pub fn calls(&self) -> Vec<CallLog> {
        let calls = self.shared.calls.lock().expect("sandbox lock");
        let mut logs: Vec<CallLog> = calls.values().map(|c| c.log.clone()).collect();
        logs.sort_by(|a, b| a.sid.cmp(&b.sid));
        logs
    }
}

/// Starts a Twilio sandbox on `127.0.0.1` with a free port.
pub async fn spawn(options: TwilioSandboxOptions) -> TwilioSandbox {
    serve(loopback::bind("Twilio").await, options)
}

/// Starts a Twilio sandbox on `addr` (port 0: a free one), as `callbot sandbox` does.
pub async fn spawn_at(
    addr: SocketAddr,
    options: TwilioSandboxOptions,
) -> std::io::Result<TwilioSandbox> {
    Ok(serve(loopback::bind_to("Twilio", addr).await?, options))
}

fn serve(bound: loopback::Bound, options: TwilioSandboxOptions) -> TwilioSandbox {
    let addr = loopback::reachable(bound.addr);
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
        instance: rand::random(),
        fail_creates: AtomicU32::new(0),
        lose_create_answers: AtomicU32::new(0),
        account: Default::default(),
    });
    let router = Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Calls.json",
            get(calls::list_calls).post(calls::create_call),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Calls/{call}",
            get(calls::fetch_call).post(calls::update_call),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Calls/{call}/Recordings.json",
            get(recordings::list_call_recordings).post(recordings::create_recording),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Calls/{call}/Recordings/{recording}",
            get(recordings::fetch_call_recording).post(recordings::update_recording),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Recordings/{recording}",
            get(recordings::recording_media).delete(recordings::delete_recording),
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
            "/2010-04-01/Accounts/{account}",
            get(account::fetch_account),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Balance.json",
            get(account::balance),
        )
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            require_basic_auth,
        ))
        .with_state(shared.clone());
    let server = bound.serve(router, "Twilio");
    TwilioSandbox { server, shared }
}

impl Shared {
    /// A new sid of kind `prefix` (`CA`, `RE`, `MZ`): 32 hex digits, this sandbox's own in
    /// front, a counter (in creation order) behind.
    fn new_sid(&self, prefix: &str) -> String {
        let serial = self.next_sid.fetch_add(1, Ordering::SeqCst);
        format!("{prefix}{:08x}{serial:024x}", self.instance)
    }

    /// Writes down something that happened to the call `call_sid` in its log, if it is known.
    fn note_call(&self, call_sid: &str, edit: impl FnOnce(&mut CallLog)) {
        let mut calls = self.calls.lock().expect("sandbox lock");
        if let Some(live) = calls.get_mut(call_sid) {
            edit(&mut live.log);
        }
    }
}

/// The creation order of a sid made by [`Shared::new_sid`].
fn serial_of(sid: &str) -> u64 {
    let hex = sid.get(sid.len().saturating_sub(24)..).unwrap_or_default();
    u64::from_str_radix(hex, 16).unwrap_or(0)
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(ErrorBody::new(status.as_u16(), code, message)),
    )
        .into_response()
}

/// The Twilio 404 for a call or recording the sandbox does not have.
fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        ERROR_NOT_FOUND,
        "The requested resource was not found",
    )
}

/// The Twilio 503 of an outage drill.
fn unavailable() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        20500,
        "Service unavailable",
    )
}

/// Every REST route answers 401 unless [`authorized`] for the account in its path.
async fn require_basic_auth(
    State(shared): State<Arc<Shared>>,
    Path(params): Path<HashMap<String, String>>,
    request: Request,
    next: Next,
) -> Response {
    // `/Accounts/{sid}.json` names the account with the suffix.
    let account = params.get("account").map_or("", String::as_str);
    let account = account.strip_suffix(".json").unwrap_or(account);
    if !authorized(&shared, request.headers(), account) {
        return denied();
    }
    next.run(request).await
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
        && account.trim_end_matches(".json") == shared.account_sid
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
