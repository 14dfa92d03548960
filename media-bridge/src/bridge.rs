//! The media bridge: one Twilio Media Streams socket joined to one ElevenLabs agent socket
//! (PROTOCOLS §E7).
//!
//! After Twilio's `start` and the per-call token check it opens the agent socket through a
//! signed URL, sends the script as the prompt override, the greeting as the first message and
//! the contact's context as dynamic variables, then passes base64 µ-law both ways untouched.
//! Pings are answered, `interruption` becomes Twilio `clear` (and older agent audio is dropped),
//! the transcript is kept, client-tool calls become domain commands through [`CallPort`], and
//! when either side ends the other is closed — the Twilio call is also hung up through REST so
//! it never stays open after the agent is gone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use domain::call::CallResult;
use futures::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;
use tokio_websockets::{
    ClientBuilder, CloseCode, Connector, Limits, MaybeTlsStream, Message, ServerBuilder,
    WebSocketStream,
};
use uuid::Uuid;

use secrecy::{ExposeSecret, SecretString};

use crate::media_threads::MediaThreads;
use crate::router::{
    DEFAULT_UNVERIFIED_PER_ADDRESS, MAX_MESSAGE, MAX_MESSAGE_BEFORE_START, UnverifiedPermit,
    UnverifiedSockets,
};
use crate::token::verify_stream_token;
use crate::twilio::TwilioClient;
use crate::twilio::client::TwilioError;
use protocols::elevenlabs::{
    AgentOverride, CLOSE_NORMAL, ClientMessage, ClientToolCall, ConversationConfigOverride,
    PromptOverride, ServerMessage, SignedUrl, TtsOverride,
};
use protocols::frames::{self, FromAgentFrame, FromTwilioFrame};
use protocols::twilio::{FromTwilio, ToTwilio};

/// Empty recognitions in a row after which the agent is told to ask again.
pub const ASK_AGAIN_AFTER: u32 = 3;
/// Empty recognitions in a row after which the call fails and is hung up.
pub const FAIL_AFTER: u32 = 5;
/// What the agent says when it did not understand.
pub const ASK_AGAIN: &str = "죄송합니다, 다시 말씀해 주시겠어요?";
/// How long a media socket may take to send a verified `start` unless configured otherwise
/// (`MEDIA_START_DEADLINE_SECONDS`).
pub const START_DEADLINE: Duration = Duration::from_secs(15);
/// Messages a media socket may send before `start` (Twilio sends one: `connected`).
pub const MESSAGES_BEFORE_START: usize = 4;
/// The agent socket's largest message (an audio chunk is a few KiB of base64).
const AGENT_MAX_MESSAGE: usize = 1024 * 1024;
/// How long closing a socket may wait for the peer to take the close frame.
const CLOSE_DEADLINE: Duration = Duration::from_secs(2);

/// TLS for `wss://` agent sockets: rustls with aws-lc-rs (the provider reqwest uses here too),
/// server certificates checked against the system's roots.
fn agent_tls() -> Result<Connector, rustls::Error> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth();
    Ok(Connector::Rustls(tokio_rustls::TlsConnector::from(
        Arc::new(config),
    )))
}

/// Where the agent runs.
#[derive(Clone)]
pub struct ElevenLabsConfig {
    /// `ELEVENLABS_API_BASE`, e.g. `https://api.elevenlabs.io`.
    pub api_base: String,
    pub api_key: SecretString,
    pub agent_id: String,
    pub voice_id: Option<String>,
}

impl std::fmt::Debug for ElevenLabsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElevenLabsConfig")
            .field("api_base", &self.api_base)
            .field("agent_id", &self.agent_id)
            .field("api_key", &"***")
            .finish_non_exhaustive()
    }
}

impl ElevenLabsConfig {
    /// The HTTP client for ElevenLabs' REST calls (10 s per request).
    pub(crate) fn http_client() -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default()
    }

    /// `GET {api_base}{path_and_query}` with the account's key; a transport failure comes back
    /// as its text without the URL.
    pub async fn get(
        &self,
        http: &reqwest::Client,
        path_and_query: &str,
    ) -> Result<reqwest::Response, String> {
        http.get(format!(
            "{}{path_and_query}",
            self.api_base.trim_end_matches('/')
        ))
        .header("xi-api-key", self.api_key.expose_secret())
        .send()
        .await
        .map_err(|e| e.without_url().to_string())
    }
}

/// What the conversation of one call needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The script, as the agent's system prompt.
    pub prompt: String,
    /// The greeting.
    pub first_message: String,
    /// The values of the `{{var}}` placeholders in the prompt and the first message.
    pub dynamic_variables: BTreeMap<String, Value>,
    /// Whether the campaign records (recording starts now that the notice has played).
    pub recording: bool,
}

/// One line of the live transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptLine {
    /// `agent` or `user`.
    pub role: &'static str,
    pub text: String,
}

/// Why a bridged conversation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// Twilio sent `stop` or closed: the callee hung up or the call ended.
    TwilioStopped,
    /// The agent socket closed with this code and reason.
    AgentClosed { code: u16, reason: String },
    /// Too many recognition failures in a row.
    RecognitionFailures,
    /// The stream could not be set up.
    SetupFailed(String),
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TwilioStopped => f.write_str("the call ended on the phone side"),
            Self::AgentClosed { code, reason } => write!(f, "agent closed ({code}): {reason}"),
            Self::RecognitionFailures => {
                write!(f, "{FAIL_AFTER} recognition failures in a row")
            }
            Self::SetupFailed(why) => write!(f, "stream setup failed: {why}"),
        }
    }
}

/// Why the write side could not do what the bridge asked. The messages end up in the call's
/// history (a setup failure's detail) and in the agent's tool results, so they stay plain.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("unknown call")]
    UnknownCall,
    #[error("the stream is not for the call's live attempt")]
    NotLiveAttempt,
    #[error("the call's campaign is gone")]
    CampaignGone,
    #[error("the campaign's script version is not in the read model yet")]
    ScriptNotReady,
    #[error("the call has no number")]
    NoNumber,
    /// The script needs values this call has from no source (checked at start, so only a
    /// business profile emptied since could cause it).
    #[error("the script needs values the call does not have: {}", .0.join(", "))]
    MissingValues(Vec<String>),
    /// The call refused the command, or the store failed while running it.
    #[error(transparent)]
    Command(#[from] commands::CommandError<domain::call::CallError>),
    /// Loading an aggregate or reading the read model failed.
    #[error("{0}")]
    Store(String),
    #[error(transparent)]
    Twilio(#[from] TwilioError),
}

/// What the agent's `report_outcome` tool said about the call.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedOutcome {
    pub result: CallResult,
    /// Free-text note from the agent.
    pub note: Option<String>,
    /// A time the callee proposed instead, as they said it.
    pub proposed_time: Option<String>,
}

/// What the bridge asks of the write side (implemented over the Call aggregate).
#[async_trait]
pub trait CallPort: Send + Sync + 'static {
    /// The conversation for this call, if `call_sid` is its live attempt.
    async fn session(&self, call_id: Uuid, call_sid: &str) -> Result<Session, PortError>;
    /// The agent's `report_outcome`.
    async fn report_outcome(
        &self,
        call_id: Uuid,
        outcome: ReportedOutcome,
    ) -> Result<(), PortError>;
    /// The callee asked not to be called again: suppress the number, result `OPTED_OUT`.
    async fn opt_out(&self, call_id: Uuid) -> Result<(), PortError>;
    /// The callee objected to the recording.
    async fn revoke_recording_consent(
        &self,
        call_id: Uuid,
        call_sid: &str,
    ) -> Result<(), PortError>;
    /// Give up on the call.
    async fn fail(&self, call_id: Uuid, reason: String) -> Result<(), PortError>;
    /// The agent's conversation began; `conversation_id` names it at the voice provider (its
    /// details, transcript and cost are read after the call).
    async fn conversation_started(&self, _call_id: Uuid, _conversation_id: &str) {}
    /// The conversation is over (always called once per started stream).
    async fn ended(&self, call_id: Uuid, reason: &EndReason, transcript: &[TranscriptLine]);
}

/// Why a media stream was refused before it started.
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("no start message within {0:?}")]
    Timeout(Duration),
    #[error("a message of {0} bytes before start (at most {MAX_MESSAGE_BEFORE_START})")]
    TooLarge(usize),
    #[error("more than {MESSAGES_BEFORE_START} messages before start")]
    TooMany,
    #[error("a binary message before start")]
    Binary,
    #[error("closed before start")]
    Closed,
    #[error("media socket: {0}")]
    Socket(#[from] tokio_websockets::Error),
    #[error("unreadable Media Streams message: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error("start without the {0} parameter")]
    MissingParameter(&'static str),
    #[error("invalid stream token")]
    InvalidToken,
    #[error("call_id is not a uuid")]
    NotAUuid,
    #[error("{0} before start")]
    OutOfOrder(String),
}

/// Why the agent conversation could not be set up (its text is the call's failure detail).
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error("signed URL: {0}")]
    SignedUrl(String),
    #[error("agent socket: {0}")]
    AgentSocket(#[from] tokio_websockets::Error),
    #[error("agent socket address: {0}")]
    AgentUrl(#[from] axum::http::uri::InvalidUri),
    #[error("agent socket TLS: {0}")]
    AgentTls(String),
    #[error(transparent)]
    Send(#[from] SendError),
}

/// A frame that could not be sent.
#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("unserializable message: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("agent socket: {0}")]
    Agent(#[from] tokio_websockets::Error),
    #[error("media socket: {0}")]
    Twilio(tokio_websockets::Error),
}

/// Why a client tool call failed (the text goes back to the agent as an error result).
#[derive(Debug, thiserror::Error)]
enum ToolError {
    #[error("report_outcome needs a result")]
    MissingResult,
    #[error("unknown result {0:?}")]
    UnknownResult(String),
    #[error("unknown tool {0}")]
    UnknownTool(String),
    #[error(transparent)]
    Port(#[from] PortError),
}

/// The bridge shared by every media socket of the process.
pub struct Bridge {
    elevenlabs: ElevenLabsConfig,
    twilio: TwilioClient,
    port: Arc<dyn CallPort>,
    stream_secret: Vec<u8>,
    http: reqwest::Client,
    /// TLS for the agent socket, made once (`Err` when the system's roots could not be read:
    /// then every `wss://` agent socket fails with that reason; see [`Bridge::connector_for`]).
    agent_tls: Result<Connector, String>,
    unverified: Arc<UnverifiedSockets>,
    start_deadline: Duration,
    /// Where media connections run; `None`: on the runtime that accepted them.
    media_threads: Option<MediaThreads>,
}

/// The connection under a media socket: any byte stream (a TCP connection on a media thread, or
/// hyper's upgraded connection where it was accepted).
trait MediaIo: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> MediaIo for T {}

/// Twilio's media socket.
type TwilioSocket<S> = WebSocketStream<S>;

type AgentSocket = tokio_websockets::WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// What the start of a stream told us.
struct Started {
    call_id: Uuid,
    call_sid: String,
    stream_sid: String,
}

impl Bridge {
    /// A bridge placing agent conversations with `elevenlabs` and acting on calls via `twilio`.
    pub fn new(
        elevenlabs: ElevenLabsConfig,
        twilio: TwilioClient,
        port: Arc<dyn CallPort>,
        stream_secret: Vec<u8>,
    ) -> Self {
        Self {
            elevenlabs,
            twilio,
            port,
            stream_secret,
            http: ElevenLabsConfig::http_client(),
            agent_tls: agent_tls().map_err(|e| e.to_string()),
            unverified: UnverifiedSockets::new(DEFAULT_UNVERIFIED_PER_ADDRESS),
            start_deadline: START_DEADLINE,
            media_threads: None,
        }
    }

    /// Runs the media connections on `threads` (see [`MediaThreads`]) instead of the runtime
    /// that accepted them.
    pub fn with_media_threads(mut self, threads: MediaThreads) -> Self {
        self.media_threads = Some(threads);
        self
    }

    /// The media threads, when the connections run on them.
    pub fn media_threads(&self) -> Option<&MediaThreads> {
        self.media_threads.as_ref()
    }

    /// How long a media socket may take to send a verified `start` (default
    /// [`START_DEADLINE`]).
    pub fn with_start_deadline(mut self, deadline: Duration) -> Self {
        self.start_deadline = deadline;
        self
    }

    /// At most `per_address` media sockets per client address before their `start` is
    /// verified (default [`DEFAULT_UNVERIFIED_PER_ADDRESS`]).
    pub fn with_unverified_per_address(mut self, per_address: usize) -> Self {
        self.unverified = UnverifiedSockets::new(per_address);
        self
    }

    /// The count of media sockets whose `start` is not verified yet.
    pub fn unverified(&self) -> &Arc<UnverifiedSockets> {
        &self.unverified
    }

    /// Runs the media socket on a connection hyper handed over after the handshake. A TCP
    /// connection (our HTTP server's always are) moves to a media thread, if there are any;
    /// any other connection is served on this runtime.
    pub fn run(self: Arc<Self>, upgraded: Upgraded, permit: UnverifiedPermit) {
        let Some(threads) = &self.media_threads else {
            tokio::spawn(self.serve(TokioIo::new(upgraded), permit));
            return;
        };
        let parts = match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => parts,
            Err(upgraded) => {
                tokio::spawn(self.clone().serve(TokioIo::new(upgraded), permit));
                return;
            }
        };
        // Leaves this runtime's reactor; the media thread registers it with its own.
        let stream = match parts.io.into_inner().into_std() {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(%error, "could not hand the media socket to a media thread");
                return;
            }
        };
        let read_ahead = parts.read_buf;
        let bridge = self.clone();
        threads.spawn(async move {
            let stream = match TcpStream::from_std(stream) {
                Ok(stream) => stream,
                Err(error) => {
                    tracing::warn!(%error, "a media thread could not take the media socket");
                    return;
                }
            };
            if read_ahead.is_empty() {
                bridge.serve(stream, permit).await;
            } else {
                // The client wrote before the handshake's answer: hyper read those bytes.
                let (read, write) = stream.into_split();
                let read = std::io::Cursor::new(read_ahead).chain(read);
                bridge.serve(tokio::io::join(read, write), permit).await;
            }
        });
    }

    /// Serves one Twilio media socket on `io` until both sides are closed. `permit` holds the
    /// socket's place among the unverified ones until its `start` is verified.
    async fn serve<S: MediaIo>(self: Arc<Self>, io: S, permit: UnverifiedPermit) {
        let mut twilio = ServerBuilder::new()
            .limits(Limits::default().max_payload_len(Some(MAX_MESSAGE)))
            .serve(io);
        let started = self.wait_for_start(&mut twilio).await;
        drop(permit);
        let started = match started {
            Ok(started) => started,
            Err(why) => {
                tracing::warn!(%why, "media stream refused");
                if let StartError::TooLarge(_) = why {
                    let close = Message::close(
                        Some(CloseCode::MESSAGE_TOO_BIG),
                        "message too large before start",
                    );
                    if let Err(error) = twilio.send(close).await {
                        tracing::debug!(%error, "the media socket was already closed");
                    }
                }
                close_twilio(&mut twilio).await;
                return;
            }
        };
        let call_id = started.call_id;
        let mut transcript = Vec::new();
        // Boxed: the setup's state (5.6 KiB of REST and connect futures) is freed when the
        // conversation starts instead of staying in the call's future for its whole length.
        let reason = match Box::pin(self.setup(&started)).await {
            Ok((session, agent)) => {
                // Started before the conversation (not alongside it), so a callee's objection
                // can never reach `stop_recording` before the recording exists.
                if session.recording
                    && let Err(error) = self
                        .twilio
                        .start_recording(&started.call_sid, &call_id.to_string())
                        .await
                {
                    tracing::warn!(%error, "could not start the recording");
                }
                self.pump(&started, &mut twilio, agent, &mut transcript)
                    .await
            }
            Err(why) => EndReason::SetupFailed(why.to_string()),
        };
        tracing::info!(%call_id, %reason, lines = transcript.len(), "media stream ended");
        if let EndReason::AgentClosed { code, reason: why } = &reason
            && *code != CLOSE_NORMAL
        {
            let failure = format!("the voice agent ended the call ({code}: {why})");
            if let Err(error) = self.port.fail(call_id, failure).await {
                tracing::warn!(%error, "could not record the agent failure");
            }
        }
        if let EndReason::SetupFailed(why) = &reason {
            let failure = format!("the voice agent could not start: {why}");
            if let Err(error) = self.port.fail(call_id, failure).await {
                tracing::warn!(%error, "could not record the setup failure");
            }
        }
        // Whichever side ended, neither stays open: the socket closes (Twilio runs
        // `<Hangup/>`) and the call is hung up through REST (404 = already over).
        close_twilio(&mut twilio).await;
        if let Err(error) = self.twilio.hang_up(&started.call_sid).await {
            tracing::warn!(%error, "could not hang up the Twilio call");
        }
        self.port.ended(call_id, &reason, &transcript).await;
    }

    /// Reads up to the `start` message and verifies its token. Until then the socket is
    /// anyone's, so it gets little: small text messages, few of them, and a deadline.
    async fn wait_for_start<S: MediaIo>(
        &self,
        twilio: &mut TwilioSocket<S>,
    ) -> Result<Started, StartError> {
        let deadline = tokio::time::sleep(self.start_deadline);
        tokio::pin!(deadline);
        let mut messages = 0;
        loop {
            let message = tokio::select! {
                message = twilio.next() => message,
                () = &mut deadline => return Err(StartError::Timeout(self.start_deadline)),
            };
            let message = match message {
                Some(Ok(message)) => message,
                None => return Err(StartError::Closed),
                Some(Err(error)) => return Err(error.into()),
            };
            let Some(text) = message.as_text() else {
                if message.is_close() {
                    return Err(StartError::Closed);
                }
                if message.is_binary() {
                    return Err(StartError::Binary);
                }
                // Pings and pongs are answered by the codec.
                continue;
            };
            if text.len() > MAX_MESSAGE_BEFORE_START {
                return Err(StartError::TooLarge(text.len()));
            }
            messages += 1;
            if messages > MESSAGES_BEFORE_START {
                return Err(StartError::TooMany);
            }
            let message: FromTwilio = serde_json::from_str(text)?;
            match message {
                FromTwilio::Connected { .. } => {}
                FromTwilio::Start {
                    start, stream_sid, ..
                } => {
                    let call_id = start
                        .custom_parameters
                        .get("call_id")
                        .ok_or(StartError::MissingParameter("call_id"))?;
                    let token = start
                        .custom_parameters
                        .get("token")
                        .ok_or(StartError::MissingParameter("token"))?;
                    if !verify_stream_token(&self.stream_secret, call_id, &start.call_sid, token) {
                        return Err(StartError::InvalidToken);
                    }
                    let call_id: Uuid = call_id.parse().map_err(|_| StartError::NotAUuid)?;
                    return Ok(Started {
                        call_id,
                        call_sid: start.call_sid,
                        stream_sid,
                    });
                }
                other => return Err(StartError::OutOfOrder(format!("{other:?}"))),
            }
        }
    }

    async fn setup(&self, started: &Started) -> Result<(Session, AgentSocket), SetupError> {
        let session = self
            .port
            .session(started.call_id, &started.call_sid)
            .await?;
        let path = format!(
            "/v1/convai/conversation/get-signed-url?{}",
            protocols::twilio::encode_form(&[("agent_id", self.elevenlabs.agent_id.as_str())])
        );
        let response = self
            .elevenlabs
            .get(&self.http, &path)
            .await
            .map_err(SetupError::SignedUrl)?;
        if !response.status().is_success() {
            return Err(SetupError::SignedUrl(format!("HTTP {}", response.status())));
        }
        let signed: SignedUrl = response
            .json()
            .await
            .map_err(|e| SetupError::SignedUrl(e.without_url().to_string()))?;
        let mut agent =
            connect_agent(self.connector_for(&signed.signed_url)?, &signed.signed_url).await?;
        let initiation = ClientMessage::ConversationInitiationClientData {
            conversation_config_override: ConversationConfigOverride {
                agent: AgentOverride {
                    prompt: PromptOverride {
                        prompt: session.prompt.clone(),
                    },
                    first_message: session.first_message.clone(),
                    language: "ko".into(),
                },
                tts: self
                    .elevenlabs
                    .voice_id
                    .clone()
                    .map(|voice_id| TtsOverride { voice_id }),
            },
            dynamic_variables: session.dynamic_variables.clone(),
        };
        send_agent(&mut agent, &initiation).await?;
        Ok((session, agent))
    }

    /// The connector for the agent socket at `url`: without the system's roots only a `wss://`
    /// URL fails (a `ws://` one, as a sandbox's, needs no TLS).
    fn connector_for(&self, url: &str) -> Result<&Connector, SetupError> {
        match &self.agent_tls {
            Ok(tls) => Ok(tls),
            Err(why) if url.starts_with("wss:") => Err(SetupError::AgentTls(why.clone())),
            Err(_) => Ok(&Connector::Plain),
        }
    }

    /// Moves frames both ways until one side ends.
    async fn pump<S: MediaIo>(
        &self,
        started: &Started,
        twilio: &mut TwilioSocket<S>,
        mut agent: AgentSocket,
        transcript: &mut Vec<TranscriptLine>,
    ) -> EndReason {
        let mut last_interruption = 0u64;
        let mut failures = 0u32;
        let mut last_error: Option<String> = None;
        let mut to_agent_latency = FrameTimer::new("to_agent");
        let mut to_twilio_latency = FrameTimer::new("to_twilio");
        loop {
            tokio::select! {
                message = twilio.next() => {
                    let received = to_agent_latency.start();
                    let message = match message {
                        Some(Ok(message)) if !message.is_close() => message,
                        Some(Ok(_)) | None | Some(Err(_)) => {
                            close_agent(&mut agent).await;
                            return EndReason::TwilioStopped;
                        }
                    };
                    let Some(text) = message.as_text() else {
                        continue;
                    };
                    match frames::from_twilio(text) {
                        FromTwilioFrame::Audio(chunk) => {
                            if agent.send(Message::text(chunk)).await.is_err() {
                                // The agent closed while we were sending: read why.
                                return agent_close_reason(&mut agent, last_error).await;
                            }
                            to_agent_latency.stop(received);
                        }
                        FromTwilioFrame::Stop => {
                            close_agent(&mut agent).await;
                            return EndReason::TwilioStopped;
                        }
                        FromTwilioFrame::Other => {}
                        FromTwilioFrame::Unreadable(error) => {
                            tracing::warn!(%error, "unreadable Media Streams message ignored");
                        }
                    }
                }
                message = agent.next() => {
                    let received = to_twilio_latency.start();
                    let message = match message {
                        Some(Ok(message)) => message,
                        None | Some(Err(_)) => return close_reason(None, last_error),
                    };
                    if let Some(close) = message.as_close() {
                        let reason = close_reason(Some(close), last_error);
                        // Acknowledges the agent's close frame.
                        close_agent(&mut agent).await;
                        return reason;
                    }
                    let Some(text) = message.as_text() else {
                        continue;
                    };
                    let message = match frames::from_agent(text) {
                        FromAgentFrame::Audio { event_id, payload } => {
                            if event_id <= last_interruption {
                                continue;
                            }
                            let out = frames::to_twilio_media(&started.stream_sid, &payload);
                            if let Err(error) = twilio.send(Message::text(out)).await {
                                tracing::debug!(%error, "the media socket is gone");
                                close_agent(&mut agent).await;
                                return EndReason::TwilioStopped;
                            }
                            to_twilio_latency.stop(received);
                            continue;
                        }
                        FromAgentFrame::Message(message) => message,
                        FromAgentFrame::Unreadable(error) => {
                            tracing::warn!(%error, "unreadable agent message ignored");
                            continue;
                        }
                    };
                    match message {
                        // Read above.
                        ServerMessage::Audio { .. } => {}
                        ServerMessage::Interruption { interruption_event } => {
                            last_interruption = interruption_event.event_id;
                            let clear = ToTwilio::Clear {
                                stream_sid: started.stream_sid.clone(),
                            };
                            if let Err(error) = send_twilio(twilio, &clear).await {
                                tracing::warn!(%error, "could not clear Twilio's audio buffer");
                            }
                        }
                        ServerMessage::Ping { ping_event } => {
                            let pong = ClientMessage::Pong {
                                event_id: ping_event.event_id,
                            };
                            if let Err(error) = send_agent(&mut agent, &pong).await {
                                tracing::warn!(%error, "could not answer the agent's ping");
                            }
                        }
                        ServerMessage::AgentResponse { agent_response_event } => {
                            transcript.push(TranscriptLine {
                                role: "agent",
                                text: agent_response_event.agent_response,
                            });
                        }
                        ServerMessage::UserTranscript { user_transcription_event } => {
                            let text = user_transcription_event.user_transcript;
                            if text.trim().is_empty() {
                                failures += 1;
                            } else {
                                failures = 0;
                                transcript.push(TranscriptLine { role: "user", text });
                            }
                            if failures >= FAIL_AFTER {
                                let reason = format!("{FAIL_AFTER} recognition failures in a row");
                                if let Err(error) = self.port.fail(started.call_id, reason).await {
                                    tracing::warn!(%error, "could not fail the call");
                                }
                                close_agent(&mut agent).await;
                                return EndReason::RecognitionFailures;
                            }
                            if failures == ASK_AGAIN_AFTER {
                                let update = ClientMessage::ContextualUpdate {
                                    text: format!(
                                        "The caller could not be understood {ASK_AGAIN_AFTER} times in a row. \
                                         Say exactly: \"{ASK_AGAIN}\""
                                    ),
                                };
                                if let Err(error) = send_agent(&mut agent, &update).await {
                                    tracing::warn!(%error, "could not ask the agent to repeat");
                                }
                            }
                        }
                        ServerMessage::ClientToolCall { client_tool_call } => {
                            let result = self.tool(started, &client_tool_call).await;
                            let answer = ClientMessage::ClientToolResult {
                                tool_call_id: client_tool_call.tool_call_id.clone(),
                                is_error: result.is_err(),
                                result: result.unwrap_or_else(|e| e.to_string()),
                            };
                            if let Err(error) = send_agent(&mut agent, &answer).await {
                                tracing::warn!(%error, tool = %client_tool_call.tool_name, "could not return a tool result");
                            }
                        }
                        ServerMessage::Error { error_event } => {
                            last_error = Some(
                                error_event
                                    .error_type
                                    .unwrap_or(error_event.message),
                            );
                        }
                        ServerMessage::ConversationInitiationMetadata { conversation_initiation_metadata_event } => {
                            self.port
                                .conversation_started(
                                    started.call_id,
                                    &conversation_initiation_metadata_event.conversation_id,
                                )
                                .await;
                        }
                        ServerMessage::Other => {}
                    }
                }
            }
        }
    }

    /// Runs one client tool; the text goes back to the agent.
    async fn tool(&self, started: &Started, call: &ClientToolCall) -> Result<String, ToolError> {
        let text = |name: &str| {
            call.parameters
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .filter(|s| !s.trim().is_empty())
        };
        match call.tool_name.as_str() {
            "report_outcome" => {
                let raw = text("result").ok_or(ToolError::MissingResult)?;
                let result: CallResult = serde_json::from_value(Value::String(raw.clone()))
                    .map_err(|_| ToolError::UnknownResult(raw))?;
                let outcome = ReportedOutcome {
                    result,
                    note: text("note"),
                    proposed_time: text("proposedTime"),
                };
                self.port.report_outcome(started.call_id, outcome).await?;
                Ok(format!("recorded {result}"))
            }
            "opt_out" => {
                self.port.opt_out(started.call_id).await?;
                Ok("the number will not be called again".into())
            }
            "revoke_recording_consent" => {
                self.port
                    .revoke_recording_consent(started.call_id, &started.call_sid)
                    .await?;
                Ok("recording stopped and discarded".into())
            }
            other => Err(ToolError::UnknownTool(other.to_owned())),
        }
    }
}

/// Opens the agent socket at `url`, through `tls` when it is `wss://`.
async fn connect_agent(tls: &Connector, url: &str) -> Result<AgentSocket, SetupError> {
    let (agent, _) = ClientBuilder::from_uri(url.parse()?)
        .connector(tls)
        .limits(Limits::default().max_payload_len(Some(AGENT_MAX_MESSAGE)))
        .connect()
        .await?;
    // No Nagle delay on the agent socket either: every 20 ms frame goes out at once.
    let tcp = match agent.get_ref() {
        MaybeTlsStream::Plain(tcp) => tcp,
        MaybeTlsStream::Rustls(tls) => tls.get_ref().0,
    };
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::warn!(%error, "could not set TCP_NODELAY on the agent socket");
    }
    Ok(agent)
}

/// The end reason from the agent's close frame, its code and reason (the last `error` event
/// names the cause best).
fn close_reason(frame: Option<(CloseCode, &str)>, last_error: Option<String>) -> EndReason {
    match frame {
        Some((code, reason)) => EndReason::AgentClosed {
            code: u16::from(code),
            reason: last_error.unwrap_or_else(|| reason.to_owned()),
        },
        None => EndReason::AgentClosed {
            code: 1006,
            reason: last_error.unwrap_or_else(|| "agent socket lost without a close frame".into()),
        },
    }
}

/// After a failed send: the close frame still queued on the socket, if any.
async fn agent_close_reason(agent: &mut AgentSocket, last_error: Option<String>) -> EndReason {
    let drain = async {
        while let Some(message) = agent.next().await {
            match message {
                Ok(message) if message.is_close() => return Some(message),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    };
    let frame = tokio::time::timeout(Duration::from_secs(1), drain)
        .await
        .unwrap_or(None);
    close_reason(frame.as_ref().and_then(Message::as_close), last_error)
}

async fn send_agent(agent: &mut AgentSocket, message: &ClientMessage) -> Result<(), SendError> {
    let text = serde_json::to_string(message)?;
    agent.send(Message::text(text)).await?;
    Ok(())
}

async fn send_twilio<S: MediaIo>(
    twilio: &mut TwilioSocket<S>,
    message: &ToTwilio,
) -> Result<(), SendError> {
    let text = serde_json::to_string(message)?;
    twilio
        .send(Message::text(text))
        .await
        .map_err(SendError::Twilio)
}

/// Closes the agent socket; it may already be gone, which is what closing wanted.
async fn close_agent(agent: &mut AgentSocket) {
    close_within_deadline("agent", agent.close()).await;
}

/// Closes the media socket (Twilio then runs what follows `<Connect>`); it may already be gone.
async fn close_twilio<S: MediaIo>(twilio: &mut TwilioSocket<S>) {
    close_within_deadline("media", twilio.close()).await;
}

/// Runs a socket's closing handshake: our close frame goes out (unless one did already), or the
/// peer's is acknowledged, what the peer still sends is read and dropped until its close frame,
/// then the connection is shut down. A peer that never answers is given [`CLOSE_DEADLINE`].
async fn close_within_deadline<E: std::fmt::Display>(
    socket: &'static str,
    closing: impl Future<Output = Result<(), E>>,
) {
    match tokio::time::timeout(CLOSE_DEADLINE, closing).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(socket, %error, "the socket was already closed"),
        Err(_) => tracing::debug!(socket, "the peer did not answer the close frame in time"),
    }
}

/// One message in this many per call and direction is timed (the first one always): reading the
/// clock twice and recording cost more than forwarding a frame, and a sample of one message in
/// 8 (about six of a call's 50 audio frames a second) tells the latency as well as all of them.
const TIMED_EVERY: u32 = 8;

/// How long frames spend in the bridge, from arrival to forwarding, in one direction of one
/// call: the histogram (looked up once per call) and which message is next to be timed.
struct FrameTimer {
    histogram: metrics::Histogram,
    messages: u32,
}

impl FrameTimer {
    fn new(direction: &'static str) -> Self {
        let name = commands::metrics::names::BRIDGE_FRAME_LATENCY;
        Self {
            histogram: metrics::histogram!(name, "direction" => direction),
            messages: 0,
        }
    }

    /// A message arrived: its arrival time when it is one to time.
    fn start(&mut self) -> Option<Instant> {
        let timed = self.messages.is_multiple_of(TIMED_EVERY);
        self.messages = self.messages.wrapping_add(1);
        timed.then(Instant::now)
    }

    /// The message was forwarded.
    fn stop(&self, arrived: Option<Instant>) {
        if let Some(arrived) = arrived {
            self.histogram.record(arrived.elapsed().as_secs_f64());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn the_first_message_and_one_in_eight_after_it_are_timed() {
        let mut timer = FrameTimer::new("to_agent");
        let timed: Vec<usize> = (0..20).filter(|_| timer.start().is_some()).collect();
        assert_eq!(timed, [0, 8, 16]);
    }

    /// ElevenLabs' signed URLs are `wss://`: the agent socket must speak TLS there (it once
    /// could not: the WebSocket client was built without it, so every real call would have
    /// failed at setup).
    #[tokio::test]
    async fn a_wss_agent_url_is_opened_with_tls() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut hello = vec![0u8; 512];
            let n = tcp.read(&mut hello).await.unwrap();
            hello.truncate(n);
            hello
        });
        let tls = agent_tls().unwrap();
        let url = format!("wss://127.0.0.1:{port}/v1/convai/conversation?agent_id=a");
        let connected = connect_agent(&tls, &url).await;
        let hello = server.await.unwrap();
        assert!(connected.is_err(), "the listener speaks no TLS");
        // A TLS handshake record (22) holding a ClientHello (1), not an HTTP request.
        assert_eq!((hello[0], hello[5]), (22, 1), "{hello:?}");
    }

    #[tokio::test]
    async fn an_agent_url_that_is_no_uri_fails_the_setup_with_its_reason() {
        let tls = agent_tls().unwrap();
        let error = connect_agent(&tls, "wss://exa mple").await.err().unwrap();
        assert!(
            error.to_string().starts_with("agent socket address"),
            "{error}"
        );
    }
}
