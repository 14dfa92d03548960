//! A PDF report renders in the built-in Korean font on a machine without any Korean font, shows
//! the outcome chart and cost summary on page 1, Korean words for the codes, numbers as people
//! write them, and wraps long values instead of cutting them.

use std::io::Write as _;
use std::process::Command;

use chrono::{TimeZone, Utc};
use projections::reports::{
    Report, ReportFiles, ReportFont, ReportFormat, ReportOptions, ReportRow,
};

const LONG_NAME: &str = "김수한무거북이와두루미삼천갑자동방삭치치카포사리사리센타워리워리세브리깡";

fn rows(count: usize) -> Vec<ReportRow> {
    let outcomes = [
        ("COMPLETED", Some("SUCCESS")),
        ("COMPLETED", Some("RESCHEDULED")),
        ("COMPLETED", Some("CALLBACK_REQUESTED")),
        ("NO_ANSWER", None),
        ("FAILED", None),
    ];
    (0..count)
        .map(|i| {
            let (status, result) = outcomes[i % outcomes.len()];
            ReportRow {
                name: Some(if i == 0 {
                    LONG_NAME.to_owned()
                } else {
                    format!("고객{i}")
                }),
                phone: format!("+82105550{:04}", 100 + i % 9000),
                status: status.into(),
                result: result.map(str::to_owned),
                attempts: 1,
                duration_secs: Some(40),
                started_at: Some(Utc.with_ymd_and_hms(2026, 3, 1, 5, 30, 0).unwrap()),
                cost_micros: 12_000,
                summary: None,
                transcript: None,
            }
        })
        .collect()
}

fn pdftotext(pdf: &[u8]) -> String {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(pdf).unwrap();
    let output = Command::new("pdftotext")
        .args(["-layout", "-l", "1"])
        .arg(file.path())
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_thousand_call_pdf_renders_in_the_built_in_font_with_chart_and_korean_words() {
    let dir = tempfile::tempdir().unwrap();
    // Only the built-in font: nothing on this machine's font paths is read.
    let files = ReportFiles::new(dir.path(), ReportFont::BuiltIn);
    let report = Report {
        campaign_name: "행복치과 예약 확인".into(),
        generated_at: Utc.with_ymd_and_hms(2026, 3, 1, 6, 0, 0).unwrap(),
        rows: rows(1_000),
        options: ReportOptions {
            include_summaries: false,
            include_transcripts: false,
        },
    };
    let pdf = files.render(&report, ReportFormat::Pdf).expect("a PDF");
    assert!(pdf.starts_with(b"%PDF"));
    // To look at it: REPORT_PDF_OUT=/tmp/report.pdf, then `pdftoppm -png -r 80 -f 1 -l 1`.
    if let Some(out) = std::env::var_os("REPORT_PDF_OUT") {
        std::fs::write(out, &pdf).unwrap();
    }
    let page_one = pdftotext(&pdf);
    for expected in [
        "행복치과 예약 확인",
        "통화 결과",
        "성공",
        "일정 변경",
        "재통화 요청",
        "부재중",
        "실패",
        "200건 (20.0%)",
        "비용 요약",
        "총 비용: $12.0000",
        "통화당 평균: $0.0120",
        "010-5550-0100",
    ] {
        assert!(
            page_one.contains(expected),
            "{expected:?} not on page 1:\n{page_one}"
        );
    }
    assert!(!page_one.contains("COMPLETED"), "{page_one}");
    assert!(!page_one.contains("+8210"), "{page_one}");
    // The long name wraps onto more lines: every character is on the page, in order, none cut.
    let mut page = page_one.chars();
    assert!(
        LONG_NAME.chars().all(|c| page.any(|on_page| on_page == c)),
        "{page_one}"
    );
    assert!(!page_one.contains('…'), "{page_one}");
    // A start time fits its column on one line.
    assert!(page_one.contains("2026-03-01 14:30:00"), "{page_one}");
}

#[test]
fn an_operators_font_file_that_is_missing_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let files = ReportFiles::new(dir.path(), ReportFont::File("/nonexistent/font.ttf".into()));
    let report = Report {
        campaign_name: "x".into(),
        generated_at: Utc::now(),
        rows: Vec::new(),
        options: ReportOptions {
            include_summaries: false,
            include_transcripts: false,
        },
    };
    let error = files.render(&report, ReportFormat::Pdf).unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent/font.ttf"),
        "{error}"
    );
}
