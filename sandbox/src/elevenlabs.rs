//! An ElevenLabs Agents stand-in on loopback: the signed-URL endpoint (`xi-api-key`), the agent
//! WebSocket (initiation metadata, audio, agent responses, user transcripts, pings,
//! interruptions, client-tool calls and close codes) and conversation details.
//!
//! The "callee" is whoever speaks in the user audio: the Twilio sandbox's media client puts the
//! dialed persona into its µ-law frames ([`persona_frame`]), so the conversation follows the
//! SPEC §9 table without any side channel — audio passes through the bridge untouched.
//!
//! | NN | user says | agent does |
//! |---|---|---|
//! | 01, others | confirms | `report_outcome` SUCCESS |
//! | 02 | another time | `report_outcome` RESCHEDULED with `proposedTime` |
//! | 03 | cancels with a reason | `report_outcome` DECLINED |
//! | 04 | call me back | `report_outcome` CALLBACK_REQUESTED |
//! | 09 | nothing intelligible | empty transcripts until the client gives up |
//! | 11 | don't call again | `opt_out` |
//! | 13 | objects to recording, then confirms | `revoke_recording_consent`, then SUCCESS |
//! | 99 | — | closes with 1002 `asr_transcription_error` |

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::StreamExt;
use protocols::elevenlabs::{
    AgentResponseEvent, AudioEvent, CLOSE_NORMAL, CLOSE_OPERATIONAL, CLOSE_POLICY, ClientMessage,
    ClientToolCall, ErrorEvent, EventId, Incoming, InitiationMetadata, PingEvent, ServerMessage,
    SignedUrl, UserTranscriptionEvent, parse_client,
};
use serde_json::{Value, json};

use crate::loopback::{self, Served};

mod account;
pub mod agent;
mod echo;
pub mod placeholders;

/// The API key the sandbox accepts.
pub const API_KEY: &str = "sandbox-elevenlabs-key";
/// The agent it hosts.
pub const AGENT_ID: &str = "agent_sandbox";
/// The hosted agent's own system prompt, for conversations that do not override it.
pub const AGENT_PROMPT: &str = "You are a polite assistant confirming appointments by phone.";
/// The hosted agent's own first message.
pub const AGENT_FIRST_MESSAGE: &str = "안녕하세요, 예약 확인 전화입니다.";
/// The hosted agent's own language.
pub const AGENT_LANGUAGE: &str = "ko";
/// Persona 09's turns of not understanding before it stops waiting for the client to give up.
const GIVE_UP_AFTER_TURNS: usize = 250;
/// The marker a persona frame starts with.
const MARKER: &[u8] = b"persona:";

/// A 160-byte (20 ms) µ-law frame that carries the persona `nn`; the rest is silence (0xFF).
pub fn persona_frame(nn: &str) -> Vec<u8> {
    let mut frame = vec![0xFF; 160];
    let text = [MARKER, nn.as_bytes()].concat();
    frame[..text.len()].copy_from_slice(&text);
    frame
}

fn persona_in(chunk: &[u8]) -> Option<String> {
    let rest = chunk.strip_prefix(MARKER)?;
    let nn: String = rest
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|b| char::from(*b))
        .collect();
    (!nn.is_empty()).then_some(nn)
}

/// What the sandbox saw of one conversation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationLog {
    pub conversation_id: String,
    /// When the conversation started, in Unix seconds.
    pub started_unix_secs: i64,
    pub persona: Option<String>,
    pub prompt: String,
    pub first_message: String,
    pub language: String,
    pub dynamic_variables: serde_json::Map<String, Value>,
    pub audio_chunks_received: u64,
    pub pongs: u64,
    pub tool_results: Vec<(String, String, bool)>,
    pub contextual_updates: Vec<String>,
    /// `user_activity` messages received.
    pub user_activity: u64,
    pub transcript: Vec<(String, String)>,
    /// The close code the sandbox ended with, if it ended the conversation.
    pub closed_with: Option<u16>,
    pub status: String,
}

struct Shared {
    api_key: String,
    speed: f64,
    addr: SocketAddr,
    conversations: Mutex<HashMap<String, ConversationLog>>,
    /// Signed-URL tokens handed out and not yet used.
    tokens: Mutex<HashMap<String, String>>,
    next: AtomicU64,
    /// Part of every conversation id, so two sandboxes never hand out the same one.
    instance: u32,
    /// Credits used and granted this period (`/v1/user/subscription`).
    credits_used: std::sync::atomic::AtomicI64,
    credits_limit: std::sync::atomic::AtomicI64,
    /// The agent's configuration (`/v1/convai/agents/{agent_id}`).
    agent: Mutex<agent::AgentSetup>,
    /// The load mode's echo agent instead of the SPEC §9 conversations.
    echo: bool,
}

/// A running ElevenLabs sandbox; stops when dropped.
pub struct ElevenLabsSandbox {
    server: Served,
    shared: Arc<Shared>,
}

impl ElevenLabsSandbox {
    /// The base URL to configure as `ELEVENLABS_API_BASE`.
    pub fn api_base(&self) -> String {
        format!("http://{}", loopback::reachable(self.server.addr))
    }

    /// The key it accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Every conversation so far.
    pub fn conversations(&self) -> Vec<ConversationLog> {
        let conversations = self.shared.conversations.lock().expect("sandbox lock");
        let mut logs: Vec<_> = conversations.values().cloned().collect();
        logs.sort_by(|a, b| a.conversation_id.cmp(&b.conversation_id));
        logs
    }
}

/// Starts an ElevenLabs sandbox on `127.0.0.1` with a free port; `speed` scales its pauses.
pub async fn spawn(speed: f64) -> ElevenLabsSandbox {
    serve(loopback::bind("ElevenLabs").await, speed, false)
}

/// Starts an ElevenLabs sandbox on `addr` (port 0: a free one), as `callbot sandbox` does.
pub async fn spawn_at(addr: SocketAddr, speed: f64) -> std::io::Result<ElevenLabsSandbox> {
    Ok(serve(
        loopback::bind_to("ElevenLabs", addr).await?,
        speed,
        false,
    ))
}

/// Starts an ElevenLabs sandbox whose agent echoes every user audio chunk back at once (the load
/// mode, see [`crate::load`]).
pub async fn spawn_echo() -> ElevenLabsSandbox {
    serve(loopback::bind("ElevenLabs").await, 1.0, true)
}

fn serve(bound: loopback::Bound, speed: f64, echo: bool) -> ElevenLabsSandbox {
    let addr = loopback::reachable(bound.addr);
    let shared = Arc::new(Shared {
        api_key: API_KEY.to_owned(),
        speed: speed.max(0.001),
        addr,
        conversations: Mutex::default(),
        tokens: Mutex::default(),
        next: AtomicU64::new(1),
        instance: rand::random(),
        credits_used: std::sync::atomic::AtomicI64::new(0),
        credits_limit: std::sync::atomic::AtomicI64::new(account::DEFAULT_LIMIT),
        agent: Mutex::default(),
        echo,
    });
    let router = Router::new()
        .route("/v1/convai/conversation/get-signed-url", get(signed_url))
        // The older spelling, which the service still answers and its examples still call.
        .route("/v1/convai/conversation/get_signed_url", get(signed_url))
        .route("/v1/convai/conversation", get(conversation))
        .route(
            "/v1/convai/conversations/{conversation_id}",
            get(conversation_details),
        )
        .route("/v1/user/subscription", get(account::subscription))
        .route("/v1/convai/agents/{agent_id}", get(agent::agent))
        .with_state(shared.clone());
    let server = bound.serve(router, "ElevenLabs");
    ElevenLabsSandbox { server, shared }
}

fn detail(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"detail": {"status": "invalid_request", "message": message}})),
    )
        .into_response()
}

fn key_ok(shared: &Shared, headers: &HeaderMap) -> bool {
    let key = headers.get("xi-api-key").and_then(|v| v.to_str().ok());
    key == Some(shared.api_key.as_str())
}

fn bad_key() -> Response {
    detail(StatusCode::UNAUTHORIZED, "Invalid API key")
}

async fn signed_url(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !key_ok(&shared, &headers) {
        return bad_key();
    }
    if query.get("agent_id").map(String::as_str) != Some(AGENT_ID) {
        return detail(StatusCode::NOT_FOUND, "Agent not found");
    }
    let n = shared.next.fetch_add(1, Ordering::SeqCst);
    let token = format!("sig{n:016x}");
    let conversation_id = format!("conv_{:08x}{n:012}", shared.instance);
    shared
        .tokens
        .lock()
        .expect("sandbox lock")
        .insert(token.clone(), conversation_id);
    axum::Json(SignedUrl {
        signed_url: format!(
            "ws://{}/v1/convai/conversation?agent_id={AGENT_ID}&conversation_signature={token}",
            shared.addr
        ),
    })
    .into_response()
}

async fn conversation(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let token = query
        .get("conversation_signature")
        .cloned()
        .unwrap_or_default();
    let Some(conversation_id) = shared.tokens.lock().expect("sandbox lock").remove(&token) else {
        return detail(StatusCode::FORBIDDEN, "invalid or used signature");
    };
    upgrade.on_upgrade(move |socket| async move {
        let mut agent = Agent {
            shared,
            socket,
            log: ConversationLog {
                conversation_id,
                started_unix_secs: chrono::Utc::now().timestamp(),
                status: "in-progress".into(),
                ..Default::default()
            },
            event_id: 0,
        };
        agent.run().await;
        agent.log.status = "done".into();
        let log = agent.log.clone();
        agent
            .shared
            .conversations
            .lock()
            .expect("sandbox lock")
            .insert(log.conversation_id.clone(), log);
    })
}

async fn conversation_details(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(conversation_id): Path<String>,
) -> Response {
    if !key_ok(&shared, &headers) {
        return bad_key();
    }
    let conversations = shared.conversations.lock().expect("sandbox lock");
    let Some(log) = conversations.get(&conversation_id) else {
        return detail(StatusCode::NOT_FOUND, "Conversation not found");
    };
    let transcript: Vec<Value> = log
        .transcript
        .iter()
        .enumerate()
        .map(|(i, (role, message))| {
            json!({"role": role, "message": message, "time_in_call_secs": i * 3})
        })
        .collect();
    let seconds = log.transcript.len() * 3;
    axum::Json(json!({
        "agent_id": AGENT_ID,
        "conversation_id": log.conversation_id,
        "status": log.status,
        "transcript": transcript,
        "metadata": {
            "start_time_unix_secs": log.started_unix_secs,
            "call_duration_secs": seconds,
            "cost": seconds * 10,
            "cost_fiat": seconds as f64 * 0.0015,
            "termination_reason": match log.closed_with {
                Some(CLOSE_OPERATIONAL) => "asr_transcription_error",
                _ => "end_call tool was called.",
            },
            "main_language": log.language,
        },
        "analysis": {
            "call_successful": if log.tool_results.iter().any(|(_, r, e)| !e && r.contains("SUCCESS")) { "success" } else { "unknown" },
            "transcript_summary": log.transcript.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join(" / "),
        },
        "conversation_initiation_client_data": {"dynamic_variables": log.dynamic_variables},
        "has_audio": true,
        "has_user_audio": log.audio_chunks_received > 0,
        "has_response_audio": true,
        "has_auxiliary_audio": false,
    }))
    .into_response()
}

/// One conversation, as the agent.
struct Agent {
    shared: Arc<Shared>,
    socket: WebSocket,
    log: ConversationLog,
    event_id: u64,
}

/// Why the agent stopped talking.
enum Stop {
    /// The client closed or vanished.
    Gone,
}

impl Agent {
    fn next_id(&mut self) -> u64 {
        self.event_id += 1;
        self.event_id
    }

    async fn send(&mut self, message: &ServerMessage) -> Result<(), Stop> {
        let text = serde_json::to_string(message).map_err(|_| Stop::Gone)?;
        self.socket
            .send(Message::Text(text.into()))
            .await
            .map_err(|_| Stop::Gone)
    }

    async fn close(&mut self, code: u16, reason: &str) {
        self.log.closed_with = Some(code);
        let _ = self
            .socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
        // Finish the closing handshake: wait for the client's close before dropping the
        // connection, so nothing we sent is lost to a reset.
        let drain = async {
            while let Some(Ok(message)) = self.socket.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    }

    /// Handles one client frame; returns a tool result if the frame was one.
    fn absorb(&mut self, text: &str) -> Result<Option<(String, String, bool)>, String> {
        match parse_client(text).map_err(|e| e.to_string())? {
            Incoming::Audio(chunk) => {
                self.log.audio_chunks_received += 1;
                let bytes = BASE64.decode(chunk).map_err(|e| e.to_string())?;
                crate::probe::received(&bytes);
                if self.log.persona.is_none() {
                    self.log.persona = persona_in(&bytes);
                }
                Ok(None)
            }
            Incoming::Message(ClientMessage::Pong { .. }) => {
                self.log.pongs += 1;
                Ok(None)
            }
            Incoming::Message(ClientMessage::ContextualUpdate { text }) => {
                self.log.contextual_updates.push(text);
                Ok(None)
            }
            Incoming::Message(ClientMessage::UserActivity {}) => {
                self.log.user_activity += 1;
                Ok(None)
            }
            Incoming::Message(ClientMessage::UserMessage { text }) => {
                self.log.transcript.push(("user".into(), text));
                Ok(None)
            }
            Incoming::Message(ClientMessage::ClientToolResult {
                tool_call_id,
                result,
                is_error,
            }) => {
                let entry = (tool_call_id, result, is_error);
                self.log.tool_results.push(entry.clone());
                Ok(Some(entry))
            }
            Incoming::Message(ClientMessage::ConversationInitiationClientData { .. }) => {
                Err("conversation_initiation_client_data sent twice".into())
            }
        }
    }

    /// Reads client frames for `millis` of simulated time.
    async fn listen(&mut self, millis: u64) -> Result<Vec<(String, String, bool)>, Stop> {
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis((millis as f64 / self.shared.speed).max(1.0) as u64);
        let mut results = Vec::new();
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next()).await;
            match next {
                Err(_) => return Ok(results),
                Ok(Some(Ok(Message::Text(text)))) => match self.absorb(text.as_str()) {
                    Ok(Some(result)) => results.push(result),
                    Ok(None) => {}
                    Err(why) => {
                        self.close(CLOSE_POLICY, &format!("invalid_message: {why}"))
                            .await;
                        return Err(Stop::Gone);
                    }
                },
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                    return Err(Stop::Gone);
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Waits (listening) until the persona is known from the user's audio.
    async fn hear_persona(&mut self) -> Result<String, Stop> {
        for _ in 0..50 {
            if let Some(persona) = self.log.persona.clone() {
                return Ok(persona);
            }
            self.listen(200).await?;
        }
        Ok(self.log.persona.clone().unwrap_or_else(|| "01".into()))
    }

    async fn say(&mut self, text: &str) -> Result<(), Stop> {
        self.log.transcript.push(("agent".into(), text.into()));
        let id = self.next_id();
        self.send(&ServerMessage::AgentResponse {
            agent_response_event: AgentResponseEvent {
                agent_response: text.into(),
                event_id: Some(id),
            },
        })
        .await?;
        // Speech audio: one 20 ms µ-law frame per syllable or so.
        for _ in 0..text.chars().count().min(40) {
            let audio = AudioEvent {
                audio_base_64: BASE64.encode([0x7Fu8; 160]),
                event_id: id,
            };
            self.send(&ServerMessage::Audio { audio_event: audio })
                .await?;
        }
        Ok(())
    }

    async fn hear(&mut self, text: &str) -> Result<(), Stop> {
        if !text.is_empty() {
            self.log.transcript.push(("user".into(), text.into()));
        }
        let id = self.next_id();
        self.send(&ServerMessage::UserTranscript {
            user_transcription_event: UserTranscriptionEvent {
                user_transcript: text.into(),
                event_id: Some(id),
            },
        })
        .await
    }

    /// Calls a client tool and waits for its result.
    async fn tool(&mut self, name: &str, parameters: Value) -> Result<Option<bool>, Stop> {
        let id = self.next_id();
        let call_id = format!("tool_{id}");
        let parameters = parameters.as_object().cloned().unwrap_or_default();
        self.send(&ServerMessage::ClientToolCall {
            client_tool_call: ClientToolCall {
                tool_name: name.into(),
                tool_call_id: call_id.clone(),
                parameters,
                event_id: Some(id),
            },
        })
        .await?;
        for _ in 0..25 {
            let results = self.listen(200).await?;
            if let Some((_, _, is_error)) = results.iter().find(|(id, _, _)| *id == call_id) {
                return Ok(Some(!is_error));
            }
        }
        Ok(None)
    }

    async fn run(&mut self) {
        // The first client frame must be the initiation.
        let first = tokio::time::timeout(Duration::from_secs(10), self.socket.next()).await;
        let Ok(Some(Ok(Message::Text(text)))) = first else {
            self.close(CLOSE_POLICY, "invalid_message: no initiation")
                .await;
            return;
        };
        match parse_client(text.as_str()) {
            Ok(Incoming::Message(ClientMessage::ConversationInitiationClientData {
                conversation_config_override,
                dynamic_variables,
            })) => {
                // What is not overridden comes from the agent's own configuration.
                let mut agent = conversation_config_override.agent;
                if agent.prompt.prompt.trim().is_empty() {
                    AGENT_PROMPT.clone_into(&mut agent.prompt.prompt);
                }
                if agent.first_message.trim().is_empty() {
                    AGENT_FIRST_MESSAGE.clone_into(&mut agent.first_message);
                }
                if agent.language.trim().is_empty() {
                    AGENT_LANGUAGE.clone_into(&mut agent.language);
                }
                self.log.dynamic_variables = dynamic_variables.into_iter().collect();
                self.log.language = agent.language;
                // The agent speaks the first message with its variables filled; a placeholder
                // left in either text would be read out, so the conversation is refused.
                let variables = &self.log.dynamic_variables;
                let checked = placeholders::fill(&agent.prompt.prompt, variables)
                    .and_then(|_| placeholders::fill(&agent.first_message, variables));
                self.log.prompt = agent.prompt.prompt;
                match checked {
                    Ok(first_message) => self.log.first_message = first_message,
                    Err(reason) => {
                        self.log.first_message = agent.first_message;
                        self.close(CLOSE_POLICY, &reason).await;
                        return;
                    }
                }
            }
            _ => {
                self.close(
                    CLOSE_POLICY,
                    "invalid_message: expected conversation_initiation_client_data",
                )
                .await;
                return;
            }
        }
        let _ = if self.shared.echo {
            self.echo().await
        } else {
            self.converse().await
        };
    }

    /// The first server frame: the conversation's id and its µ-law formats.
    async fn send_metadata(&mut self) -> Result<(), Stop> {
        let conversation_id = self.log.conversation_id.clone();
        self.send(&ServerMessage::ConversationInitiationMetadata {
            conversation_initiation_metadata_event: InitiationMetadata {
                conversation_id,
                agent_output_audio_format: "ulaw_8000".into(),
                user_input_audio_format: "ulaw_8000".into(),
            },
        })
        .await
    }

    async fn converse(&mut self) -> Result<(), Stop> {
        self.send_metadata().await?;
        let greeting = self.log.first_message.clone();
        self.say(&greeting).await?;
        let id = self.next_id();
        self.send(&ServerMessage::Ping {
            ping_event: PingEvent {
                event_id: id,
                ping_ms: Some(40),
            },
        })
        .await?;
        let persona = self.hear_persona().await?;
        // The callee talks over the agent once: the agent stops and the client clears.
        let id = self.next_id();
        self.send(&ServerMessage::Interruption {
            interruption_event: EventId { event_id: id },
        })
        .await?;
        match persona.as_str() {
            "99" => {
                let error = ErrorEvent {
                    code: CLOSE_OPERATIONAL,
                    message: "speech recognition failed".into(),
                    error_type: Some("asr_transcription_error".into()),
                };
                self.send(&ServerMessage::Error { error_event: error })
                    .await?;
                self.close(CLOSE_OPERATIONAL, "asr_transcription_error")
                    .await;
                return Ok(());
            }
            "09" => {
                // Nothing understood, turn after turn, until the client gives up (it does
                // after five; the cap only ends a conversation with a client that never
                // does, and is far enough that a slow client is never cut short).
                for _ in 0..GIVE_UP_AFTER_TURNS {
                    self.hear("").await?;
                    self.listen(800).await?;
                    if self.log.contextual_updates.is_empty() {
                        self.say("잘 들리지 않습니다.").await?;
                    } else {
                        self.say("죄송합니다, 다시 말씀해 주시겠어요?").await?;
                    }
                }
                self.close(CLOSE_OPERATIONAL, "transport_receive_timeout")
                    .await;
                return Ok(());
            }
            "13" => {
                self.hear("녹음은 원하지 않아요.").await?;
                self.tool("revoke_recording_consent", json!({})).await?;
                self.say("네, 녹음을 중단했습니다. 예약 확인 부탁드립니다.")
                    .await?;
                self.hear("네, 예약 맞습니다.").await?;
                self.tool("report_outcome", json!({"result": "SUCCESS"}))
                    .await?;
            }
            "11" => {
                self.hear("다시는 전화하지 마세요.").await?;
                self.tool("opt_out", json!({})).await?;
                self.say("알겠습니다. 앞으로 연락드리지 않겠습니다.")
                    .await?;
            }
            "02" => {
                self.hear("그 시간은 어렵고요, 목요일 오후 3시로 바꾸고 싶어요.")
                    .await?;
                self.tool(
                    "report_outcome",
                    json!({"result": "RESCHEDULED", "proposedTime": "목요일 오후 3시", "note": "시간 변경 요청"}),
                )
                .await?;
                self.say("목요일 오후 3시로 변경 요청 전달하겠습니다.")
                    .await?;
            }
            "03" => {
                self.hear("취소할게요. 출장이 생겨서요.").await?;
                self.tool(
                    "report_outcome",
                    json!({"result": "DECLINED", "note": "출장으로 취소"}),
                )
                .await?;
                self.say("네, 취소 처리하겠습니다.").await?;
            }
            "04" => {
                self.hear("지금 바빠서요, 나중에 다시 전화 주세요.").await?;
                self.tool("report_outcome", json!({"result": "CALLBACK_REQUESTED"}))
                    .await?;
                self.say("네, 나중에 다시 연락드리겠습니다.").await?;
            }
            _ => {
                self.hear("네, 맞습니다. 그때 갈게요.").await?;
                self.tool("report_outcome", json!({"result": "SUCCESS"}))
                    .await?;
                self.say("확인 감사합니다. 좋은 하루 보내세요.").await?;
            }
        }
        self.listen(500).await?;
        self.close(CLOSE_NORMAL, "end_call tool was called.").await;
        Ok(())
    }
}
