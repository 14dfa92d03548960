//! The contact importer: a CSV as Excel in Korea saves it becomes validated contacts plus a
//! per-row report of what was refused.
//!
//! What a file may look like:
//! - UTF-8 with or without a BOM, or CP949 (Excel's "CSV (쉼표로 분리)"; `EUC_KR` in WHATWG
//!   terms is windows-949, so the extended Hangul syllables decode too) — see [`decode`].
//! - Comma-separated; a header row that clearly uses `;` or tabs switches to that, and an
//!   Excel `sep=X` first line sets the delimiter explicitly — see [`dialect`].
//! - LF, CRLF or lone-CR line ends, a trailing empty line, quoted fields with commas, quotes and
//!   line breaks, blank rows (skipped).
//! - Korean or English headers ([`columns`]); each row becomes a contact or a rejected row
//!   ([`rows`]), within the [`limits`].
//!
//! Line numbers are the physical lines a person sees in a text editor, header included (a
//! `sep=` line is line 1 and pushes the header to line 2). A row whose quoted field spans
//! several lines is reported at the line where the row starts; the rows after it keep their
//! real line numbers.

pub mod columns;
pub mod decode;
pub mod dialect;
pub mod limits;
mod lines;
pub mod rows;
#[cfg(test)]
mod test_support;

use domain::PhoneNumber;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use columns::PHONE_HEADERS;
pub use limits::ImportLimits;

use columns::{clean, read_header};
use dialect::Dialect;
use lines::LineCounter;
use rows::Rows;

/// A row whose phone number was accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedContact {
    /// Line of the file the row starts on (header = line 1).
    pub line: usize,
    /// The validated number.
    pub phone: PhoneNumber,
    /// The name column, trimmed; `None` when absent or empty.
    pub name: Option<String>,
    /// Every other non-empty cell, under `appointmentTime`, `businessName` or its header text.
    pub context: Map<String, Value>,
}

impl ImportedContact {
    /// The domain contact this row becomes, once its call has an id.
    pub fn into_contact(self, call_id: uuid::Uuid) -> domain::campaign::Contact {
        domain::campaign::Contact {
            call_id,
            phone: self.phone,
            name: self.name,
            context: self.context,
        }
    }
}

/// A row that was not imported, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RejectedRow {
    /// Line of the file the row starts on.
    pub line: usize,
    /// The phone cell as written (cut to 64 characters).
    pub value: String,
    /// Why, as a sentence.
    pub reason: String,
}

/// Longest phone cell echoed back in a [`RejectedRow`]; a cell longer than this is not a
/// number anyway, and the report should not carry a pasted paragraph.
pub const MAX_REPORTED_VALUE_CHARS: usize = 64;

/// The outcome of reading a file: what can be imported and what cannot.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedImport {
    /// Accepted rows in file order.
    pub contacts: Vec<ImportedContact>,
    /// Refused rows in file order.
    pub rejected: Vec<RejectedRow>,
    /// How the file was decoded: `"UTF-8"`, `"UTF-8 (BOM)"` or `"EUC-KR"` (CP949).
    pub encoding: &'static str,
}

/// Why a file was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// More bytes than `max_bytes` (413).
    #[error("the file is larger than {max_bytes} bytes")]
    TooLarge { max_bytes: usize },
    /// More data rows than `max_rows`; nothing is imported.
    #[error("the file has more than {max_rows} contact rows; split it into smaller files")]
    TooManyRows { max_rows: usize },
    /// No header, or a header and no data rows.
    #[error("the file has no contacts: it needs a header row and at least one row of data")]
    Empty,
    /// No header names a phone column; `headers` are the non-empty ones found.
    #[error(
        "the file has no phone number column (a header such as 전화번호, 휴대폰, 연락처 or phone); headers found: {}",
        if .headers.is_empty() { "none".to_owned() } else { .headers.join(", ") }
    )]
    NoPhoneColumn { headers: Vec<String> },
    /// Not a readable CSV text file (workbook, UTF-16, undecodable bytes, unclosed quote).
    #[error("line {line}: {reason}")]
    Malformed { line: usize, reason: String },
}

/// Reads a CSV export into contacts and a per-row report. Numbers are validated with
/// [`PhoneNumber::parse_excel_cell`] against `allowed_regions`; the first occurrence of a
/// number wins and later ones are reported as duplicates. Whole-file problems (size, row count,
/// encoding, no phone column) refuse everything, so an import never goes in by halves.
pub fn parse_contacts_csv(
    bytes: &[u8],
    allowed_regions: &[&str],
    limits: &ImportLimits,
) -> Result<ParsedImport, ImportError> {
    limits.check_bytes(bytes.len())?;
    let (text, encoding) = decode::decode(bytes)?;
    let (body, dialect) = Dialect::detect(&text)?;

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(dialect.delimiter)
        .from_reader(body.as_bytes());
    let mut lines = LineCounter::new(body.as_bytes(), dialect.first_line);
    let mut record = csv::StringRecord::new();
    let mut rows: Option<Rows> = None;
    let mut count = 0usize;

    loop {
        let more = reader
            .read_record(&mut record)
            .map_err(|err| ImportError::Malformed {
                line: lines.line,
                reason: format!("the file could not be read as CSV: {err}"),
            })?;
        if !more {
            break;
        }
        let start = record.position().map_or(0, |p| p.byte() as usize);
        let line = lines.line_of_record_at(start);
        if record.iter().all(|cell| clean(cell).is_empty()) {
            continue;
        }
        let Some(rows) = &mut rows else {
            rows = Some(Rows::new(read_header(&record)?, allowed_regions));
            continue;
        };
        count += 1;
        limits.check_rows(count)?;
        rows.push(&record, line);
    }
    let Some(rows) = rows.filter(|_| count > 0) else {
        return Err(ImportError::Empty);
    };
    let (contacts, rejected) = rows.finish();
    Ok(ParsedImport {
        contacts,
        rejected,
        encoding,
    })
}

#[cfg(test)]
mod tests {
    use super::test_support::{KOREAN_SHEET, KR};
    use super::*;

    /// xorshift64*: deterministic, good enough to shake a parser.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn arbitrary_bytes_never_make_the_parser_panic() {
        let mut rng = Rng(0x5EED_CA11_B007_0001);
        // Bytes that matter to the parser, plus Hangul in both encodings, plus anything.
        let alphabet: Vec<Vec<u8>> = [
            &b","[..],
            b";",
            b"\t",
            b"\"",
            b"\r",
            b"\n",
            b"\r\n",
            b"=",
            b"0",
            b"1",
            b"010",
            b"-",
            b"+82",
            b"E+09",
            b"sep=",
            b"phone",
            b"name",
            b"\xEF\xBB\xBF",
            b" ",
            "전화번호".as_bytes(),
            "이름".as_bytes(),
            b"\xC8\xAB",
            b"\xB1\xE6",
            b"\x81",
            b"\xFF",
            b"\x00",
        ]
        .iter()
        .map(|b| b.to_vec())
        .collect();
        let limits = ImportLimits {
            max_bytes: 4096,
            max_rows: 20,
        };
        let seeds = [
            KOREAN_SHEET.as_bytes().to_vec(),
            b"sep=;\nphone;name\n010-1234-5678;\"a\nb\"\n".to_vec(),
        ];
        for round in 0..4000 {
            let bytes: Vec<u8> = match round % 3 {
                0 => (0..rng.below(200)).map(|_| rng.next() as u8).collect(),
                1 => (0..rng.below(60))
                    .flat_map(|_| alphabet[rng.below(alphabet.len())].clone())
                    .collect(),
                _ => {
                    let mut bytes = seeds[round % seeds.len()].clone();
                    for _ in 0..=rng.below(8) {
                        let at = rng.below(bytes.len() + 1);
                        match rng.below(3) {
                            0 if at < bytes.len() => bytes[at] = rng.next() as u8,
                            1 if at < bytes.len() => {
                                bytes.remove(at);
                            }
                            _ => bytes
                                .splice(at..at, alphabet[rng.below(alphabet.len())].clone())
                                .for_each(drop),
                        }
                    }
                    bytes
                }
            };
            let outcome = std::panic::catch_unwind(|| parse_contacts_csv(&bytes, KR, &limits));
            let Ok(result) = outcome else {
                panic!("panicked on {bytes:?}");
            };
            if let Ok(parsed) = result {
                assert!(parsed.contacts.len() + parsed.rejected.len() <= limits.max_rows);
                assert!(parsed.contacts.iter().all(|c| c.line >= 2));
            }
        }
    }
}
