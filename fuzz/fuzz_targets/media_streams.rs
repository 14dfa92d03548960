//! Media Streams messages, both ways: any text is a message or an error, and a message read
//! survives being written and read again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocols::twilio::{FromTwilio, ToTwilio};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = serde_json::from_slice::<FromTwilio>(data) {
        let text = serde_json::to_string(&message).expect("a message serializes");
        let again: FromTwilio = serde_json::from_str(&text).expect("and reads back");
        assert_eq!(again, message);
    }
    if let Ok(message) = serde_json::from_slice::<ToTwilio>(data) {
        let text = serde_json::to_string(&message).expect("a message serializes");
        let again: ToTwilio = serde_json::from_str(&text).expect("and reads back");
        assert_eq!(again, message);
    }
});
