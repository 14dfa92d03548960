//! Which delimiter the file uses and where its rows start: an Excel `sep=X` first line names
//! it, else the header row's separators decide (comma unless `;` or tabs clearly win). A quote
//! that is never closed refuses the file.

use super::ImportError;
use super::lines::LineCounter;

/// How the CSV text is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// The field delimiter: `,`, `;`, a tab, or whatever a `sep=` line names.
    pub delimiter: u8,
    /// The line the CSV body starts on (2 after a `sep=` line, else 1).
    pub first_line: usize,
}

impl Dialect {
    /// Detects the dialect of `text`; answers the CSV body (without a `sep=` line) and it.
    pub fn detect(text: &str) -> Result<(&str, Self), ImportError> {
        let (body, first_line, sep) = strip_sep_line(text);
        let delimiter = sep.unwrap_or_else(|| sniff_delimiter(body));
        check_quotes_close(body, delimiter, first_line)?;
        Ok((
            body,
            Self {
                delimiter,
                first_line,
            },
        ))
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
        return Err(ImportError::Malformed {
            line: LineCounter::line_at(bytes, first_line, opened_at),
            reason: "a quoted field that starts on this line is never closed; look for a stray \" in this row".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::ImportError;
    use super::super::test_support::{context, parse, phones, rejected};
    use domain::phone::PhoneError;

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
    fn an_unclosed_quote_refuses_the_file_at_the_line_it_opens() {
        let csv = "name,phone\nA,010-1111-2222\n\"B,010-3333-4444\nC,010-5555-6666\n";
        assert!(matches!(
            parse(csv.as_bytes()),
            Err(ImportError::Malformed { line: 3, .. })
        ));
    }
}
