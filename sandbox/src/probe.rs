//! Frame timing across the media bridge, for the bridge benchmark. When turned on, the Twilio
//! sandbox's callee stamps its silent frames with `probe:<n>` (the callee's audio is synthetic
//! either way, like the persona frames) and the ElevenLabs sandbox notes when each one arrives,
//! so the time a frame spends between the two sandboxes — the bridge's hop — is measured.
//! Off by default: nothing is stamped or recorded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

const MARKER: &[u8] = b"probe:";

static ENABLED: AtomicBool = AtomicBool::new(false);
static NEXT: AtomicU64 = AtomicU64::new(1);
static SENT: LazyLock<Mutex<HashMap<u64, Instant>>> = LazyLock::new(Mutex::default);
static LATENCIES: LazyLock<Mutex<Vec<Duration>>> = LazyLock::new(Mutex::default);

/// Starts stamping and timing frames.
pub fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

/// A 20 ms silent frame stamped with a fresh probe id (noted as sent now), when enabled.
pub(crate) fn frame() -> Option<Vec<u8>> {
    if !ENABLED.load(Ordering::Relaxed) {
        return None;
    }
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut frame = vec![0xFF; 160];
    let text = format!("probe:{id}");
    frame[..text.len()].copy_from_slice(text.as_bytes());
    SENT.lock().expect("probe lock").insert(id, Instant::now());
    Some(frame)
}

/// Notes the arrival of a frame, if it carries a probe id.
pub(crate) fn received(bytes: &[u8]) {
    let Some(rest) = bytes.strip_prefix(MARKER) else {
        return;
    };
    let digits: String = rest
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|b| char::from(*b))
        .collect();
    let Ok(id) = digits.parse::<u64>() else {
        return;
    };
    if let Some(sent) = SENT.lock().expect("probe lock").remove(&id) {
        LATENCIES.lock().expect("probe lock").push(sent.elapsed());
    }
}

/// How long each stamped frame took to arrive, and how many never did.
pub fn results() -> (Vec<Duration>, usize) {
    let latencies = LATENCIES.lock().expect("probe lock").clone();
    let lost = SENT.lock().expect("probe lock").len();
    (latencies, lost)
}
