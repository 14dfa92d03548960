//! The bridge's per-frame work, alone: N Twilio `media` messages turned into agent audio chunks
//! and N agent `audio` messages turned into Twilio `media` messages, through the bridge's own
//! translation (`protocols::frames`, what every live call runs twice per 20 ms). Meant for
//! valgrind's callgrind, whose instruction counts repeat exactly from run to run:
//!
//! ```text
//! cargo build --release -p protocols --example frame-bench
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/frame-bench 1000
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/frame-bench 11000
//! ```
//!
//! The difference of the two totals over 10,000 is the cost of one frame each way (start-up
//! cancels out). `--check` runs the same loop and exits non-zero if a frame came out wrong.

use std::hint::black_box;

use base64::Engine as _;
use protocols::frames::{self, FromAgentFrame, FromTwilioFrame};

/// 20 ms of 8 kHz µ-law, as Twilio and the agent send it.
const FRAME_BYTES: usize = 160;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().as_deref().unwrap_or("10000").parse()?;
    let check = args.next().as_deref() == Some("--check");

    let audio: Vec<u8> = (0..FRAME_BYTES).map(|i| (i * 37 % 256) as u8).collect();
    let payload = base64::engine::general_purpose::STANDARD.encode(&audio);
    let stream_sid = "MZ0123456789abcdef0123456789abcdef";
    let twilio = format!(
        r#"{{"event":"media","sequenceNumber":"4","media":{{"track":"inbound","chunk":"3","timestamp":"60","payload":"{payload}"}},"streamSid":"{stream_sid}"}}"#
    );
    let agent =
        format!(r#"{{"type":"audio","audio_event":{{"audio_base_64":"{payload}","event_id":7}}}}"#);
    let to_agent = format!(r#"{{"user_audio_chunk":"{payload}"}}"#);
    let to_twilio = format!(
        r#"{{"event":"media","streamSid":"{stream_sid}","media":{{"payload":"{payload}"}}}}"#
    );

    let mut bytes = 0usize;
    for _ in 0..n {
        match frames::from_twilio(black_box(&twilio)) {
            FromTwilioFrame::Audio(chunk) => {
                anyhow::ensure!(!check || chunk == to_agent, "to the agent: {chunk}");
                bytes += black_box(chunk).len();
            }
            other => anyhow::bail!("a media message read as {other:?}"),
        }
        match frames::from_agent(black_box(&agent)) {
            FromAgentFrame::Audio { event_id, payload } => {
                anyhow::ensure!(event_id == 7, "event id {event_id}");
                let out = frames::to_twilio_media(stream_sid, &payload);
                anyhow::ensure!(!check || out == to_twilio, "to Twilio: {out}");
                bytes += black_box(out).len();
            }
            other => anyhow::bail!("an audio message read as {other:?}"),
        }
    }
    println!("{n} frames each way, {bytes} bytes out");
    Ok(())
}
