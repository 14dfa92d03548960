//! The load mode's measuring frames. In load mode the Twilio stand-in's callee streams real-time
//! 20 ms µ-law frames whose bytes carry the call's tag, a sequence number and the send time; the
//! ElevenLabs stand-in's echo agent sends every user chunk straight back, so each frame's round
//! trip through the server's bridge (callee → bridge → agent → bridge → callee) is timed where it
//! started. Nothing is shared with the server: the bytes are the only channel.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The marker a load frame starts with.
const MARKER: &[u8] = b"load:";
/// Marker, call tag (u32), sequence (u64), send time in µs since the recorder's epoch (u64).
const STAMP_LEN: usize = MARKER.len() + 4 + 8 + 8;
/// A 20 ms µ-law frame at 8 kHz.
pub const FRAME_BYTES: usize = 160;
/// The frame period (real time, whatever the stand-in's speed).
pub const FRAME_PERIOD: Duration = Duration::from_millis(20);

/// How long each load call streams, and where its numbers go.
#[derive(Debug)]
pub struct LoadCallee {
    /// How long each call streams frames once its media socket is up.
    pub stream_for: Duration,
    /// How long, after the last frame, the callee waits for the echoes still on their way.
    pub drain_for: Duration,
    recorder: LoadRecorder,
}

/// What the callees measured, shared by every call of one Twilio stand-in.
#[derive(Debug)]
struct LoadRecorder {
    epoch: Instant,
    next_tag: AtomicU32,
    placed: Mutex<Vec<Instant>>,
    streams: Mutex<Vec<StreamStats>>,
}

/// One call's stream, as its callee saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamStats {
    pub call_sid: String,
    /// When the media socket was open and `start` sent.
    pub opened_at: Instant,
    /// When the stream ended (`stop` sent, or the socket lost).
    pub ended_at: Instant,
    /// When the first echo came back.
    pub first_echo_at: Option<Instant>,
    pub frames_sent: u64,
    pub frames_echoed: u64,
    /// Echoes that carried another call's tag, or a sequence this call never sent.
    pub frames_misrouted: u64,
    /// Each echoed frame's round trip, in the order the echoes came.
    pub round_trips: Vec<RoundTrip>,
    /// Why the stream ended early or could not run, if it did.
    pub problem: Option<String>,
}

/// One echoed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundTrip {
    /// When the frame was sent, in ms after its stream opened (so a report can keep to the
    /// window in which every call streamed).
    pub sent_after_open_ms: u32,
    /// Callee → bridge → agent → bridge → callee, in µs.
    pub micros: u32,
}

/// Every number the load callees gathered.
#[derive(Debug, Clone, Default)]
pub struct LoadTally {
    /// When each create request reached the stand-in.
    pub placed: Vec<Instant>,
    pub streams: Vec<StreamStats>,
}

impl LoadCallee {
    /// Callees that stream for `stream_for` and wait up to `drain_for` for the last echoes.
    pub fn new(stream_for: Duration, drain_for: Duration) -> Self {
        Self {
            stream_for,
            drain_for,
            recorder: LoadRecorder {
                epoch: Instant::now(),
                next_tag: AtomicU32::new(1),
                placed: Mutex::default(),
                streams: Mutex::default(),
            },
        }
    }

    /// What was measured so far.
    pub fn tally(&self) -> LoadTally {
        LoadTally {
            placed: self.recorder.placed.lock().expect("load lock").clone(),
            streams: self.recorder.streams.lock().expect("load lock").clone(),
        }
    }

    /// How many streams have ended.
    pub fn streams_ended(&self) -> usize {
        self.recorder.streams.lock().expect("load lock").len()
    }

    /// A create request arrived.
    pub(crate) fn placed(&self) {
        self.recorder
            .placed
            .lock()
            .expect("load lock")
            .push(Instant::now());
    }

    /// A fresh tag for one call's frames.
    pub(crate) fn tag(&self) -> u32 {
        self.recorder.next_tag.fetch_add(1, Ordering::Relaxed)
    }

    /// Frame `sequence` of the call tagged `tag`, stamped with the time now.
    pub(crate) fn frame(&self, tag: u32, sequence: u64) -> Vec<u8> {
        let mut frame = vec![0xFF; FRAME_BYTES];
        let sent = u64::try_from(self.recorder.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut at = 0;
        for part in [
            MARKER,
            &tag.to_be_bytes(),
            &sequence.to_be_bytes(),
            &sent.to_be_bytes(),
        ] {
            frame[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        frame
    }

    /// Reads an echoed frame: its tag, sequence, send time and round trip so far; `None` if it
    /// is not a load frame.
    pub(crate) fn echo(&self, bytes: &[u8]) -> Option<(u32, u64, Instant, Duration)> {
        let stamp = bytes.get(..STAMP_LEN)?.strip_prefix(MARKER)?;
        let (tag, rest) = stamp.split_at(4);
        let (sequence, sent) = rest.split_at(8);
        let tag = u32::from_be_bytes(tag.try_into().ok()?);
        let sequence = u64::from_be_bytes(sequence.try_into().ok()?);
        let sent = Duration::from_micros(u64::from_be_bytes(sent.try_into().ok()?));
        let round_trip = self.recorder.epoch.elapsed().saturating_sub(sent);
        Some((tag, sequence, self.recorder.epoch + sent, round_trip))
    }

    /// A stream ended.
    pub(crate) fn finished(&self, stats: StreamStats) {
        self.recorder.streams.lock().expect("load lock").push(stats);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_read_back_with_its_tag_sequence_and_round_trip() {
        let load = LoadCallee::new(Duration::from_secs(1), Duration::from_secs(1));
        let before = Instant::now();
        let frame = load.frame(7, 42);
        assert_eq!(frame.len(), FRAME_BYTES);
        let (tag, sequence, sent, round_trip) = load.echo(&frame).expect("a load frame");
        assert_eq!((tag, sequence), (7, 42));
        // The stamp keeps whole µs: the send time read back is at most 1 µs before `before`.
        assert!(sent <= Instant::now() && sent + Duration::from_micros(1) >= before);
        assert!(round_trip < Duration::from_secs(60));
        assert_eq!(load.echo(&[0xFF; FRAME_BYTES]), None);
        assert_eq!(load.echo(b"load:"), None);
    }
}
