//! The contacts CSV import: any bytes give contacts and a report or a whole-file error, never a
//! panic, and every accepted number is E.164.
#![no_main]

#[path = "../../commands/src/contacts_import/mod.rs"]
#[allow(dead_code, unused_imports, unexpected_cfgs)]
mod contacts_import;

use contacts_import::{ImportLimits, parse_contacts_csv};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small limits keep each run short; the code paths are the same.
    let limits = ImportLimits {
        max_bytes: 64 * 1024,
        max_rows: 500,
    };
    if let Ok(parsed) = parse_contacts_csv(data, &["KR"], &limits) {
        for contact in &parsed.contacts {
            assert!(
                contact.phone.as_str().starts_with('+'),
                "{}",
                contact.phone.as_str()
            );
        }
    }
});
