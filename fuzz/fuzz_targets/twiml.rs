//! TwiML parsing (the sandbox reads what the voice webhook answers): any text parses or is
//! refused, and what parses renders to TwiML that parses back to the same verbs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocols::twilio::{parse_twiml, render_twiml};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(verbs) = parse_twiml(text) {
        let rendered = render_twiml(&verbs);
        let again = parse_twiml(&rendered).expect("rendered TwiML parses");
        assert_eq!(again, verbs, "{rendered}");
    }
});
