//! ElevenLabs agent frames: what the agent server sends (the bridge reads it) and what a client
//! sends (the sandbox reads it); any text is a frame or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocols::elevenlabs::agent::{ServerMessage, parse_client};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(message) = serde_json::from_str::<ServerMessage>(text) {
        let _ = serde_json::to_string(&message).expect("a frame serializes");
    }
    let _ = parse_client(text);
});
