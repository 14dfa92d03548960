//! Each data row becomes a contact or a rejected row with its line, value and reason. The
//! phone cell is read with the domain's Excel rules ([`PhoneNumber::parse_excel_cell`]); the
//! first occurrence of a number wins and later ones are reported as duplicates.

use std::collections::HashMap;

use domain::PhoneNumber;
use serde_json::{Map, Value};

use super::columns::{Column, clean};
use super::{ImportedContact, MAX_REPORTED_VALUE_CHARS, RejectedRow};

/// The rows read so far, sorted into accepted and refused.
pub struct Rows<'a> {
    columns: Vec<Column>,
    allowed_regions: &'a [&'a str],
    /// The line each accepted number was first seen on.
    seen: HashMap<PhoneNumber, usize>,
    contacts: Vec<ImportedContact>,
    rejected: Vec<RejectedRow>,
}

impl<'a> Rows<'a> {
    /// No rows yet, for a sheet with these `columns`.
    pub fn new(columns: Vec<Column>, allowed_regions: &'a [&'a str]) -> Self {
        Self {
            columns,
            allowed_regions,
            seen: HashMap::new(),
            contacts: Vec::new(),
            rejected: Vec::new(),
        }
    }

    /// Reads the data row that starts on `line`.
    pub fn push(&mut self, record: &csv::StringRecord, line: usize) {
        match read_row(record, &self.columns, line, self.allowed_regions) {
            Ok(contact) => match self.seen.get(&contact.phone) {
                Some(&first) => self.rejected.push(RejectedRow {
                    line,
                    value: reported_value(phone_cell(record, &self.columns)),
                    reason: format!("duplicate of line {first}"),
                }),
                None => {
                    self.seen.insert(contact.phone.clone(), line);
                    self.contacts.push(contact);
                }
            },
            Err(row) => self.rejected.push(row),
        }
    }

    /// The accepted and the refused rows, each in file order.
    pub fn finish(self) -> (Vec<ImportedContact>, Vec<RejectedRow>) {
        (self.contacts, self.rejected)
    }
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
    let parse_phone = |cell: &str| {
        PhoneNumber::parse_excel_cell(clean(cell), allowed_regions).map_err(|err| RejectedRow {
            line,
            value: reported_value(cell),
            reason: err.to_string(),
        })
    };
    let mut phone = None;
    let mut name = None;
    let mut context = Map::new();
    for (column, cell) in columns.iter().zip(record.iter()) {
        match column {
            Column::Phone => phone = Some(parse_phone(cell)?),
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
        None => parse_phone("")?,
    };
    Ok(ImportedContact {
        line,
        phone,
        name,
        context,
    })
}

#[cfg(test)]
mod tests {
    use domain::phone::PhoneError;
    use serde_json::json;

    use super::super::test_support::{KOREAN_SHEET, parse, phones, rejected};
    use super::super::{ImportLimits, parse_contacts_csv};
    use super::*;

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
}
