//! What the importer's tests share: a Korean sheet and short views of a parse.

use serde_json::{Map, Value};

use super::{ImportError, ImportLimits, ParsedImport, parse_contacts_csv};

pub const KR: &[&str] = &["KR"];

pub fn parse(bytes: &[u8]) -> Result<ParsedImport, ImportError> {
    parse_contacts_csv(bytes, KR, &ImportLimits::default())
}

pub fn phones(parsed: &ParsedImport) -> Vec<(usize, &str)> {
    parsed
        .contacts
        .iter()
        .map(|c| (c.line, c.phone.as_str()))
        .collect()
}

pub fn rejected(parsed: &ParsedImport) -> Vec<(usize, &str, &str)> {
    parsed
        .rejected
        .iter()
        .map(|r| (r.line, r.value.as_str(), r.reason.as_str()))
        .collect()
}

pub fn context(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect()
}

pub const KOREAN_SHEET: &str = "이름,전화번호,예약시간,업체명,메모\r\n\
    홍길동,010-1234-5678,2025-03-01 14:00,행복치과,첫 방문\r\n\
    김영희,01098765432,2025-03-02 10:30,행복치과,\r\n\
    뷁똠햏,+82 10 5550 0101,,행복치과,CP949 전용 글자\r\n";

pub fn assert_korean_sheet(parsed: &ParsedImport) {
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
