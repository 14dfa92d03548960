//! What the bridge does to each message of a live call, apart from the sockets: a Twilio
//! message becomes the agent's audio chunk (or ends the call), an agent message becomes
//! Twilio's `media` (or one of the rarer messages [`crate::bridge`] acts on). These functions
//! run once per 20 ms frame and direction, so `frame-bench` measures them.

use protocols::elevenlabs::{ServerMessage, user_audio};
use protocols::twilio::{FromTwilio, MediaPayload, ToTwilio};

/// A Twilio message, as far as the bridge cares.
#[derive(Debug)]
pub enum FromTwilioFrame {
    /// Audio for the agent: the agent message to send, ready.
    Audio(String),
    /// Twilio stopped the stream.
    Stop,
    /// Anything else (marks, DTMF, a repeated `connected`): ignored.
    Other,
    /// Not a Media Streams message.
    Unreadable(serde_json::Error),
}

/// Reads one Twilio message of a started stream.
pub fn from_twilio(text: &str) -> FromTwilioFrame {
    match serde_json::from_str::<FromTwilio>(text) {
        Ok(FromTwilio::Media { media, .. }) => FromTwilioFrame::Audio(user_audio(&media.payload)),
        Ok(FromTwilio::Stop { .. }) => FromTwilioFrame::Stop,
        Ok(_) => FromTwilioFrame::Other,
        Err(error) => FromTwilioFrame::Unreadable(error),
    }
}

/// An agent message, as far as the bridge cares.
#[derive(Debug)]
pub enum FromAgentFrame {
    /// Audio for the caller, with the agent's event id (audio older than the last interruption
    /// is dropped) and its base64 µ-law.
    Audio { event_id: u64, payload: String },
    /// Any other message.
    Message(ServerMessage),
    /// Not an agent message.
    Unreadable(serde_json::Error),
}

/// Reads one agent message.
pub fn from_agent(text: &str) -> FromAgentFrame {
    match serde_json::from_str::<ServerMessage>(text) {
        Ok(ServerMessage::Audio { audio_event }) => FromAgentFrame::Audio {
            event_id: audio_event.event_id,
            payload: audio_event.audio_base_64,
        },
        Ok(message) => FromAgentFrame::Message(message),
        Err(error) => FromAgentFrame::Unreadable(error),
    }
}

/// Twilio's `media` message carrying `payload` (base64 µ-law) on stream `stream_sid`.
pub fn to_twilio_media(stream_sid: &str, payload: String) -> Result<String, serde_json::Error> {
    serde_json::to_string(&ToTwilio::Media {
        stream_sid: stream_sid.to_owned(),
        media: MediaPayload {
            track: None,
            chunk: None,
            timestamp: None,
            payload,
        },
    })
}
