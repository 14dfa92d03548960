//! Load binary: how long the contact importer takes for a full 10,000-row sheet, as CP949 (what
//! Korean Excel saves as "CSV") and as UTF-8 with a BOM ("CSV UTF-8"), and how much of that is
//! phone number validation.
//!
//! `cargo run --release -p callbot-tests --bin import-bench -- [rows] [runs]`

use std::time::{Duration, Instant};

use commands::contacts_import::{ImportLimits, parse_contacts_csv};
use domain::PhoneNumber;

const SURNAMES: &[&str] = &["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"];
const GIVEN: &[&str] = &[
    "민준", "서연", "도윤", "하은", "시우", "지유", "똠햏", "예준",
];

/// A sheet as a clinic would export it: every third number written differently, a memo with a
/// quoted comma now and then, an empty cell here and there.
fn sheet(rows: usize) -> String {
    let mut csv = String::from("이름,전화번호,예약시간,업체명,메모\r\n");
    for i in 0..rows {
        let name = format!(
            "{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i / 10) % GIVEN.len()]
        );
        let (mid, last) = (1000 + i / 10_000, i % 10_000);
        let phone = match i % 3 {
            0 => format!("010-{mid:04}-{last:04}"),
            1 => format!("010{mid:04}{last:04}"),
            _ => format!("+82 10 {mid:04} {last:04}"),
        };
        let memo = if i % 5 == 0 {
            "\"주차 가능, 2층\""
        } else {
            ""
        };
        let time = format!("2026-03-{:02} {:02}:30", 1 + i % 28, 9 + i % 9);
        csv.push_str(&format!("{name},{phone},{time},행복치과,{memo}\r\n"));
    }
    csv
}

fn time_runs(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    f(); // warm-up: libphonenumber compiles its metadata regexes on first use
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn report(label: &str, bytes: Option<usize>, rows: usize, times: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = times[times.len() / 2];
    let size = bytes.map_or(String::new(), |b| format!("{:.0} KiB", b as f64 / 1024.0));
    println!(
        "{label:<36} {size:>8}  min {:>7.2} ms  median {:>7.2} ms  max {:>7.2} ms  ({:.0} rows/s)",
        ms(times[0]),
        ms(median),
        ms(times[times.len() - 1]),
        rows as f64 / median.as_secs_f64(),
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(15);
    let limits = ImportLimits {
        max_rows: rows.max(ImportLimits::default().max_rows),
        ..ImportLimits::default()
    };
    let text = sheet(rows);

    let mut utf8 = b"\xEF\xBB\xBF".to_vec();
    utf8.extend_from_slice(text.as_bytes());
    let (cp949, _, unmappable) = encoding_rs::EUC_KR.encode(&text);
    assert!(!unmappable, "the sheet is CP949-encodable");

    println!("contact import, {rows} rows, {runs} runs each (release build)");
    for (label, bytes) in [
        ("UTF-8 (BOM)", utf8.as_slice()),
        ("CP949 / EUC-KR", cp949.as_ref()),
    ] {
        let parsed = parse_contacts_csv(bytes, &["KR"], &limits).expect("import");
        assert_eq!(parsed.contacts.len(), rows, "{label}: every row imports");
        assert!(parsed.rejected.is_empty(), "{label}: nothing rejected");
        let times = time_runs(runs, || {
            std::hint::black_box(parse_contacts_csv(bytes, &["KR"], &limits).expect("import"));
        });
        report(
            &format!("parse_contacts_csv {label}"),
            Some(bytes.len()),
            rows,
            &times,
        );
    }

    // The share of phone validation: the same numbers through PhoneNumber::parse alone.
    let numbers: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').nth(1).map(str::to_owned))
        .collect();
    let times = time_runs(runs, || {
        for n in &numbers {
            std::hint::black_box(PhoneNumber::parse(n, &["KR"]).expect("valid"));
        }
    });
    report("PhoneNumber::parse alone", None, rows, &times);
}
