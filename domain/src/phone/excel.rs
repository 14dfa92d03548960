//! What Excel does to phone numbers typed into a General column, and how a cell is read back.
//!
//! Excel treats `01012345678` as the number 1012345678 (the leading zero is gone) and, in a
//! narrow column, writes a long number as `1.01234E+09` (the digits are gone). These rules undo
//! what can be undone and name what cannot, so a person knows to format the column as Text.

use thiserror::Error;

use super::{PhoneError, PhoneNumber};

/// Why a spreadsheet cell could not become a [`PhoneNumber`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExcelPhoneError {
    /// Excel wrote the number in scientific notation; its digits cannot be recovered.
    #[error(
        "Excel turned this number into scientific notation ({text}) and its digits are lost; format the phone column as Text in Excel and export again"
    )]
    ScientificNotation {
        /// The cell as written.
        text: String,
    },
    /// Only digits, not starting with 0, and not a number: Excel may have dropped a leading 0.
    #[error("{0} (if Excel dropped a leading 0, format the phone column as Text)")]
    MaybeLostLeadingZero(PhoneError),
    /// Not a phone number for any other reason.
    #[error(transparent)]
    Phone(#[from] PhoneError),
}

impl PhoneNumber {
    /// Parses a spreadsheet cell like [`PhoneNumber::parse`], putting back the leading zero
    /// Excel drops from a Korean mobile number and refusing scientific notation with advice.
    pub fn parse_excel_cell(cell: &str, allowed: &[&str]) -> Result<Self, ExcelPhoneError> {
        if is_scientific_notation(cell) {
            return Err(ExcelPhoneError::ScientificNotation {
                text: cell.to_owned(),
            });
        }
        if let Some(phone) = restore_lost_leading_zero(cell, allowed) {
            return Ok(phone);
        }
        Self::parse(cell, allowed).map_err(|err| {
            if is_digits(cell) && !cell.starts_with('0') {
                ExcelPhoneError::MaybeLostLeadingZero(err)
            } else {
                ExcelPhoneError::Phone(err)
            }
        })
    }
}

/// `1.01234E+09`, `1,01234E+10`, `1E+10`: what Excel writes for a long number in a narrow
/// General column.
pub fn is_scientific_notation(text: &str) -> bool {
    let Some((mantissa, exponent)) = text.split_once(['e', 'E']) else {
        return false;
    };
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    let (int, frac) = mantissa.split_once(['.', ',']).unwrap_or((mantissa, "0"));
    is_digits(int) && is_digits(frac) && is_digits(exponent)
}

/// A General column shows 010-1234-5678 typed without dashes as 1012345678. Puts the 0 back
/// only when that gives a Korean mobile number, the one case where the lost zero is certain.
pub fn restore_lost_leading_zero(text: &str, allowed: &[&str]) -> Option<PhoneNumber> {
    if !(is_digits(text) && text.starts_with('1') && (9..=10).contains(&text.len())) {
        return None;
    }
    PhoneNumber::parse(&format!("0{text}"), allowed)
        .ok()
        .filter(is_kr_mobile)
}

/// Korean mobile prefixes 010, 011, 016–019 in E.164.
fn is_kr_mobile(phone: &PhoneNumber) -> bool {
    ["+8210", "+8211", "+8216", "+8217", "+8218", "+8219"]
        .iter()
        .any(|p| phone.as_str().starts_with(p))
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KR: &[&str] = &["KR"];

    #[test]
    fn excel_scientific_notation_is_recognised_in_both_decimal_marks() {
        for text in ["1.01234E+09", "8.21012E+11", "1,01234E+10", "1E+10", "1e-3"] {
            assert!(is_scientific_notation(text), "{text}");
        }
        for text in ["010-1234-5678", "E+10", "1.E+10", "1.0E", "hello", ""] {
            assert!(!is_scientific_notation(text), "{text}");
        }
    }

    #[test]
    fn a_mobile_number_that_lost_its_leading_zero_gets_it_back() {
        let phone = restore_lost_leading_zero("1012345678", KR).unwrap();
        assert_eq!(phone.as_str(), "+821012345678");
        assert_eq!(
            PhoneNumber::parse_excel_cell("1055500102", KR)
                .unwrap()
                .as_str(),
            "+821055500102"
        );
        // A landline without its zero is not certain enough to repair.
        assert_eq!(restore_lost_leading_zero("23123456", KR), None);
        assert_eq!(restore_lost_leading_zero("01012345678", KR), None);
    }

    #[test]
    fn a_digit_string_that_is_no_number_hints_at_the_lost_zero() {
        let err = PhoneNumber::parse_excel_cell("9912345678", KR).unwrap_err();
        assert_eq!(
            err,
            ExcelPhoneError::MaybeLostLeadingZero(PhoneError::Invalid)
        );
        assert_eq!(
            err.to_string(),
            "this is not a valid phone number (if Excel dropped a leading 0, format the phone column as Text)"
        );
    }

    #[test]
    fn scientific_notation_is_refused_with_advice() {
        let err = PhoneNumber::parse_excel_cell("1.01234E+09", KR).unwrap_err();
        let reason = err.to_string();
        assert!(
            reason.contains("scientific notation (1.01234E+09)"),
            "{reason}"
        );
        assert!(reason.contains("as Text"), "{reason}");
    }

    #[test]
    fn other_cells_fail_as_plain_phone_numbers_do() {
        assert_eq!(
            PhoneNumber::parse_excel_cell("010-1234", KR),
            Err(ExcelPhoneError::Phone(PhoneError::Invalid))
        );
        assert_eq!(
            PhoneNumber::parse_excel_cell("", KR)
                .unwrap_err()
                .to_string(),
            PhoneError::Empty.to_string()
        );
        assert_eq!(
            PhoneNumber::parse_excel_cell("010-1234-5678", KR)
                .unwrap()
                .as_str(),
            "+821012345678"
        );
    }
}
