//! The ElevenLabs agent WebSocket's wire format (PROTOCOLS §E), shared by the bridge and the
//! sandbox, and the signed-URL answer.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// WebSocket close code: normal end (the agent ended the call).
pub const CLOSE_NORMAL: u16 = 1000;
/// WebSocket close code: operational error (ASR, LLM, TTS, user silence).
pub const CLOSE_OPERATIONAL: u16 = 1002;
/// WebSocket close code: input or contract error.
pub const CLOSE_POLICY: u16 = 1008;
/// WebSocket close code: internal error.
pub const CLOSE_INTERNAL: u16 = 1011;

/// `GET /v1/convai/conversation/get-signed-url` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedUrl {
    pub signed_url: String,
}

/// The per-call overrides of the agent. Every part is optional on the wire (a client may
/// override nothing and take the agent's own prompt, first message and language); an empty
/// field read here means "not overridden".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentOverride {
    #[serde(default)]
    pub prompt: PromptOverride,
    #[serde(default)]
    pub first_message: String,
    #[serde(default)]
    pub language: String,
}

/// The system prompt override.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptOverride {
    #[serde(default)]
    pub prompt: String,
}

/// What may be overridden for one conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationConfigOverride {
    #[serde(default)]
    pub agent: AgentOverride,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tts: Option<TtsOverride>,
}

/// The voice override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TtsOverride {
    pub voice_id: String,
}

/// A client tool call from the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientToolCall {
    pub tool_name: String,
    pub tool_call_id: String,
    #[serde(default)]
    pub parameters: Map<String, Value>,
    #[serde(default)]
    pub event_id: Option<u64>,
}

/// A message we send (`user_audio_chunk` has no `type`, see [`user_audio`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    ConversationInitiationClientData {
        #[serde(default)]
        conversation_config_override: ConversationConfigOverride,
        #[serde(default)]
        dynamic_variables: BTreeMap<String, Value>,
    },
    Pong {
        event_id: u64,
    },
    ContextualUpdate {
        text: String,
    },
    ClientToolResult {
        tool_call_id: String,
        result: String,
        is_error: bool,
    },
    /// The user is active (typing, say): the agent should not take the silence as a turn end.
    UserActivity {},
    /// A text turn from the user, as if spoken.
    UserMessage {
        text: String,
    },
}

/// `{"user_audio_chunk": "<base64>"}`, written straight (one allocation per frame).
pub fn user_audio(payload: &str) -> String {
    const HEAD: &str = r#"{"user_audio_chunk":"#;
    let mut out = String::with_capacity(HEAD.len() + payload.len() + 3);
    out.push_str(HEAD);
    crate::push_json_string(&mut out, payload);
    out.push('}');
    out
}

/// What the server may receive: a typed message or an audio chunk.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Audio(String),
    Message(ClientMessage),
}

/// Reads a client frame (the sandbox's side).
pub fn parse_client(text: &str) -> Result<Incoming, serde_json::Error> {
    let value: Value = serde_json::from_str(text)?;
    if let Some(chunk) = value.get("user_audio_chunk").and_then(Value::as_str) {
        return Ok(Incoming::Audio(chunk.to_owned()));
    }
    serde_json::from_value(value).map(Incoming::Message)
}

/// `conversation_initiation_metadata_event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitiationMetadata {
    pub conversation_id: String,
    pub agent_output_audio_format: String,
    pub user_input_audio_format: String,
}

/// `audio_event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioEvent {
    pub audio_base_64: String,
    pub event_id: u64,
}

/// `interruption_event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventId {
    pub event_id: u64,
}

/// `ping_event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PingEvent {
    pub event_id: u64,
    #[serde(default)]
    pub ping_ms: Option<u64>,
}

/// `agent_response_event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentResponseEvent {
    pub agent_response: String,
    #[serde(default)]
    pub event_id: Option<u64>,
}

/// `user_transcription_event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserTranscriptionEvent {
    pub user_transcript: String,
    #[serde(default)]
    pub event_id: Option<u64>,
}

/// `error_event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    pub code: u16,
    pub message: String,
    #[serde(default)]
    pub error_type: Option<String>,
}

/// A message the agent server sends; unknown types are kept as [`ServerMessage::Other`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    ConversationInitiationMetadata {
        conversation_initiation_metadata_event: InitiationMetadata,
    },
    Audio {
        audio_event: AudioEvent,
    },
    Interruption {
        interruption_event: EventId,
    },
    Ping {
        ping_event: PingEvent,
    },
    AgentResponse {
        agent_response_event: AgentResponseEvent,
    },
    UserTranscript {
        user_transcription_event: UserTranscriptionEvent,
    },
    ClientToolCall {
        client_tool_call: ClientToolCall,
    },
    Error {
        error_event: ErrorEvent,
    },
    #[serde(other)]
    Other,
}

/// What a bridge reads of each agent message first, borrowed from its text: the `type` and,
/// for `audio`, the event. Other fields are skipped unread, so an audio frame is read without
/// building a [`ServerMessage`] (whose tag makes serde buffer the whole message); any other
/// message is read again as one.
#[derive(Debug, Deserialize)]
pub struct AgentFrame<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow, default)]
    pub audio_event: Option<AudioFrameEvent<'a>>,
}

/// [`AudioEvent`], borrowed.
#[derive(Debug, Deserialize)]
pub struct AudioFrameEvent<'a> {
    /// Base64 µ-law, passed on as it came.
    #[serde(borrow)]
    pub audio_base_64: Cow<'a, str>,
    pub event_id: u64,
}

static AUDIO_BASE_64: crate::Key = crate::Key::new(r#""audio_base_64""#);
static EVENT_ID: crate::Key = crate::Key::new(r#""event_id""#);

impl<'a> AgentFrame<'a> {
    /// The event of an `audio` message; `None` for any other message or a text that is not
    /// this shape.
    pub fn audio(text: &'a str) -> Option<AudioFrameEvent<'a>> {
        // As the agent writes them (PROTOCOLS §E4): `type` first, then `audio_event` with its
        // two keys (and `alignment`, whose keys are others). Read by position; a message
        // written any other way is parsed.
        if let Some(rest) = text
            .strip_prefix(r#"{"type":"audio","#)
            .and_then(crate::Unescaped::new)
            && let Some(audio) = AUDIO_BASE_64.string_in(rest)
            && let Some(event_id) = EVENT_ID.number_in(rest)
        {
            return Some(AudioFrameEvent {
                audio_base_64: Cow::Borrowed(audio),
                event_id,
            });
        }
        match serde_json::from_str::<AgentFrame<'a>>(text) {
            Ok(AgentFrame {
                kind,
                audio_event: Some(audio),
            }) if kind == "audio" => Some(audio),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_use_the_asyncapi_shapes() {
        let ping: ServerMessage =
            serde_json::from_str(r#"{"type":"ping","ping_event":{"event_id":12,"ping_ms":84}}"#)
                .unwrap();
        assert_eq!(
            ping,
            ServerMessage::Ping {
                ping_event: PingEvent {
                    event_id: 12,
                    ping_ms: Some(84)
                }
            }
        );
        let unknown: ServerMessage =
            serde_json::from_str(r#"{"type":"vad_score","vad_score_event":{"vad_score":0.9}}"#)
                .unwrap();
        assert_eq!(unknown, ServerMessage::Other);
        let tool: ServerMessage = serde_json::from_str(
            r#"{"type":"client_tool_call","client_tool_call":{"tool_name":"report_outcome","tool_call_id":"t1","parameters":{"result":"SUCCESS"},"event_id":9}}"#,
        )
        .unwrap();
        assert!(matches!(tool, ServerMessage::ClientToolCall { .. }));
    }

    #[test]
    fn the_official_sdks_frames_parse_without_overrides() {
        // What elevenlabs-python's Conversation sends first (text only, nothing overridden).
        let initiation = r#"{"type":"conversation_initiation_client_data","custom_llm_extra_body":{},
            "conversation_config_override":{"text_only":true},"dynamic_variables":{},
            "source_info":{"source":"python_sdk","version":"2.78.0"}}"#;
        let Ok(Incoming::Message(ClientMessage::ConversationInitiationClientData {
            conversation_config_override,
            dynamic_variables,
        })) = parse_client(initiation)
        else {
            panic!("the SDK's initiation did not parse");
        };
        assert_eq!(conversation_config_override, Default::default());
        assert!(dynamic_variables.is_empty());
        let bare = parse_client(r#"{"type":"conversation_initiation_client_data"}"#).unwrap();
        assert!(matches!(
            bare,
            Incoming::Message(ClientMessage::ConversationInitiationClientData { .. })
        ));
        assert_eq!(
            parse_client(r#"{"type":"user_activity"}"#).unwrap(),
            Incoming::Message(ClientMessage::UserActivity {})
        );
        assert_eq!(
            parse_client(r#"{"type":"user_message","text":"네"}"#).unwrap(),
            Incoming::Message(ClientMessage::UserMessage { text: "네".into() })
        );
    }

    #[test]
    fn client_messages_round_trip_and_audio_has_no_type() {
        assert_eq!(
            parse_client(&user_audio("AAAA")).unwrap(),
            Incoming::Audio("AAAA".into())
        );
        let pong = serde_json::to_string(&ClientMessage::Pong { event_id: 3 }).unwrap();
        assert_eq!(pong, r#"{"type":"pong","event_id":3}"#);
        assert_eq!(
            parse_client(&pong).unwrap(),
            Incoming::Message(ClientMessage::Pong { event_id: 3 })
        );
        assert!(parse_client(r#"{"type":"nonsense"}"#).is_err());
    }

    #[test]
    fn an_audio_frame_is_read_as_the_full_type_reads_it() {
        let text = r#"{"type":"audio","audio_event":{"audio_base_64":"AAEC/w==","event_id":7}}"#;
        let audio = AgentFrame::audio(text).unwrap();
        assert!(matches!(audio.audio_base_64, Cow::Borrowed("AAEC/w==")));
        assert_eq!(audio.event_id, 7);
        let ServerMessage::Audio { audio_event } = serde_json::from_str(text).unwrap() else {
            panic!("expected audio");
        };
        assert_eq!(audio.audio_base_64, audio_event.audio_base_64);
        let ping = r#"{"type":"ping","ping_event":{"event_id":12,"ping_ms":84}}"#;
        assert!(AgentFrame::audio(ping).is_none());
        assert!(
            AgentFrame::audio(r#"{"type":"audio","audio_event":{"audio_base_64":"AA=="}}"#)
                .is_none()
        );
        assert!(AgentFrame::audio("[]").is_none());
        for payload in ["AAEC/w==", "odd \"quote\" \\ \u{1}"] {
            let expected = serde_json::json!({ "user_audio_chunk": payload }).to_string();
            assert_eq!(user_audio(payload), expected);
        }
    }
}
