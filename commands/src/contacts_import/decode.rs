//! Bytes to text: valid UTF-8 (BOM stripped) as it is, anything else as CP949, and files that
//! are no CSV text at all (workbooks, UTF-16, NUL bytes) refused with advice.

use super::ImportError;
use super::lines::LineCounter;

/// How a file was decoded, as [`super::ParsedImport::encoding`] reports it.
pub const UTF8: &str = "UTF-8";
/// UTF-8 behind a byte-order mark.
pub const UTF8_BOM: &str = "UTF-8 (BOM)";
/// CP949 (windows-949, a superset of EUC-KR), as Korean Excel saves "CSV (쉼표로 분리)".
pub const EUC_KR: &str = "EUC-KR";

/// Decodes the file: valid UTF-8 (BOM stripped) as it is, anything else as CP949.
pub fn decode(bytes: &[u8]) -> Result<(String, &'static str), ImportError> {
    let malformed = |line: usize, reason: &str| ImportError::Malformed {
        line,
        reason: reason.to_owned(),
    };
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Err(malformed(
            1,
            "this is an Excel workbook, not a CSV file; in Excel choose Save As → CSV UTF-8",
        ));
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(malformed(
            1,
            "this file is UTF-16 (Excel's \"Unicode text\"); in Excel choose Save As → CSV UTF-8",
        ));
    }
    let (text, encoding) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        match std::str::from_utf8(rest) {
            Ok(text) => (text.to_owned(), UTF8_BOM),
            Err(err) => {
                return Err(malformed(
                    line_at(rest, err.valid_up_to()),
                    "the file starts with a UTF-8 mark but contains bytes that are not UTF-8",
                ));
            }
        }
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        (text.to_owned(), UTF8)
    } else {
        let (text, had_errors) = encoding_rs::EUC_KR.decode_without_bom_handling(bytes);
        if had_errors {
            // CP949 cannot encode U+FFFD, so the first one marks the first undecodable byte.
            let at = text.find('\u{FFFD}').unwrap_or(0);
            return Err(malformed(
                line_at(text.as_bytes(), at),
                "the file is neither UTF-8 nor CP949/EUC-KR text; save it from Excel as CSV UTF-8",
            ));
        }
        (text.into_owned(), EUC_KR)
    };
    if let Some(at) = text.find('\0') {
        return Err(malformed(
            line_at(text.as_bytes(), at),
            "the file contains NUL bytes, so it is not a CSV text file; save it from Excel as CSV UTF-8",
        ));
    }
    Ok((text, encoding))
}

/// 1-based line of byte `at`.
fn line_at(bytes: &[u8], at: usize) -> usize {
    LineCounter::line_at(bytes, 1, at)
}

#[cfg(test)]
mod tests {
    use super::super::ImportError;
    use super::super::test_support::{KOREAN_SHEET, assert_korean_sheet, parse};

    #[test]
    fn a_utf8_sheet_with_korean_headers_is_read() {
        let parsed = parse(KOREAN_SHEET.as_bytes()).unwrap();
        assert_eq!(parsed.encoding, "UTF-8");
        assert_korean_sheet(&parsed);
    }

    #[test]
    fn a_utf8_sheet_with_a_bom_is_read_and_the_bom_is_not_part_of_the_first_header() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(KOREAN_SHEET.as_bytes());
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.encoding, "UTF-8 (BOM)");
        assert_korean_sheet(&parsed);
    }

    #[test]
    fn a_cp949_sheet_as_korean_excel_saves_it_is_read() {
        let (bytes, _, unmappable) = encoding_rs::EUC_KR.encode(KOREAN_SHEET);
        assert!(!unmappable);
        assert!(std::str::from_utf8(&bytes).is_err(), "really CP949 bytes");
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.encoding, "EUC-KR");
        assert_korean_sheet(&parsed);
    }

    #[test]
    fn bytes_that_are_neither_utf8_nor_cp949_are_malformed_at_their_line() {
        let mut bytes = b"name,phone\nA,010-1111-2222\n".to_vec();
        bytes.extend_from_slice(b"\xFF\xFF,010-3333-4444\n");
        assert!(matches!(
            parse(&bytes),
            Err(ImportError::Malformed { line: 3, .. })
        ));
        let mut bom = b"\xEF\xBB\xBFname,phone\n".to_vec();
        bom.extend_from_slice("홍길동".as_bytes());
        bom.extend_from_slice(b",\xB0\xA1\n");
        assert!(matches!(
            parse(&bom),
            Err(ImportError::Malformed { line: 2, .. })
        ));
    }

    #[test]
    fn workbooks_and_utf16_files_are_refused_with_advice() {
        for bytes in [
            &b"PK\x03\x04\x14\x00\x06\x00"[..],
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00",
            b"\xFF\xFEn\x00a\x00",
            b"p\x00h\x00o\x00n\x00e\x00",
        ] {
            match parse(bytes) {
                Err(ImportError::Malformed { line: 1, reason }) => {
                    assert!(reason.contains("CSV UTF-8"), "{reason}")
                }
                other => panic!("{bytes:?}: {other:?}"),
            }
        }
    }
}
