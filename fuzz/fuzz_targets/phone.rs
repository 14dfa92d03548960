//! Phone parsing: whatever a user types, a number in E.164 or an error; a parsed number parses
//! again to itself.
#![no_main]

use domain::PhoneNumber;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [
        PhoneNumber::parse(text, &["KR"]).ok(),
        PhoneNumber::parse(text, &["KR", "US", "JP"]).ok(),
        PhoneNumber::parse_kr(text).ok(),
        PhoneNumber::parse_excel_cell(text, &["KR"]).ok(),
    ]
    .into_iter()
    .flatten()
    {
        let e164 = parsed.as_str();
        assert!(e164.starts_with('+'), "{e164}");
        let again = PhoneNumber::parse(e164, &["KR", "US", "JP"]).expect("E.164 parses again");
        assert_eq!(again.as_str(), e164);
        let _ = parsed.display();
        let _ = parsed.masked();
    }
});
