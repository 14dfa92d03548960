//! What a Media Streams ↔ agent bridge does to each message of a live call, apart from the
//! sockets: a Twilio message becomes the agent's audio chunk (or ends the call), an agent
//! message becomes Twilio's `media` (or one of the rarer messages the bridge acts on).
//! `media-bridge` runs these once per 20 ms frame and direction; the `frame-bench` example
//! measures them.
//!
//! The audio is base64 both ways and passed through as it came, never decoded: a frame is read
//! through a borrowed view of only the fields it needs ([`MediaFrame`], [`AgentFrame`]) and
//! written straight into its one output string. Only messages that are not audio are read
//! into the full types.

use std::borrow::Cow;

use crate::elevenlabs::{AgentFrame, ServerMessage, user_audio};
use crate::twilio::{FromTwilio, MediaFrame, media_message};

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
    if let Some(payload) = MediaFrame::media_payload(text) {
        return FromTwilioFrame::Audio(user_audio(&payload));
    }
    match serde_json::from_str::<FromTwilio>(text) {
        Ok(FromTwilio::Media { media, .. }) => FromTwilioFrame::Audio(user_audio(&media.payload)),
        Ok(FromTwilio::Stop { .. }) => FromTwilioFrame::Stop,
        Ok(_) => FromTwilioFrame::Other,
        Err(error) => FromTwilioFrame::Unreadable(error),
    }
}

/// An agent message, as far as the bridge cares.
#[derive(Debug)]
pub enum FromAgentFrame<'a> {
    /// Audio for the caller, with the agent's event id (audio older than the last interruption
    /// is dropped) and its base64 µ-law, borrowed from the message where it can be.
    Audio {
        event_id: u64,
        payload: Cow<'a, str>,
    },
    /// Any other message.
    Message(ServerMessage),
    /// Not an agent message.
    Unreadable(serde_json::Error),
}

/// Reads one agent message.
pub fn from_agent(text: &str) -> FromAgentFrame<'_> {
    if let Some(audio) = AgentFrame::audio(text) {
        return FromAgentFrame::Audio {
            event_id: audio.event_id,
            payload: audio.audio_base_64,
        };
    }
    match serde_json::from_str::<ServerMessage>(text) {
        Ok(ServerMessage::Audio { audio_event }) => FromAgentFrame::Audio {
            event_id: audio_event.event_id,
            payload: Cow::Owned(audio_event.audio_base_64),
        },
        Ok(message) => FromAgentFrame::Message(message),
        Err(error) => FromAgentFrame::Unreadable(error),
    }
}

/// Twilio's `media` message carrying `payload` (base64 µ-law) on stream `stream_sid`.
pub fn to_twilio_media(stream_sid: &str, payload: &str) -> String {
    media_message(stream_sid, payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elevenlabs::AgentFrame;
    use crate::twilio::MediaFrame;

    #[test]
    fn audio_passes_through_untouched_and_other_messages_are_read_whole() {
        let media = r#"{"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"3","timestamp":"60","payload":"AAEC/w=="},"streamSid":"MZ1"}"#;
        let FromTwilioFrame::Audio(chunk) = from_twilio(media) else {
            panic!("media is audio");
        };
        assert_eq!(chunk, r#"{"user_audio_chunk":"AAEC/w=="}"#);
        let stop = r#"{"event":"stop","sequenceNumber":"5","stop":{"accountSid":"AC1","callSid":"CA1"},"streamSid":"MZ1"}"#;
        assert!(matches!(from_twilio(stop), FromTwilioFrame::Stop));
        let mark = r#"{"event":"mark","sequenceNumber":"6","mark":{"name":"m"},"streamSid":"MZ1"}"#;
        assert!(matches!(from_twilio(mark), FromTwilioFrame::Other));
        assert!(matches!(from_twilio("{"), FromTwilioFrame::Unreadable(_)));

        let audio = r#"{"type":"audio","audio_event":{"audio_base_64":"AAEC/w==","event_id":7}}"#;
        let FromAgentFrame::Audio { event_id, payload } = from_agent(audio) else {
            panic!("audio is audio");
        };
        assert_eq!((event_id, payload.as_ref()), (7, "AAEC/w=="));
        assert_eq!(
            to_twilio_media("MZ1", &payload),
            r#"{"event":"media","streamSid":"MZ1","media":{"payload":"AAEC/w=="}}"#
        );
        let ping = r#"{"type":"ping","ping_event":{"event_id":12}}"#;
        assert!(matches!(
            from_agent(ping),
            FromAgentFrame::Message(ServerMessage::Ping { .. })
        ));
        assert!(matches!(from_agent("[1]"), FromAgentFrame::Unreadable(_)));
    }

    #[test]
    fn frames_in_the_providers_own_form_are_read_by_position_and_others_parsed_alike() {
        let borrowed = |payload: Option<Cow<'_, str>>| match payload {
            Some(Cow::Borrowed(text)) => Some(text.to_owned()),
            _ => None,
        };
        // Twilio's form: read in place, the same payload as parsing finds.
        let media = r#"{"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"2","timestamp":"5","payload":"no+J/w=="},"streamSid":"MZ1"}"#;
        assert_eq!(
            borrowed(MediaFrame::media_payload(media)).as_deref(),
            Some("no+J/w==")
        );
        // Keys in another order, spaces, an escaped `/`: parsed, with the same result.
        for other in [
            r#"{"sequenceNumber":"4","event":"media","media":{"payload":"no+J/w=="},"streamSid":"MZ1"}"#,
            r#"{"event": "media", "media": {"payload": "no+J/w=="}}"#,
            r#"{"event":"media","media":{"payload":"no+J\/w=="}}"#,
        ] {
            let payload = MediaFrame::media_payload(other).expect(other);
            assert_eq!(payload, "no+J/w==", "{other}");
        }
        // A `payload` key elsewhere too, written plainly or next to one with a space before its
        // colon or an escape in its name: parsed, so the one in `media` is read.
        for decoy in [
            r#"{"event":"media","extra":{"payload":"AAAA"},"media":{"payload":"no+J/w=="}}"#,
            r#"{"event":"media","extra":{"payload":"AAAA"},"media":{"payload" :"no+J/w=="}}"#,
            r#"{"event":"media","extra":{"payload":"AAAA"},"media":{"pa\u0079load":"no+J/w=="}}"#,
        ] {
            assert_eq!(
                MediaFrame::media_payload(decoy).unwrap(),
                "no+J/w==",
                "{decoy}"
            );
        }
        // Not media, or media without a payload: nothing to forward.
        let mark =
            r#"{"event":"mark","sequenceNumber":"6","mark":{"name":"payload"},"streamSid":"MZ1"}"#;
        assert!(MediaFrame::media_payload(mark).is_none());
        assert!(MediaFrame::media_payload(r#"{"event":"media","media":{}}"#).is_none());

        // The agent's form, alignment included: read in place.
        let audio = r#"{"type":"audio","audio_event":{"audio_base_64":"AAEC/w==","event_id":7,"alignment":{"chars":["a"],"char_start_times_ms":[0],"char_durations_ms":[5]}}}"#;
        let event = AgentFrame::audio(audio).unwrap();
        assert!(matches!(event.audio_base_64, Cow::Borrowed("AAEC/w==")));
        assert_eq!(event.event_id, 7);
        // The event id first, or written with a space, or an escape in the audio: the same.
        for other in [
            r#"{"type":"audio","audio_event":{"event_id":7,"audio_base_64":"AAEC/w=="}}"#,
            r#"{"type":"audio","audio_event":{"audio_base_64":"AAEC/w==","event_id": 7}}"#,
            r#"{"type":"audio","audio_event":{"audio_base_64":"AAEC\/w==","event_id":7}}"#,
            r#"{"audio_event":{"audio_base_64":"AAEC/w==","event_id":7},"type":"audio"}"#,
            r#"{"type":"audio","extra":{"event_id":5},"audio_event":{"audio_base_64":"AAEC/w==","event_id":7}}"#,
        ] {
            let event = AgentFrame::audio(other).expect(other);
            assert_eq!(
                (event.audio_base_64.as_ref(), event.event_id),
                ("AAEC/w==", 7),
                "{other}"
            );
        }
        // No event id, or one that is no u64: not audio to play.
        for broken in [
            r#"{"type":"audio","audio_event":{"audio_base_64":"AAEC/w=="}}"#,
            r#"{"type":"audio","audio_event":{"audio_base_64":"AAEC/w==","event_id":-1}}"#,
            r#"{"type":"audio","audio_event":{"audio_base_64":"AAEC/w==","event_id":99999999999999999999}}"#,
        ] {
            assert!(AgentFrame::audio(broken).is_none(), "{broken}");
        }
    }
}
