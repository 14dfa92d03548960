//! Phone numbers, parsed once at the edge and carried as E.164 everywhere else.

use std::fmt;

use phonenumber::country;
use serde::{Deserialize, Serialize};
use thiserror::Error;

mod excel;

pub use excel::{ExcelPhoneError, is_scientific_notation, restore_lost_leading_zero};

/// The longest input we try to parse; anything longer is not a phone number someone typed.
pub const MAX_INPUT_CHARS: usize = crate::limits::PHONE_NUMBER.max;

/// Regions accepted when the caller does not say otherwise (PRD §10: Korea only).
pub const DEFAULT_ALLOWED_REGIONS: &[&str] = &["KR"];

/// Why a text could not become a [`PhoneNumber`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PhoneError {
    /// Nothing but whitespace was given.
    #[error("the phone number is empty")]
    Empty,
    /// The input is longer than any phone number a person would type.
    #[error("the phone number is too long (at most {max} characters)", max = MAX_INPUT_CHARS)]
    TooLong,
    /// The text does not look like a phone number at all.
    #[error("this does not look like a phone number")]
    Unparseable,
    /// The text looks like a phone number but no such number can exist.
    #[error("this is not a valid phone number")]
    Invalid,
    /// The number has an extension, which cannot be dialed automatically.
    #[error("phone numbers with an extension cannot be called")]
    ExtensionNotSupported,
    /// The number belongs to a region this account may not call.
    #[error("numbers from region {region} may not be called")]
    CountryNotAllowed {
        /// ISO 3166 region code of the number (or `+<country code>` when it has none).
        region: String,
    },
}

/// A valid phone number in E.164 form (`+821012345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses what a person typed; domestic numbers are read as Korean, and the number's region
    /// must be one of `allowed` (ISO codes, case-insensitive).
    pub fn parse(input: &str, allowed: &[&str]) -> Result<Self, PhoneError> {
        let (number, region) = parse_any(input)?;
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(&region)) {
            return Err(PhoneError::CountryNotAllowed { region });
        }
        Ok(number)
    }

    /// Parses with the default allowed regions (Korea only).
    pub fn parse_kr(input: &str) -> Result<Self, PhoneError> {
        Self::parse(input, DEFAULT_ALLOWED_REGIONS)
    }

    /// The E.164 form, e.g. `+821012345678`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form people write: `010-5550-0101` for a Korean number, the international form
    /// (`+1 415-555-0100`) for others.
    pub fn display(&self) -> String {
        display_number(&self.0)
    }

    /// A form safe for logs: country code and prefix, then stars, then the last four digits.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let (head, tail) = if chars.len() >= 10 { (5, 4) } else { (3, 2) };
        let hidden = chars.len().saturating_sub(head + tail);
        let mut out: String = chars.iter().take(head).collect();
        out.extend(std::iter::repeat_n('*', hidden));
        out.extend(chars.iter().skip(head + hidden));
        out
    }
}

/// A stored E.164 number as people write it (see [`PhoneNumber::display`]); text that is not a
/// number comes back as it is.
pub fn display_number(e164: &str) -> String {
    use phonenumber::Mode;
    let Ok(parsed) = phonenumber::parse(None, e164) else {
        return e164.to_owned();
    };
    let mode = if parsed.country().id() == Some(country::Id::KR) {
        Mode::National
    } else {
        Mode::International
    };
    parsed.format().mode(mode).to_string()
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PhoneNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;

    /// Reads a stored number. Only numbers that passed [`PhoneNumber::parse`] are ever stored,
    /// so this checks the E.164 shape (`+` and 8–15 digits) instead of running libphonenumber
    /// again: a campaign of 10,000 contacts is loaded on every command, and re-validating each
    /// number made that 50 ms slower. The region rule applied when it was first accepted.
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let digits = value.strip_prefix('+').ok_or(PhoneError::Unparseable)?;
        if (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(value))
        } else {
            Err(PhoneError::Invalid)
        }
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

/// Parses and validates without the region rule; returns the number and its region code.
fn parse_any(input: &str) -> Result<(PhoneNumber, String), PhoneError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    if trimmed.chars().count() > MAX_INPUT_CHARS {
        return Err(PhoneError::TooLong);
    }
    let text = normalize(trimmed);
    let parsed =
        phonenumber::parse(Some(country::Id::KR), &text).map_err(|_| PhoneError::Unparseable)?;
    if parsed.extension().is_some() {
        return Err(PhoneError::ExtensionNotSupported);
    }
    // libphonenumber reads letters as a keypad ("1-800-FLOWERS"); nobody types those here, so a
    // word is a typo, not a number.
    if text.chars().any(char::is_alphabetic) {
        return Err(PhoneError::Unparseable);
    }
    if !parsed.is_valid() {
        return Err(PhoneError::Invalid);
    }
    let region = match parsed.country().id() {
        Some(id) => id.as_ref().to_owned(),
        None => format!("+{}", parsed.country().code()),
    };
    let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
    Ok((PhoneNumber(e164), region))
}

/// Folds the full-width forms a Korean IME produces (digits, plus, parentheses, dashes, spaces)
/// into ASCII so the parser sees ordinary text.
fn normalize(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' => char::from(b'0' + (u32::from(c) - 0xFF10) as u8),
            '\u{FF0D}' | '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            '\u{FF0B}' => '+',
            '\u{FF08}' => '(',
            '\u{FF09}' => ')',
            '\u{3000}' | '\u{00A0}' => ' ',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kr(input: &str) -> Result<String, PhoneError> {
        PhoneNumber::parse_kr(input).map(|p| p.as_str().to_owned())
    }

    #[test]
    fn numbers_are_displayed_as_people_write_them() {
        let cases = [
            ("+821055500101", "010-5550-0101"),
            ("+8223123456", "02-312-3456"),
            ("+14155550100", "+1 415-555-0100"),
            ("not a number", "not a number"),
        ];
        for (stored, shown) in cases {
            assert_eq!(display_number(stored), shown, "{stored}");
        }
        assert_eq!(
            PhoneNumber::parse_kr("01055500101").unwrap().display(),
            "010-5550-0101"
        );
    }

    #[test]
    fn the_ways_people_write_a_number_become_e164() {
        for (form, input, e164) in [
            ("a dashed mobile number", "010-1234-5678", "+821012345678"),
            ("an undashed mobile number", "01012345678", "+821012345678"),
            ("a Seoul landline", "02-312-3456", "+8223123456"),
            (
                "the international form with spaces",
                "+82 10 1234 5678",
                "+821012345678",
            ),
            ("spaces and parentheses", " (02) 312 3456 ", "+8223123456"),
            ("spaces", "010 1234 5678", "+821012345678"),
            (
                "full-width digits and dashes",
                "０１０－１２３４－５６７８",
                "+821012345678",
            ),
            ("other dashes", "010‐1234—5678", "+821012345678"),
            (
                "full-width international",
                "＋８２　１０　１２３４　５６７８",
                "+821012345678",
            ),
        ] {
            assert_eq!(kr(input), Ok(e164.to_owned()), "{form}: {input:?}");
        }
    }

    #[test]
    fn every_sandbox_test_number_is_valid() {
        for nn in 1..=13 {
            let input = format!("010-5550-01{nn:02}");
            assert_eq!(
                kr(&input),
                Ok(format!("+8210555001{nn:02}")),
                "sandbox number {input}"
            );
        }
    }

    #[test]
    fn an_empty_input_is_refused() {
        assert_eq!(kr(""), Err(PhoneError::Empty));
        assert_eq!(kr("   "), Err(PhoneError::Empty));
    }

    #[test]
    fn an_overlong_input_is_refused() {
        assert_eq!(kr(&"1".repeat(33)), Err(PhoneError::TooLong));
    }

    #[test]
    fn text_that_is_not_a_number_is_refused() {
        assert_eq!(kr("hello"), Err(PhoneError::Unparseable));
        assert_eq!(kr("---"), Err(PhoneError::Unparseable));
        assert_eq!(kr("1"), Err(PhoneError::Unparseable));
        assert_eq!(kr("010-CALL-ME00"), Err(PhoneError::Unparseable));
        assert_eq!(kr("전화번호"), Err(PhoneError::Unparseable));
    }

    #[test]
    fn an_impossible_number_is_refused() {
        assert_eq!(kr("010-1234"), Err(PhoneError::Invalid));
        assert_eq!(kr("12"), Err(PhoneError::Invalid));
        assert_eq!(kr("099-1234-5678"), Err(PhoneError::Invalid));
    }

    #[test]
    fn a_number_with_an_extension_is_refused() {
        assert_eq!(
            kr("02-312-3456 ext. 12"),
            Err(PhoneError::ExtensionNotSupported)
        );
    }

    #[test]
    fn a_foreign_number_is_refused_unless_its_region_is_allowed() {
        assert_eq!(
            kr("+1 650 253 0000"),
            Err(PhoneError::CountryNotAllowed {
                region: "US".to_owned()
            })
        );
        let us = PhoneNumber::parse("+1 650 253 0000", &["KR", "us"]).unwrap();
        assert_eq!(us.as_str(), "+16502530000");
    }

    #[test]
    fn display_and_serde_use_the_e164_string() {
        let phone = PhoneNumber::parse_kr("010-1234-5678").unwrap();
        assert_eq!(phone.to_string(), "+821012345678");
        let json = serde_json::to_string(&phone).unwrap();
        assert_eq!(json, "\"+821012345678\"");
        let back: PhoneNumber = serde_json::from_str(&json).unwrap();
        assert_eq!(back, phone);
    }

    #[test]
    fn deserializing_checks_the_e164_shape_but_skips_the_region_rule() {
        let us: PhoneNumber = serde_json::from_str("\"+16502530000\"").unwrap();
        assert_eq!(us.as_str(), "+16502530000");
        assert!(serde_json::from_str::<PhoneNumber>("\"not a phone\"").is_err());
        assert!(serde_json::from_str::<PhoneNumber>("\"010-1234-5678\"").is_err());
        assert!(serde_json::from_str::<PhoneNumber>("\"+8210\"").is_err());
    }

    #[test]
    fn masking_hides_the_middle_digits() {
        let phone = PhoneNumber::parse_kr("010-1234-5678").unwrap();
        assert_eq!(phone.masked(), "+8210****5678");
        let landline = PhoneNumber::parse_kr("02-312-3456").unwrap();
        assert_eq!(landline.masked(), "+8223**3456");
    }

    #[test]
    fn errors_read_as_sentences() {
        let err = PhoneError::CountryNotAllowed {
            region: "US".to_owned(),
        };
        assert_eq!(err.to_string(), "numbers from region US may not be called");
    }
}
