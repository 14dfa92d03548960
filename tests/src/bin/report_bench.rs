//! Renders the CSV and PDF reports of a 1,000-call campaign and prints how long each takes
//! (SPEC §8: "a campaign of 1,000 calls renders in well under a second").
//!
//! `cargo run --release -p callbot-tests --bin report-bench [-- calls runs]`

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use commands::services::campaigns_view::{CallRecord, CostSplit, PostCallRecord};
use domain::call::{CallResult, CallStatus, Speaker, TranscriptLine};
use projections::reports::{Report, ReportFiles, ReportFont, ReportFormat, ReportOptions};

const NAMES: [&str; 8] = [
    "김민수",
    "이영희",
    "박지훈",
    "최수진",
    "정다은",
    "한지민",
    "오세훈",
    "윤아름",
];
const OUTCOMES: [(CallStatus, Option<CallResult>); 6] = [
    (CallStatus::Completed, Some(CallResult::Success)),
    (CallStatus::Completed, Some(CallResult::Rescheduled)),
    (CallStatus::Completed, Some(CallResult::Declined)),
    (CallStatus::NoAnswer, None),
    (CallStatus::Failed, None),
    (CallStatus::Completed, Some(CallResult::Voicemail)),
];

fn calls(count: usize) -> Vec<CallRecord> {
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    (0..count)
        .map(|i| {
            let (status, result) = OUTCOMES[i % OUTCOMES.len()];
            let at = start + Duration::seconds(i as i64 * 37);
            CallRecord {
                id: format!("{i:08}"),
                campaign_id: "bench".into(),
                owner_id: "bench".into(),
                seq: i as i64 + 1,
                phone_number: format!("+8210{:08}", 55_500_000 + i),
                name: Some(format!("{}{}", NAMES[i % NAMES.len()], i)),
                context: serde_json::json!({}),
                status,
                result,
                status_reason: None,
                attempts: 1 + (i % 3) as i64,
                retry_at: None,
                attempt_at: Some(commands::store::timestamp(at)),
                provider_sid: Some(format!("CA{i:032x}")),
                has_aggregate: true,
                reported: true,
                duration_secs: Some(30 + (i % 90) as i64),
                cost_micros: 13_500 + (i % 7) as i64 * 1_000,
                created_at: commands::store::timestamp(start),
                updated_at: commands::store::timestamp(at),
                post_call: PostCallRecord {
                    transcript: Some(vec![
                        TranscriptLine::new(
                            Speaker::Agent,
                            "안녕하세요, 내일 오후 2시 예약 확인 전화드렸습니다.",
                        ),
                        TranscriptLine::new(Speaker::User, "네, 그 시간에 가겠습니다."),
                    ]),
                    transcript_source: Some("PROVIDER".into()),
                    conversation_id: Some(format!("conv_{i:020}")),
                    summary: Some("고객이 내일 오후 2시 예약을 확인했습니다.".into()),
                    suggested_result: result.map(|result| result.as_str().to_owned()),
                    follow_up_needed: Some(false),
                    summary_source: Some("LLM".into()),
                },
                cost_split: CostSplit {
                    telephony_micros: 13_500,
                    voice_micros: (i % 7) as i64 * 1_000,
                    llm_micros: 0,
                },
            }
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let font = ReportFont::from_path(std::env::var_os("REPORT_FONT_PATH").map(Into::into));
    let files = ReportFiles::new(dir.path(), font);
    let rows = calls(count);
    let options = ReportOptions {
        include_summaries: true,
        include_transcripts: false,
    };
    println!("report-bench: {count} calls, {runs} runs each (median, min, max in ms)");
    for format in [ReportFormat::Csv, ReportFormat::Pdf] {
        let mut times = Vec::with_capacity(runs);
        let mut size = 0;
        for _ in 0..runs {
            let begin = Instant::now();
            // Building the rows from the call list is part of what a request pays for.
            let report = Report::new("벤치마크 캠페인", Utc::now(), &rows, options);
            let bytes = files.render(&report, format).expect("rendering succeeds");
            times.push(begin.elapsed().as_secs_f64() * 1000.0);
            size = bytes.len();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{:>4}: median {:8.1} ms  min {:8.1}  max {:8.1}  ({} bytes)",
            format.extension(),
            times[times.len() / 2],
            times[0],
            times[times.len() - 1],
            size
        );
    }
}
