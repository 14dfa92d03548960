//! Media Streams messages (PROTOCOLS §D): what Twilio sends on the media socket and what we
//! send back on a bidirectional stream.

use std::borrow::Cow;
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

/// What a bridge reads of each message of a started stream, borrowed from its text: the
/// `event` and, for `media`, the payload. Other fields are skipped unread, so a 20 ms frame is
/// read without building a [`FromTwilio`] (whose tag makes serde buffer the whole message).
/// Any message that is not `media` is read again as a [`FromTwilio`].
#[derive(Debug, Deserialize)]
pub struct MediaFrame<'a> {
    #[serde(borrow)]
    pub event: Cow<'a, str>,
    #[serde(borrow, default)]
    pub media: Option<MediaFramePayload<'a>>,
}

/// The part of a `media` payload a bridge forwards.
#[derive(Debug, Deserialize)]
pub struct MediaFramePayload<'a> {
    /// Base64 µ-law at 8 kHz, passed on as it came.
    #[serde(borrow)]
    pub payload: Cow<'a, str>,
}

static PAYLOAD: crate::Key = crate::Key::new(r#""payload""#);

impl<'a> MediaFrame<'a> {
    /// The payload of a `media` message; `None` for any other message or a text that is not
    /// this shape.
    pub fn media_payload(text: &'a str) -> Option<Cow<'a, str>> {
        // As Twilio writes them (PROTOCOLS §D1): `event` first, then one key `payload`, in
        // `media`. Read by position; a message written any other way is parsed.
        if let Some(rest) = text
            .strip_prefix(r#"{"event":"media","#)
            .and_then(crate::Unescaped::new)
            && let Some(payload) = PAYLOAD.string_in(rest)
        {
            return Some(Cow::Borrowed(payload));
        }
        match serde_json::from_str::<MediaFrame<'a>>(text) {
            Ok(MediaFrame {
                event,
                media: Some(media),
            }) if event == "media" => Some(media.payload),
            _ => None,
        }
    }
}

/// [`ToTwilio::Media`] with only a payload, written straight: the same text serde writes,
/// in one allocation.
pub fn media_message(stream_sid: &str, payload: &str) -> String {
    const HEAD: &str = r#"{"event":"media","streamSid":"#;
    const MIDDLE: &str = r#","media":{"payload":"#;
    let mut out =
        String::with_capacity(HEAD.len() + MIDDLE.len() + stream_sid.len() + payload.len() + 8);
    out.push_str(HEAD);
    crate::push_json_string(&mut out, stream_sid);
    out.push_str(MIDDLE);
    crate::push_json_string(&mut out, payload);
    out.push_str("}}");
    out
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

    #[test]
    fn a_media_frame_is_read_and_written_as_the_full_types_do() {
        let text = r#"{"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"3","timestamp":"60","payload":"AAEC/w=="},"streamSid":"MZ1"}"#;
        let payload = MediaFrame::media_payload(text).unwrap();
        assert!(matches!(payload, Cow::Borrowed("AAEC/w==")));
        let FromTwilio::Media { media, .. } = serde_json::from_str(text).unwrap() else {
            panic!("expected media");
        };
        assert_eq!(payload, media.payload);
        // An escaped slash is read as the full types read it.
        let escaped = text.replace("AAEC/w==", r"AAEC\/w==");
        assert_eq!(MediaFrame::media_payload(&escaped).unwrap(), "AAEC/w==");
        let stop = r#"{"event":"stop","sequenceNumber":"5","stop":{"accountSid":"AC1","callSid":"CA1"},"streamSid":"MZ1"}"#;
        assert!(MediaFrame::media_payload(stop).is_none());
        assert!(MediaFrame::media_payload(r#"{"event":"media"}"#).is_none());
        assert!(MediaFrame::media_payload("not json").is_none());

        for (sid, payload) in [("MZ1", "AAEC/w=="), ("MZ\"odd", "a\nb")] {
            let full = serde_json::to_string(&ToTwilio::Media {
                stream_sid: sid.into(),
                media: MediaPayload {
                    track: None,
                    chunk: None,
                    timestamp: None,
                    payload: payload.into(),
                },
            })
            .unwrap();
            assert_eq!(media_message(sid, payload), full);
        }
    }
}
