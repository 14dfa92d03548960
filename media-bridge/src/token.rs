//! The per-call token that the voice webhook puts into `<Stream><Parameter name="token">` and
//! the media socket checks on Twilio's `start` (PROTOCOLS §I.1: the WebSocket handshake may
//! carry no signature, so the stream proves itself with this).

use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

fn mac(secret: &[u8], call_id: &str, call_sid: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"twilio-stream\n");
    mac.update(call_id.as_bytes());
    mac.update(b"\n");
    mac.update(call_sid.as_bytes());
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token for one call's stream, bound to our call id and Twilio's `CallSid`.
pub fn stream_token(secret: &[u8], call_id: &str, call_sid: &str) -> String {
    hex(&mac(secret, call_id, call_sid).finalize().into_bytes())
}

/// Whether `token` is the one [`stream_token`] gives (compared in constant time).
pub fn verify_stream_token(secret: &[u8], call_id: &str, call_sid: &str, token: &str) -> bool {
    let Some(bytes) = unhex(token) else {
        return false;
    };
    mac(secret, call_id, call_sid).verify_slice(&bytes).is_ok()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_for_its_own_call() {
        let token = stream_token(b"secret", "call-1", "CA1");
        assert_eq!(token.len(), 64);
        assert!(verify_stream_token(b"secret", "call-1", "CA1", &token));
        assert!(!verify_stream_token(b"secret", "call-2", "CA1", &token));
        assert!(!verify_stream_token(b"secret", "call-1", "CA2", &token));
        assert!(!verify_stream_token(b"other", "call-1", "CA1", &token));
        assert!(!verify_stream_token(b"secret", "call-1", "CA1", "zz"));
    }
}
