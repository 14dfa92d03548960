//! What each column of the sheet is for, from its header: Korean or English, in any case and
//! spacing. The first phone and the first name column win; every other column is context.

use super::ImportError;

/// Headers (compared after folding case, spaces, `_`, `-` and `.`) that name the phone column.
pub const PHONE_HEADERS: &[&str] = &[
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// The number to call.
    Phone,
    /// The contact's name.
    Name,
    /// Anything else, under this context key.
    Context(String),
    /// A column without a header (Excel's trailing empty columns): its cells are dropped.
    Ignored,
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
pub fn read_header(record: &csv::StringRecord) -> Result<Vec<Column>, ImportError> {
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
pub fn clean(cell: &str) -> &str {
    let cell = cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
    cell.strip_prefix("=\"")
        .and_then(|c| c.strip_suffix('"'))
        .map_or(cell, str::trim)
}

#[cfg(test)]
mod tests {
    use super::super::ImportError;
    use super::super::test_support::{context, parse, phones};

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
    fn a_sheet_without_a_phone_column_lists_the_headers_it_has() {
        let csv = "이름,예약시간,,메모\n홍길동,14:00,,x\n";
        assert_eq!(
            parse(csv.as_bytes()),
            Err(ImportError::NoPhoneColumn {
                headers: vec!["이름".into(), "예약시간".into(), "메모".into()]
            })
        );
    }
}
