//! Twilio's webhook forms and their signatures: any body parses to pairs, the callbacks read
//! them or refuse them, a signature we compute always validates, and no input panics the check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocols::twilio::{
    AmdCallback, RecordingCallback, StatusCallback, compute_signature, parse_form,
    validate_json_signature, validate_signature,
};

const TOKEN: &str = "fuzz-auth-token";

fuzz_target!(|data: &[u8]| {
    // The first line is the URL and the signature header (split at the first space), the rest
    // the body, so the fuzzer varies all three.
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&data[..0], data),
    };
    let head = String::from_utf8_lossy(head);
    let (url, signature) = head.split_once(' ').unwrap_or((&head, ""));
    let form = parse_form(body);
    let _ = StatusCallback::from_form(&form);
    let _ = AmdCallback::from_form(&form);
    let _ = RecordingCallback::from_form(&form);
    let _ = validate_signature(TOKEN, url, &form, signature);
    let _ = validate_json_signature(TOKEN, url, body, signature);
    let ours = compute_signature(TOKEN, url, &form);
    assert!(validate_signature(TOKEN, url, &form, &ours), "{url:?}");
});
