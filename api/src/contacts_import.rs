//! The contact importer: a CSV as Excel in Korea saves it becomes validated contacts plus a
//! per-row report of what was refused, and the request body that carries it is read with a
//! size limit.
//!
//! What a file may look like:
//! - UTF-8 with or without a BOM, or CP949 (Excel's "CSV (쉼표로 분리)"; `EUC_KR` in WHATWG
//!   terms is windows-949, so the extended Hangul syllables decode too).
//! - Comma-separated; a header row that clearly uses `;` or tabs switches to that, and an
//!   Excel `sep=X` first line sets the delimiter explicitly.
//! - LF, CRLF or lone-CR line ends, a trailing empty line, quoted fields with commas, quotes and
//!   line breaks, blank rows (skipped).
//!
//! Line numbers are the physical lines a person sees in a text editor, header included (a
//! `sep=` line is line 1 and pushes the header to line 2). A row whose quoted field spans
//! several lines is reported at the line where the row starts; the rows after it keep their
//! real line numbers.

use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::Pin;

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::header;
use domain::PhoneNumber;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// How much a single import may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Largest accepted file (the CSV itself, not the multipart envelope around it).
    pub max_bytes: usize,
    /// Most data rows (blank rows not counted); one more and the whole import is refused.
    pub max_rows: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_bytes: 5 * 1024 * 1024,
            max_rows: 10_000,
        }
    }
}

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
#[serde(rename_all = "camelCase")]
pub struct RejectedRow {
    /// Line of the file the row starts on.
    pub line: usize,
    /// The phone cell as written (cut to [`MAX_REPORTED_VALUE_CHARS`] characters).
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

impl From<ImportError> for ApiError {
    fn from(err: ImportError) -> Self {
        let details = match &err {
            ImportError::TooLarge { .. } => return ApiError::PayloadTooLarge,
            ImportError::TooManyRows { max_rows } => {
                json!({ "problem": "TOO_MANY_ROWS", "maxRows": max_rows })
            }
            ImportError::Empty => json!({ "problem": "EMPTY" }),
            ImportError::NoPhoneColumn { headers } => json!({
                "problem": "NO_PHONE_COLUMN",
                "headersFound": headers,
                "phoneHeaders": PHONE_HEADERS,
            }),
            ImportError::Malformed { line, reason } => {
                json!({ "problem": "MALFORMED", "line": line, "reason": reason })
            }
        };
        ApiError::InvalidInput {
            message: err.to_string(),
            details: Some(details),
        }
    }
}

/// Headers (compared after [`header_key`]) that name the phone column.
const PHONE_HEADERS: &[&str] = &[
    "전화번호",
    "휴대폰",
    "휴대전화",
    "연락처",
    "핸드폰",
    "휴대폰번호",
    "휴대전화번호",
    "핸드폰번호",
    "phone",
    "phonenumber",
    "mobile",
    "mobilephone",
    "tel",
    "telephone",
];

/// Headers that name the name column.
const NAME_HEADERS: &[&str] = &["이름", "성명", "고객명", "name", "customername"];

/// Headers with a well-known context key that scripts refer to.
const CONTEXT_ALIASES: &[(&str, &str)] = &[
    ("예약시간", "appointmentTime"),
    ("예약일시", "appointmentTime"),
    ("appointmenttime", "appointmentTime"),
    ("appointment", "appointmentTime"),
    ("업체명", "businessName"),
    ("businessname", "businessName"),
];

/// What a column of the sheet is for.
#[derive(Debug, Clone)]
enum Column {
    Phone,
    Name,
    Context(String),
    /// A column without a header (Excel's trailing empty columns): its cells are dropped.
    Ignored,
}

/// Reads a CSV export into contacts and a per-row report. Numbers are validated with
/// [`PhoneNumber::parse`] against `allowed_regions`; the first occurrence of a number wins and
/// later ones are reported as duplicates. Whole-file problems (size, row count, encoding, no
/// phone column) refuse everything, so an import never goes in by halves.
pub fn parse_contacts_csv(
    bytes: &[u8],
    allowed_regions: &[&str],
    limits: &ImportLimits,
) -> Result<ParsedImport, ImportError> {
    if bytes.len() > limits.max_bytes {
        return Err(ImportError::TooLarge {
            max_bytes: limits.max_bytes,
        });
    }
    let (text, encoding) = decode(bytes)?;
    let (body, first_line, sep) = strip_sep_line(&text);
    let delimiter = sep.unwrap_or_else(|| sniff_delimiter(body));
    check_quotes_close(body, delimiter, first_line)?;

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(body.as_bytes());
    let mut lines = LineCounter::new(body.as_bytes(), first_line);
    let mut record = csv::StringRecord::new();
    let mut columns: Option<Vec<Column>> = None;
    let mut rows = 0usize;
    let mut seen: HashMap<PhoneNumber, usize> = HashMap::new();
    let mut contacts = Vec::new();
    let mut rejected = Vec::new();

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
        let Some(columns) = &columns else {
            columns = Some(read_header(&record)?);
            continue;
        };
        rows += 1;
        if rows > limits.max_rows {
            return Err(ImportError::TooManyRows {
                max_rows: limits.max_rows,
            });
        }
        match read_row(&record, columns, line, allowed_regions) {
            Ok(contact) => match seen.get(&contact.phone) {
                Some(&first) => rejected.push(RejectedRow {
                    line,
                    value: reported_value(phone_cell(&record, columns)),
                    reason: format!("duplicate of line {first}"),
                }),
                None => {
                    seen.insert(contact.phone.clone(), line);
                    contacts.push(contact);
                }
            },
            Err(row) => rejected.push(row),
        }
    }
    if rows == 0 {
        return Err(ImportError::Empty);
    }
    Ok(ParsedImport {
        contacts,
        rejected,
        encoding,
    })
}

/// Decodes the file: valid UTF-8 (BOM stripped) as it is, anything else as CP949.
fn decode(bytes: &[u8]) -> Result<(String, &'static str), ImportError> {
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
            Ok(text) => (text.to_owned(), "UTF-8 (BOM)"),
            Err(err) => {
                return Err(malformed(
                    line_at(rest, err.valid_up_to()),
                    "the file starts with a UTF-8 mark but contains bytes that are not UTF-8",
                ));
            }
        }
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        (text.to_owned(), "UTF-8")
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
        (text.into_owned(), "EUC-KR")
    };
    if let Some(at) = text.find('\0') {
        return Err(malformed(
            line_at(text.as_bytes(), at),
            "the file contains NUL bytes, so it is not a CSV text file; save it from Excel as CSV UTF-8",
        ));
    }
    Ok((text, encoding))
}

/// 1-based line of byte `at`, counting LF, CRLF and lone CR as one line break each.
fn line_at(bytes: &[u8], at: usize) -> usize {
    let mut counter = LineCounter::new(bytes, 1);
    counter.advance_to(at.min(bytes.len()));
    counter.line
}

/// Follows the text forward, counting line breaks the way an editor shows them.
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8], first_line: usize) -> Self {
        Self {
            bytes,
            pos: 0,
            line: first_line,
        }
    }

    fn advance_to(&mut self, to: usize) {
        while self.pos < to {
            match self.bytes[self.pos] {
                b'\n' => self.line += 1,
                b'\r' if self.bytes.get(self.pos + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// The line a record starts on. The csv reader reports a record's offset before the blank
    /// lines it skipped (and between the CR and LF of a CRLF), so skip line breaks first.
    fn line_of_record_at(&mut self, offset: usize) -> usize {
        let mut start = offset.max(self.pos);
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        self.advance_to(start);
        self.line
    }
}

/// Splits off an Excel `sep=X` first line; answers the rest, the line the rest starts on, and
/// the delimiter it names.
fn strip_sep_line(text: &str) -> (&str, usize, Option<u8>) {
    let end = text.find(['\r', '\n']).unwrap_or(text.len());
    // Only spaces are trimmed: `sep=` followed by a tab names the tab.
    let first = text[..end].trim_matches(' ').trim_matches('"');
    let named = first
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("sep="))
        .map(|_| &first[4..]);
    match named {
        Some(d) if d.len() == 1 && d != "\"" => {
            let rest = &text[end..];
            let rest = rest
                .strip_prefix("\r\n")
                .or_else(|| rest.strip_prefix('\n'))
                .or_else(|| rest.strip_prefix('\r'))
                .unwrap_or(rest);
            (rest, 2, Some(d.as_bytes()[0]))
        }
        _ => (text, 1, None),
    }
}

/// Comma, unless the first non-blank line (the header) has more semicolons or tabs outside
/// quotes than commas.
fn sniff_delimiter(body: &str) -> u8 {
    let header = body
        .split(['\r', '\n'])
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let (mut in_quotes, mut counts) = (false, [0usize; 3]);
    for b in header.bytes() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b',' if !in_quotes => counts[0] += 1,
            b';' if !in_quotes => counts[1] += 1,
            b'\t' if !in_quotes => counts[2] += 1,
            _ => {}
        }
    }
    let [commas, semicolons, tabs] = counts;
    if commas >= semicolons && commas >= tabs {
        b','
    } else if semicolons >= tabs {
        b';'
    } else {
        b'\t'
    }
}

/// The csv reader ends an unclosed quoted field at the end of the file, which would swallow
/// every row after a stray quote without a word; refuse such a file, naming the line where the
/// quote opened. The states mirror the reader's: a quote only opens a field at its start.
fn check_quotes_close(body: &str, delimiter: u8, first_line: usize) -> Result<(), ImportError> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let bytes = body.as_bytes();
    let mut state = State::FieldStart;
    let mut opened_at = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let ends_field = b == delimiter || b == b'\n' || b == b'\r';
        state = match state {
            State::FieldStart | State::Unquoted if ends_field => State::FieldStart,
            State::FieldStart if b == b'"' => {
                opened_at = i;
                State::Quoted
            }
            State::FieldStart | State::Unquoted => State::Unquoted,
            State::Quoted if b == b'"' => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if b == b'"' => State::Quoted,
            State::QuoteInQuoted if ends_field => State::FieldStart,
            State::QuoteInQuoted => State::Unquoted,
        };
    }
    if state == State::Quoted {
        let mut counter = LineCounter::new(bytes, first_line);
        counter.advance_to(opened_at);
        return Err(ImportError::Malformed {
            line: counter.line,
            reason: "a quoted field that starts on this line is never closed; look for a stray \" in this row".to_owned(),
        });
    }
    Ok(())
}

/// Folds a header for comparison: case, spaces, `_`, `-` and `.` do not matter.
fn header_key(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '.' | '\u{FEFF}'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Classifies the columns; the first phone and the first name column win, and later ones
/// become context like any other column.
fn read_header(record: &csv::StringRecord) -> Result<Vec<Column>, ImportError> {
    let (mut phone, mut name) = (false, false);
    let columns: Vec<Column> = record
        .iter()
        .map(|cell| {
            let text = clean(cell);
            let key = header_key(text);
            if key.is_empty() {
                Column::Ignored
            } else if !phone && PHONE_HEADERS.contains(&key.as_str()) {
                phone = true;
                Column::Phone
            } else if !name && NAME_HEADERS.contains(&key.as_str()) {
                name = true;
                Column::Name
            } else if let Some((_, alias)) = CONTEXT_ALIASES.iter().find(|(k, _)| *k == key) {
                Column::Context((*alias).to_owned())
            } else {
                Column::Context(text.to_owned())
            }
        })
        .collect();
    if !phone {
        return Err(ImportError::NoPhoneColumn {
            headers: record
                .iter()
                .map(clean)
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .collect(),
        });
    }
    Ok(columns)
}

/// A cell as text: trimmed, with Excel's `="…"` formula quoting (used to keep leading zeros)
/// taken off.
fn clean(cell: &str) -> &str {
    let cell = cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
    cell.strip_prefix("=\"")
        .and_then(|c| c.strip_suffix('"'))
        .map_or(cell, str::trim)
}

fn phone_cell<'r>(record: &'r csv::StringRecord, columns: &[Column]) -> &'r str {
    columns
        .iter()
        .position(|c| matches!(c, Column::Phone))
        .and_then(|i| record.get(i))
        .unwrap_or("")
}

fn reported_value(cell: &str) -> String {
    let mut chars = cell.chars();
    let mut value: String = chars.by_ref().take(MAX_REPORTED_VALUE_CHARS).collect();
    if chars.next().is_some() {
        value.push('…');
    }
    value
}

fn read_row(
    record: &csv::StringRecord,
    columns: &[Column],
    line: usize,
    allowed_regions: &[&str],
) -> Result<ImportedContact, RejectedRow> {
    let mut phone = None;
    let mut name = None;
    let mut context = Map::new();
    for (column, cell) in columns.iter().zip(record.iter()) {
        match column {
            Column::Phone => {
                phone = Some(parse_phone(clean(cell), allowed_regions).map_err(|reason| {
                    RejectedRow {
                        line,
                        value: reported_value(cell),
                        reason,
                    }
                })?);
            }
            Column::Name => {
                name = Some(clean(cell))
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
            }
            Column::Context(key) => {
                let value = clean(cell);
                if !value.is_empty() && !context.contains_key(key) {
                    context.insert(key.clone(), Value::String(value.to_owned()));
                }
            }
            Column::Ignored => {}
        }
    }
    // A short row has no phone cell at all: the same as an empty one.
    let phone = match phone {
        Some(phone) => phone,
        None => parse_phone("", allowed_regions).map_err(|reason| RejectedRow {
            line,
            value: String::new(),
            reason,
        })?,
    };
    Ok(ImportedContact {
        line,
        phone,
        name,
        context,
    })
}

/// Validates a phone cell, undoing what Excel does to numbers typed into a General column.
fn parse_phone(value: &str, allowed_regions: &[&str]) -> Result<PhoneNumber, String> {
    if looks_scientific(value) {
        return Err(format!(
            "Excel turned this number into scientific notation ({value}) and its digits are lost; format the phone column as Text in Excel and export again"
        ));
    }
    let digits_only = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    // A General column shows 010-1234-5678 typed without dashes as 1012345678. Put the 0 back
    // only when that gives a Korean mobile number, the case the lost zero is sure about.
    if digits_only && value.starts_with('1') && (9..=10).contains(&value.len()) {
        let with_zero = format!("0{value}");
        if let Ok(phone) = PhoneNumber::parse(&with_zero, allowed_regions)
            && is_kr_mobile(&phone)
        {
            return Ok(phone);
        }
    }
    PhoneNumber::parse(value, allowed_regions).map_err(|err| {
        if digits_only && !value.starts_with('0') {
            format!("{err} (if Excel dropped a leading 0, format the phone column as Text)")
        } else {
            err.to_string()
        }
    })
}

/// Korean mobile prefixes 010, 011, 016–019 in E.164.
fn is_kr_mobile(phone: &PhoneNumber) -> bool {
    ["+8210", "+8211", "+8216", "+8217", "+8218", "+8219"]
        .iter()
        .any(|p| phone.as_str().starts_with(p))
}

/// `1.01234E+09`, `1,01234E+10`, `1E+10`: what Excel writes for a long number in a narrow
/// General column.
fn looks_scientific(value: &str) -> bool {
    let Some((mantissa, exponent)) = value.split_once(['e', 'E']) else {
        return false;
    };
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    let (int, frac) = mantissa.split_once(['.', ',']).unwrap_or((mantissa, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(int) && all_digits(frac) && all_digits(exponent)
}

/// Content types that carry the CSV file itself as the body.
const CSV_CONTENT_TYPES: &[&str] = &[
    "text/csv",
    "application/csv",
    "text/comma-separated-values",
    "application/vnd.ms-excel",
    "text/plain",
    "application/octet-stream",
];

/// Room for the multipart boundaries, part headers and small form fields around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// Reads the CSV file out of an import request: a raw body (`text/csv` and friends, or no
/// Content-Type) or a `multipart/form-data` upload, from the part named `file` or else the first
/// part that carries a file name. Anything over `limits.max_bytes` is refused with 413 as soon
/// as it is seen, before it is all read.
///
/// The handler must take the whole `Request` (not `Bytes`), so axum's default body limit does
/// not cut the file off first.
pub async fn csv_body(request: Request, limits: &ImportLimits) -> Result<Vec<u8>, ApiError> {
    let (parts, body) = request.into_parts();
    let content_type = match parts.headers.get(header::CONTENT_TYPE) {
        Some(value) => value
            .to_str()
            .map_err(|_| ApiError::invalid("the Content-Type header is not readable"))?
            .to_owned(),
        None => String::new(),
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence.is_empty() || CSV_CONTENT_TYPES.contains(&essence.as_str()) {
        if declared.is_some_and(|len| len > limits.max_bytes as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        read_limited(body, limits.max_bytes).await
    } else if essence == "multipart/form-data" {
        if declared.is_some_and(|len| len > (limits.max_bytes + MULTIPART_OVERHEAD) as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        multipart_file(&content_type, body, limits.max_bytes).await
    } else {
        Err(ApiError::InvalidInput {
            message: format!(
                "expected a CSV file sent as text/csv or as a multipart/form-data upload (part \"file\"), not {essence}"
            ),
            details: Some(json!({
                "contentType": essence,
                "accepted": ["text/csv", "multipart/form-data"],
            })),
        })
    }
}

async fn read_limited(mut body: Body, max_bytes: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|err| {
            ApiError::invalid(format!("the upload could not be read to the end: {err}"))
        })?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > max_bytes {
                return Err(ApiError::PayloadTooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

async fn multipart_file(
    content_type: &str,
    body: Body,
    max_bytes: usize,
) -> Result<Vec<u8>, ApiError> {
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        ApiError::invalid("the multipart upload has no boundary in its Content-Type")
    })?;
    let limits = multer::SizeLimit::new()
        .whole_stream((max_bytes + MULTIPART_OVERHEAD) as u64)
        .per_field(max_bytes as u64);
    let mut multipart = multer::Multipart::with_constraints(
        body.into_data_stream(),
        boundary,
        multer::Constraints::new().size_limit(limits),
    );
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") && field.file_name().is_none() {
            continue;
        }
        let mut out = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if out.len() + chunk.len() > max_bytes {
                return Err(ApiError::PayloadTooLarge);
            }
            out.extend_from_slice(&chunk);
        }
        return Ok(out);
    }
    Err(ApiError::invalid(
        "the multipart upload has no file; send the CSV in a part named \"file\"",
    ))
}

fn multipart_error(err: multer::Error) -> ApiError {
    match err {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            ApiError::PayloadTooLarge
        }
        other => ApiError::invalid(format!("the multipart upload is malformed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use domain::phone::PhoneError;

    use super::*;

    const KR: &[&str] = &["KR"];

    fn parse(bytes: &[u8]) -> Result<ParsedImport, ImportError> {
        parse_contacts_csv(bytes, KR, &ImportLimits::default())
    }

    fn phones(parsed: &ParsedImport) -> Vec<(usize, &str)> {
        parsed
            .contacts
            .iter()
            .map(|c| (c.line, c.phone.as_str()))
            .collect()
    }

    fn rejected(parsed: &ParsedImport) -> Vec<(usize, &str, &str)> {
        parsed
            .rejected
            .iter()
            .map(|r| (r.line, r.value.as_str(), r.reason.as_str()))
            .collect()
    }

    fn context(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect()
    }

    const KOREAN_SHEET: &str = "이름,전화번호,예약시간,업체명,메모\r\n\
        홍길동,010-1234-5678,2025-03-01 14:00,행복치과,첫 방문\r\n\
        김영희,01098765432,2025-03-02 10:30,행복치과,\r\n\
        뷁똠햏,+82 10 5550 0101,,행복치과,CP949 전용 글자\r\n";

    fn assert_korean_sheet(parsed: &ParsedImport) {
        assert_eq!(
            phones(parsed),
            vec![
                (2, "+821012345678"),
                (3, "+821098765432"),
                (4, "+821055500101")
            ]
        );
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let first = &parsed.contacts[0];
        assert_eq!(first.name.as_deref(), Some("홍길동"));
        assert_eq!(
            first.context,
            context(&[
                ("appointmentTime", "2025-03-01 14:00"),
                ("businessName", "행복치과"),
                ("메모", "첫 방문"),
            ])
        );
        // Empty cells are left out of the context.
        assert_eq!(
            parsed.contacts[1].context,
            context(&[
                ("appointmentTime", "2025-03-02 10:30"),
                ("businessName", "행복치과")
            ])
        );
        assert_eq!(parsed.contacts[2].name.as_deref(), Some("뷁똠햏"));
    }

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
    fn english_headers_in_any_case_and_spacing_are_recognised() {
        let csv = "Customer Name,Phone Number,Appointment Time,business_name\n\
            Alice,010-1111-2222,14:00,Happy Dental\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(phones(&parsed), vec![(2, "+821011112222")]);
        assert_eq!(parsed.contacts[0].name.as_deref(), Some("Alice"));
        assert_eq!(
            parsed.contacts[0].context,
            context(&[
                ("appointmentTime", "14:00"),
                ("businessName", "Happy Dental")
            ])
        );
        for (name, phone) in [
            ("name", "phone"),
            ("NAME", "PHONENUMBER"),
            ("customerName", "mobile"),
            ("성명", "tel"),
            ("고객명", "휴대폰"),
            ("이름", "휴대전화"),
            ("이름", "연락처"),
            ("이름", "핸드폰"),
            (" 이 름 ", " 전화 번호 "),
        ] {
            let csv = format!("{name},{phone}\nBob,010-3333-4444\n");
            let parsed = parse(csv.as_bytes()).unwrap_or_else(|e| panic!("{name},{phone}: {e}"));
            assert_eq!(
                phones(&parsed),
                vec![(2, "+821033334444")],
                "{name},{phone}"
            );
            assert_eq!(parsed.contacts[0].name.as_deref(), Some("Bob"), "{name}");
        }
    }

    #[test]
    fn every_spelling_of_the_appointment_header_maps_to_appointment_time() {
        for header in [
            "예약시간",
            "예약 시간",
            "예약일시",
            "appointmentTime",
            "appointment",
        ] {
            let csv = format!("phone,{header}\n010-3333-4444,내일 3시\n");
            let parsed = parse(csv.as_bytes()).unwrap();
            assert_eq!(
                parsed.contacts[0].context,
                context(&[("appointmentTime", "내일 3시")]),
                "{header}"
            );
        }
    }

    #[test]
    fn extra_columns_become_context_under_their_header_as_written() {
        let csv = "전화번호, 담당 의사 ,Visit Count,,\n010-1234-5678,김원장,3,,stray\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        // The column without a header is dropped; the others keep their (trimmed) header text.
        assert_eq!(
            parsed.contacts[0].context,
            context(&[("담당 의사", "김원장"), ("Visit Count", "3")])
        );
        assert_eq!(parsed.contacts[0].name, None);
    }

    #[test]
    fn the_first_phone_column_is_dialled_and_a_second_one_is_context() {
        let csv = "휴대폰,전화번호\n010-1234-5678,02-312-3456\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(phones(&parsed), vec![(2, "+821012345678")]);
        assert_eq!(
            parsed.contacts[0].context,
            context(&[("전화번호", "02-312-3456")])
        );
    }

    #[test]
    fn bad_rows_are_reported_with_their_line_value_and_reason() {
        let csv = "이름,전화번호\n\
            홍길동,010-1234-5678\n\
            오타,010-1234\n\
            빈칸,\n\
            글자,hello\n\
            중복,+82 10 1234 5678\n\
            짧은 행\n\
            김철수,010-9999-8888\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(
            phones(&parsed),
            vec![(2, "+821012345678"), (8, "+821099998888")]
        );
        let empty = PhoneError::Empty.to_string();
        assert_eq!(
            rejected(&parsed),
            vec![
                (3, "010-1234", PhoneError::Invalid.to_string().as_str()),
                (4, "", empty.as_str()),
                (5, "hello", PhoneError::Unparseable.to_string().as_str()),
                (6, "+82 10 1234 5678", "duplicate of line 2"),
                (7, "", empty.as_str()),
            ]
        );
    }

    #[test]
    fn numbers_outside_the_allowed_regions_are_rejected_unless_allowed() {
        let csv = "phone\n+1 650 253 0000\n010-1234-5678\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(
            rejected(&parsed),
            vec![(
                2,
                "+1 650 253 0000",
                PhoneError::CountryNotAllowed {
                    region: "US".to_owned()
                }
                .to_string()
                .as_str()
            )]
        );
        let both =
            parse_contacts_csv(csv.as_bytes(), &["KR", "US"], &ImportLimits::default()).unwrap();
        assert_eq!(both.contacts.len(), 2);
    }

    #[test]
    fn quoted_fields_with_commas_quotes_and_line_breaks_keep_later_line_numbers_right() {
        let csv = "이름,전화번호,메모\r\n\
            \"Kim, Minsu\",010-1111-2222,\"주차 가능, 2층\"\r\n\
            박지성,010-3333-4444,\"첫 줄\r\n둘째 줄\n셋째 \"\"줄\"\"\"\r\n\
            이영표,0101234,메모\r\n\
            손흥민,010-5555-6666,\r\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(
            phones(&parsed),
            vec![
                (2, "+821011112222"),
                (3, "+821033334444"),
                (7, "+821055556666")
            ]
        );
        assert_eq!(parsed.contacts[0].name.as_deref(), Some("Kim, Minsu"));
        assert_eq!(
            parsed.contacts[0].context,
            context(&[("메모", "주차 가능, 2층")])
        );
        assert_eq!(
            parsed.contacts[1].context,
            context(&[("메모", "첫 줄\r\n둘째 줄\n셋째 \"줄\"")])
        );
        assert_eq!(
            rejected(&parsed),
            vec![(6, "0101234", PhoneError::Invalid.to_string().as_str())]
        );
    }

    #[test]
    fn blank_rows_crlf_lone_cr_and_a_trailing_empty_line_are_tolerated() {
        let csv = "\r\n,,\r\nname,phone,memo\r\n\r\nA,010-1111-2222,\r\n ,  ,\r\n,,\r\nB,010-3333-4444,x\r\n\r\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(
            phones(&parsed),
            vec![(5, "+821011112222"), (8, "+821033334444")]
        );
        assert!(parsed.rejected.is_empty());

        let mac = "name,phone\rA,010-1111-2222\r\rB,bad\r";
        let parsed = parse(mac.as_bytes()).unwrap();
        assert_eq!(phones(&parsed), vec![(2, "+821011112222")]);
        assert_eq!(parsed.rejected[0].line, 4);
    }

    #[test]
    fn an_excel_sep_line_sets_the_delimiter_and_counts_as_line_one() {
        let csv = "sep=;\r\n이름;전화번호;메모\r\n홍길동;010-1234-5678;a,b\r\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(phones(&parsed), vec![(3, "+821012345678")]);
        assert_eq!(parsed.contacts[0].context, context(&[("메모", "a,b")]));

        let quoted_tab = "\"sep=\t\"\nphone\tname\n010-1234-5678\tA\n";
        let parsed = parse(quoted_tab.as_bytes()).unwrap();
        assert_eq!(parsed.contacts[0].name.as_deref(), Some("A"));

        let comma = "sep=,\nphone\n010-1234-5678\n";
        assert_eq!(
            phones(&parse(comma.as_bytes()).unwrap()),
            vec![(3, "+821012345678")]
        );
    }

    #[test]
    fn a_header_that_clearly_uses_semicolons_or_tabs_switches_the_delimiter() {
        let semi = "이름;전화번호;메모\n홍, 길동;010-1234-5678;a, b\n";
        let parsed = parse(semi.as_bytes()).unwrap();
        assert_eq!(parsed.contacts[0].name.as_deref(), Some("홍, 길동"));
        assert_eq!(parsed.contacts[0].context, context(&[("메모", "a, b")]));

        let tab = "name\tphone\tnote\nA\t010-1234-5678\tx;y\n";
        let parsed = parse(tab.as_bytes()).unwrap();
        assert_eq!(parsed.contacts[0].context, context(&[("note", "x;y")]));

        // A semicolon inside a quoted comma-separated header does not fool the sniffing.
        let comma = "\"name;alias\",phone\nA,010-1234-5678\n";
        let parsed = parse(comma.as_bytes()).unwrap();
        assert_eq!(parsed.contacts[0].context, context(&[("name;alias", "A")]));
    }

    #[test]
    fn a_mobile_number_that_lost_its_leading_zero_in_excel_gets_it_back() {
        let csv = "phone\n1012345678\n1055500102\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(
            phones(&parsed),
            vec![(2, "+821012345678"), (3, "+821055500102")]
        );
    }

    #[test]
    fn a_digit_string_that_is_no_number_with_or_without_a_zero_says_to_format_as_text() {
        let csv = "phone\n9912345678\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        let reason = &parsed.rejected[0].reason;
        assert!(
            reason.starts_with(&PhoneError::Invalid.to_string()),
            "{reason}"
        );
        assert!(
            reason.contains("format the phone column as Text"),
            "{reason}"
        );
    }

    #[test]
    fn excel_formula_quoted_cells_are_unwrapped() {
        let csv =
            "이름,전화번호\n\"=\"\"홍길동\"\"\",\"=\"\"010-1234-5678\"\"\"\n김,=\"01098765432\"\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(
            phones(&parsed),
            vec![(2, "+821012345678"), (3, "+821098765432")]
        );
        assert_eq!(parsed.contacts[0].name.as_deref(), Some("홍길동"));
    }

    #[test]
    fn scientific_notation_is_rejected_with_advice_to_format_the_column_as_text() {
        let csv = "phone\n1.01234E+09\n8.21012E+11\n\"1,01234E+10\"\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert!(parsed.contacts.is_empty());
        assert_eq!(
            parsed.rejected.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        for row in &parsed.rejected {
            assert!(row.reason.contains("scientific notation"), "{}", row.reason);
            assert!(row.reason.contains("as Text"), "{}", row.reason);
        }
        assert_eq!(parsed.rejected[0].value, "1.01234E+09");
    }

    #[test]
    fn a_long_rejected_value_is_cut_in_the_report() {
        let long = "x".repeat(500);
        let csv = format!("phone\n{long}\n");
        let parsed = parse(csv.as_bytes()).unwrap();
        let value = &parsed.rejected[0].value;
        assert_eq!(value.chars().count(), MAX_REPORTED_VALUE_CHARS + 1);
        assert!(value.ends_with('…'));
    }

    #[test]
    fn a_file_over_the_byte_limit_is_refused() {
        let csv = "phone\n010-1234-5678\n";
        let exact = ImportLimits {
            max_bytes: csv.len(),
            max_rows: 10,
        };
        assert!(parse_contacts_csv(csv.as_bytes(), KR, &exact).is_ok());
        let small = ImportLimits {
            max_bytes: csv.len() - 1,
            max_rows: 10,
        };
        assert_eq!(
            parse_contacts_csv(csv.as_bytes(), KR, &small),
            Err(ImportError::TooLarge {
                max_bytes: csv.len() - 1
            })
        );
        let big = vec![b'1'; ImportLimits::default().max_bytes + 1];
        assert!(matches!(parse(&big), Err(ImportError::TooLarge { .. })));
    }

    fn rows(n: usize) -> String {
        let mut csv = String::from("이름,전화번호\n");
        for i in 0..n {
            csv.push_str(&format!(
                "고객{i},010-{:04}-{:04}\n\n",
                1000 + i / 10_000,
                i % 10_000
            ));
        }
        csv
    }

    #[test]
    fn more_rows_than_the_limit_refuse_the_whole_import() {
        let limits = ImportLimits {
            max_bytes: 1 << 20,
            max_rows: 50,
        };
        // Blank rows do not count towards the limit.
        let at_limit = parse_contacts_csv(rows(50).as_bytes(), KR, &limits).unwrap();
        assert_eq!(at_limit.contacts.len(), 50);
        assert_eq!(at_limit.contacts[49].line, 100);
        assert_eq!(
            parse_contacts_csv(rows(51).as_bytes(), KR, &limits),
            Err(ImportError::TooManyRows { max_rows: 50 })
        );
    }

    #[test]
    fn ten_thousand_rows_fit_the_default_limits_and_one_more_does_not() {
        let parsed = parse(rows(10_000).as_bytes()).unwrap();
        assert_eq!(parsed.contacts.len(), 10_000);
        assert!(parsed.rejected.is_empty());
        assert_eq!(
            parse(rows(10_001).as_bytes()),
            Err(ImportError::TooManyRows { max_rows: 10_000 })
        );
    }

    #[test]
    fn a_sheet_without_a_phone_column_lists_the_headers_it_has() {
        let csv = "이름,예약시간,,메모\n홍길동,14:00,,x\n";
        assert_eq!(
            parse(csv.as_bytes()),
            Err(ImportError::NoPhoneColumn {
                headers: vec!["이름".into(), "예약시간".into(), "메모".into()]
            })
        );
    }

    #[test]
    fn a_file_without_data_rows_is_empty() {
        for csv in [
            &b""[..],
            b"\xEF\xBB\xBF",
            b"\r\n\r\n",
            b"phone\n",
            b"name,phone\r\n,\r\n\r\n",
        ] {
            assert_eq!(parse(csv), Err(ImportError::Empty), "{csv:?}");
        }
    }

    #[test]
    fn an_unclosed_quote_refuses_the_file_at_the_line_it_opens() {
        let csv = "name,phone\nA,010-1111-2222\n\"B,010-3333-4444\nC,010-5555-6666\n";
        assert!(matches!(
            parse(csv.as_bytes()),
            Err(ImportError::Malformed { line: 3, .. })
        ));
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

    #[test]
    fn rejected_rows_serialize_in_camel_case() {
        let row = RejectedRow {
            line: 3,
            value: "010-1234".into(),
            reason: "this is not a valid phone number".into(),
        };
        assert_eq!(
            serde_json::to_value(&row).unwrap(),
            json!({"line": 3, "value": "010-1234", "reason": "this is not a valid phone number"})
        );
    }

    #[test]
    fn import_errors_become_api_errors_with_details() {
        let too_large: ApiError = ImportError::TooLarge { max_bytes: 10 }.into();
        assert_eq!(too_large.code(), "PAYLOAD_TOO_LARGE");
        assert_eq!(
            too_large.into_response().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );

        let cases = [
            (
                ImportError::TooManyRows { max_rows: 5 },
                json!({"problem": "TOO_MANY_ROWS", "maxRows": 5}),
            ),
            (ImportError::Empty, json!({"problem": "EMPTY"})),
            (
                ImportError::Malformed {
                    line: 4,
                    reason: "bad".into(),
                },
                json!({"problem": "MALFORMED", "line": 4, "reason": "bad"}),
            ),
        ];
        for (err, expected) in cases {
            match ApiError::from(err) {
                ApiError::InvalidInput { details, .. } => assert_eq!(details, Some(expected)),
                other => panic!("{other:?}"),
            }
        }
        let no_phone: ApiError = ImportError::NoPhoneColumn {
            headers: vec!["이름".into()],
        }
        .into();
        assert_eq!(no_phone.code(), "INVALID_INPUT");
        let ApiError::InvalidInput { message, details } = no_phone else {
            unreachable!()
        };
        assert!(message.contains("이름"), "{message}");
        let details = details.unwrap();
        assert_eq!(details["headersFound"], json!(["이름"]));
        assert!(
            details["phoneHeaders"]
                .as_array()
                .unwrap()
                .contains(&json!("전화번호"))
        );
    }

    #[test]
    fn an_imported_contact_becomes_a_domain_contact() {
        let parsed = parse(KOREAN_SHEET.as_bytes()).unwrap();
        let id = uuid::Uuid::now_v7();
        let contact = parsed.contacts[0].clone().into_contact(id);
        assert_eq!(contact.call_id, id);
        assert_eq!(contact.phone.as_str(), "+821012345678");
        assert_eq!(
            contact.context["appointmentTime"],
            json!("2025-03-01 14:00")
        );
    }

    // --- csv_body ---------------------------------------------------------------------------

    fn request(content_type: Option<&str>, body: impl Into<Body>) -> Request {
        let mut builder = Request::builder().method("POST").uri("/import");
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        builder.body(body.into()).unwrap()
    }

    /// A multipart body as a browser sends it: `(name, file name, bytes)` per part.
    fn multipart(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, file_name, bytes) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file_name {
                Some(file) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/vnd.ms-excel\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        body
    }

    const BOUNDARY: &str = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

    fn multipart_type() -> String {
        format!("multipart/form-data; boundary={BOUNDARY}")
    }

    async fn status_of(result: Result<Vec<u8>, ApiError>) -> (StatusCode, String) {
        let err = result.expect_err("expected an error");
        let code = err.code().to_owned();
        (err.into_response().status(), code)
    }

    #[tokio::test]
    async fn a_text_csv_body_is_read_as_it_is() {
        let (cp949, _, _) = encoding_rs::EUC_KR.encode(KOREAN_SHEET);
        for ct in [
            Some("text/csv"),
            Some("text/csv; charset=euc-kr"),
            Some("application/vnd.ms-excel"),
            Some("Application/CSV"),
            Some("text/plain"),
            None,
        ] {
            let body = csv_body(request(ct, cp949.to_vec()), &ImportLimits::default())
                .await
                .unwrap();
            assert_eq!(body, cp949.as_ref(), "{ct:?}");
        }
        let parsed = parse(&cp949).unwrap();
        assert_korean_sheet(&parsed);
    }

    #[tokio::test]
    async fn a_multipart_upload_yields_the_part_named_file() {
        let body = multipart(
            BOUNDARY,
            &[
                ("campaign", None, b"ignored"),
                ("file", None, KOREAN_SHEET.as_bytes()),
            ],
        );
        let bytes = csv_body(
            request(Some(&multipart_type()), body),
            &ImportLimits::default(),
        )
        .await
        .unwrap();
        assert_eq!(bytes, KOREAN_SHEET.as_bytes());
    }

    #[tokio::test]
    async fn a_multipart_upload_yields_the_first_file_part_whatever_its_name() {
        let (cp949, _, _) = encoding_rs::EUC_KR.encode(KOREAN_SHEET);
        let body = multipart(
            BOUNDARY,
            &[
                ("note", None, b"text field"),
                ("upload", Some("고객명단.csv"), &cp949),
                ("other", Some("second.csv"), b"phone\n010-1234-5678\n"),
            ],
        );
        let bytes = csv_body(
            request(Some(&multipart_type()), body),
            &ImportLimits::default(),
        )
        .await
        .unwrap();
        assert_korean_sheet(&parse(&bytes).unwrap());
    }

    #[tokio::test]
    async fn a_multipart_upload_without_a_file_is_invalid_input() {
        let body = multipart(BOUNDARY, &[("note", None, b"no file here")]);
        let result = csv_body(
            request(Some(&multipart_type()), body),
            &ImportLimits::default(),
        )
        .await;
        assert_eq!(
            status_of(result).await,
            (StatusCode::BAD_REQUEST, "INVALID_INPUT".to_owned())
        );
        let no_boundary = csv_body(
            request(Some("multipart/form-data"), "x"),
            &ImportLimits::default(),
        )
        .await;
        assert_eq!(status_of(no_boundary).await.0, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn an_oversized_body_is_payload_too_large_with_or_without_a_length() {
        let limits = ImportLimits {
            max_bytes: 100,
            max_rows: 10,
        };
        let big = vec![b'a'; 101];
        let exact = vec![b'a'; 100];
        assert_eq!(
            csv_body(request(Some("text/csv"), exact.clone()), &limits)
                .await
                .unwrap()
                .len(),
            100
        );
        // A declared length is refused up front…
        let declared = Request::builder()
            .method("POST")
            .header(header::CONTENT_TYPE, "text/csv")
            .header(header::CONTENT_LENGTH, "101")
            .body(Body::from(big.clone()))
            .unwrap();
        assert_eq!(
            status_of(csv_body(declared, &limits).await).await,
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE".to_owned()
            )
        );
        // …and a streamed body of unknown length is cut off while it is read: this one never
        // ends, so only stopping early can answer.
        let endless = futures::stream::repeat_with(|| Ok::<_, std::io::Error>(vec![b'a'; 7]));
        let streamed = Body::from_stream(endless);
        assert_eq!(
            status_of(csv_body(request(Some("text/csv"), streamed), &limits).await)
                .await
                .0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        // A multipart file over the limit, too.
        let body = multipart(BOUNDARY, &[("file", Some("big.csv"), &big)]);
        assert_eq!(
            status_of(csv_body(request(Some(&multipart_type()), body), &limits).await)
                .await
                .0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let body = multipart(BOUNDARY, &[("file", Some("ok.csv"), &exact)]);
        assert_eq!(
            csv_body(request(Some(&multipart_type()), body), &limits)
                .await
                .unwrap(),
            exact
        );
    }

    #[tokio::test]
    async fn other_content_types_are_invalid_input_naming_what_is_accepted() {
        let result = csv_body(
            request(Some("application/json"), "{}"),
            &ImportLimits::default(),
        )
        .await;
        let err = result.unwrap_err();
        assert_eq!(err.code(), "INVALID_INPUT");
        let message = err.to_string();
        assert!(message.contains("text/csv"), "{message}");
        assert!(message.contains("application/json"), "{message}");
    }
}
