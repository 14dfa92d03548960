//! The CSV report: UTF-8 with a byte-order mark (so Excel shows Hangul), a header row, one row
//! per call. Columns as people read them: 이름, 전화번호 (010-5550-0101), 상태, 결과 (in Korean),
//! 시도 횟수, 통화 시간(초), 시작 시각(KST), 비용(USD), then 요약 (with summaries) and 통화 전문
//! (with transcripts); last the columns for machines: 전화번호(E.164), 상태 코드, 결과 코드.

use super::Report;

/// The byte-order mark that starts the file.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The header row for `report`'s options.
pub fn header(report: &Report) -> Vec<&'static str> {
    let mut header = vec![
        "이름",
        "전화번호",
        "상태",
        "결과",
        "시도 횟수",
        "통화 시간(초)",
        "시작 시각(KST)",
        "비용(USD)",
    ];
    if report.options.include_summaries {
        header.push("요약");
    }
    if report.options.include_transcripts {
        header.push("통화 전문");
    }
    header.extend(["전화번호(E.164)", "상태 코드", "결과 코드"]);
    header
}

/// A cell as Excel may open it safely: text starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return would be read as a formula (`=cmd|' /C calc'!A0`), so it is prefixed with `'`, as OWASP
/// recommends.
pub fn neutralize(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// The whole file.
pub fn render(report: &Report) -> Vec<u8> {
    let mut out = BOM.to_vec();
    {
        let mut writer = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .from_writer(&mut out);
        let write = |writer: &mut ::csv::Writer<&mut Vec<u8>>, record: Vec<String>| {
            writer
                .write_record(&record)
                .expect("writing CSV to memory cannot fail");
        };
        write(
            &mut writer,
            header(report).into_iter().map(str::to_owned).collect(),
        );
        for row in &report.rows {
            // The texts people typed or said are neutralized; the rest is ours (the E.164
            // number is `+` and digits only, which Excel reads as a number).
            let mut record = row.cells().to_vec();
            record[0] = neutralize(std::mem::take(&mut record[0]));
            if report.options.include_summaries {
                record.push(neutralize(row.summary.clone().unwrap_or_default()));
            }
            if report.options.include_transcripts {
                record.push(neutralize(row.transcript.clone().unwrap_or_default()));
            }
            record.extend(row.machine_cells());
            write(&mut writer, record);
        }
        writer.flush().expect("flushing CSV to memory cannot fail");
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::reports::{ReportOptions, ReportRow};

    /// A one-row report, with the summary and transcript columns if asked.
    fn report(include_summaries: bool, include_transcripts: bool) -> Report {
        Report {
            campaign_name: "예약 확인".into(),
            generated_at: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
            rows: vec![ReportRow {
                name: Some("김민수, \"VIP\"".into()),
                phone: "+821055500101".into(),
                status: "COMPLETED".into(),
                result: Some("SUCCESS".into()),
                attempts: 1,
                duration_secs: Some(42),
                started_at: Some(Utc.with_ymd_and_hms(2026, 3, 1, 5, 30, 0).unwrap()),
                cost_micros: 13_500,
                summary: Some("예약 확인함".into()),
                transcript: Some("agent: 안녕하세요\nuser: 네".into()),
            }],
            options: ReportOptions {
                include_summaries,
                include_transcripts,
            },
        }
    }

    /// A reader of the rendered file after its BOM.
    fn csv_reader(bytes: &[u8]) -> ::csv::Reader<&[u8]> {
        ::csv::Reader::from_reader(&bytes[BOM.len()..])
    }

    #[test]
    fn the_file_has_a_bom_korean_labels_seoul_times_and_machine_columns_last() {
        let bytes = render(&report(true, true));
        assert!(bytes.starts_with(BOM));
        let mut reader = csv_reader(&bytes);
        let headers = reader.headers().unwrap().clone();
        assert_eq!(headers.len(), 13);
        assert_eq!(&headers[9], "통화 전문");
        assert_eq!(&headers[10], "전화번호(E.164)");
        let rows: Vec<_> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0][0], "김민수, \"VIP\"");
        assert_eq!(&rows[0][1], "010-5550-0101");
        assert_eq!(&rows[0][2], "완료");
        assert_eq!(&rows[0][3], "성공");
        let machine: Vec<&str> = rows[0].iter().skip(10).collect();
        assert_eq!(machine, ["+821055500101", "COMPLETED", "SUCCESS"]);
        // 05:30 UTC is 14:30 in Seoul.
        assert_eq!(&rows[0][6], "2026-03-01 14:30:00");
        assert_eq!(&rows[0][7], "0.0135");
        assert_eq!(&rows[0][9], "agent: 안녕하세요\nuser: 네");
    }

    #[test]
    fn csv_report_formula_injection_is_neutralized() {
        for (name, expected) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+SUM(1+1)", "'+SUM(1+1)"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("-2+3", "'-2+3"),
            ("\tTAB", "'\tTAB"),
            ("김민수", "김민수"),
        ] {
            let mut report = report(true, false);
            report.rows[0].name = Some(name.into());
            report.rows[0].summary = Some(name.into());
            let bytes = render(&report);
            let mut reader = csv_reader(&bytes);
            let row = reader.records().next().unwrap().unwrap();
            assert_eq!(&row[0], expected, "{name}");
            assert_eq!(&row[8], expected, "the summary of {name}");
        }
    }

    #[test]
    fn summaries_and_transcripts_are_columns_only_when_asked() {
        let bytes = render(&report(false, false));
        let mut reader = csv_reader(&bytes);
        assert_eq!(reader.headers().unwrap().len(), 11);
    }
}
