//! The bridge's per-frame fast path against the full message types: whatever text a socket
//! sends, the audio read by position (or through the borrowed views) is the audio serde reads,
//! and what the bridge writes is a well-formed message carrying exactly that audio.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocols::elevenlabs::ServerMessage;
use protocols::frames::{FromAgentFrame, FromTwilioFrame, from_agent, from_twilio, to_twilio_media};
use protocols::twilio::{FromTwilio, ToTwilio};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let FromTwilioFrame::Audio(chunk) = from_twilio(text) {
        let sent: serde_json::Value = serde_json::from_str(&chunk).expect("the agent chunk is JSON");
        let audio = sent["user_audio_chunk"].as_str().expect("a user_audio_chunk string");
        assert_eq!(sent.as_object().map(|o| o.len()), Some(1), "only the chunk: {chunk}");
        if let Ok(FromTwilio::Media { media, .. }) = serde_json::from_str::<FromTwilio>(text) {
            assert_eq!(audio, media.payload, "fast path and serde read the same audio");
        }
    }
    if let FromAgentFrame::Audio { event_id, payload } = from_agent(text) {
        let written = to_twilio_media("MZ00000000000000000000000000000001", &payload);
        match serde_json::from_str::<ToTwilio>(&written).expect("the media message reads back") {
            ToTwilio::Media { media, .. } => assert_eq!(media.payload, payload),
            other => panic!("wrote {other:?} for audio"),
        }
        if let Ok(ServerMessage::Audio { audio_event }) = serde_json::from_str(text) {
            assert_eq!(audio_event.event_id, event_id);
            assert_eq!(audio_event.audio_base_64, payload);
        }
    }
});
