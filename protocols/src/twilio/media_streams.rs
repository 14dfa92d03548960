//! Media Streams messages (PROTOCOLS §D): what Twilio sends on the media socket and what we
//! send back on a bidirectional stream.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `start` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamStart {
    pub account_sid: String,
    pub stream_sid: String,
    pub call_sid: String,
    #[serde(default)]
    pub tracks: Vec<String>,
    #[serde(default)]
    pub custom_parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub media_format: Option<MediaFormat>,
}

/// The audio format of a stream (always µ-law 8 kHz mono from Twilio).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFormat {
    pub encoding: String,
    pub sample_rate: u32,
    pub channels: u32,
}

/// A `media` payload; `chunk` and `timestamp` are strings on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Base64 µ-law at 8 kHz.
    pub payload: String,
}

/// A mark label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkPayload {
    pub name: String,
}

/// The `stop` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamStop {
    pub account_sid: String,
    pub call_sid: String,
}

/// A DTMF key press.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DtmfPayload {
    pub track: String,
    pub digit: String,
}

/// A message Twilio sends on the media socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum FromTwilio {
    Connected {
        protocol: String,
        version: String,
    },
    #[serde(rename_all = "camelCase")]
    Start {
        sequence_number: String,
        start: StreamStart,
        stream_sid: String,
    },
    #[serde(rename_all = "camelCase")]
    Media {
        sequence_number: String,
        media: MediaPayload,
        stream_sid: String,
    },
    #[serde(rename_all = "camelCase")]
    Dtmf {
        sequence_number: String,
        dtmf: DtmfPayload,
        stream_sid: String,
    },
    #[serde(rename_all = "camelCase")]
    Mark {
        sequence_number: String,
        mark: MarkPayload,
        stream_sid: String,
    },
    #[serde(rename_all = "camelCase")]
    Stop {
        sequence_number: String,
        stop: StreamStop,
        stream_sid: String,
    },
}

/// A message we send to Twilio on a bidirectional stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum ToTwilio {
    #[serde(rename_all = "camelCase")]
    Media {
        stream_sid: String,
        media: MediaPayload,
    },
    #[serde(rename_all = "camelCase")]
    Mark {
        stream_sid: String,
        mark: MarkPayload,
    },
    #[serde(rename_all = "camelCase")]
    Clear { stream_sid: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_stream_messages_use_twilios_shapes() {
        let start: FromTwilio = serde_json::from_str(
            r#"{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC1","streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],"customParameters":{"call_id":"123"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"MZ1"}"#,
        )
        .unwrap();
        let FromTwilio::Start { start, .. } = start else {
            panic!("expected start");
        };
        assert_eq!(start.custom_parameters["call_id"], "123");
        let clear = serde_json::to_value(ToTwilio::Clear {
            stream_sid: "MZ1".into(),
        })
        .unwrap();
        assert_eq!(
            clear,
            serde_json::json!({"event":"clear","streamSid":"MZ1"})
        );
        let connected: FromTwilio =
            serde_json::from_str(r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#)
                .unwrap();
        assert!(matches!(connected, FromTwilio::Connected { .. }));
    }
}
