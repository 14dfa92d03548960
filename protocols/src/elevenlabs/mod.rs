//! ElevenLabs (PROTOCOLS §E): the agent WebSocket and its signed URL, conversation details and the
//! subscription. Everything is re-exported here.

pub mod account;
pub mod agent;
pub mod conversations;

pub use account::{Subscription, SubscriptionAnswer};
pub use agent::{
    AgentFrame, AgentOverride, AgentResponseEvent, AudioEvent, AudioFrameEvent, CLOSE_INTERNAL,
    CLOSE_NORMAL, CLOSE_OPERATIONAL, CLOSE_POLICY, ClientMessage, ClientToolCall,
    ConversationConfigOverride, ErrorEvent, EventId, Incoming, InitiationMetadata, PingEvent,
    PromptOverride, ServerMessage, SignedUrl, TtsOverride, UserTranscriptionEvent, parse_client,
    user_audio,
};
pub use conversations::{ConversationDetails, DetailsLine, DetailsMetadata};
