//! A campaign's report as the read models know it: one row per call of the call list, the
//! totals, and the options that say which texts it carries.

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Seoul;
use commands::store::parse_timestamp;
use domain::labels::label_code;
use domain::phone::display_number;
use domain::script::Language;
use sqlx::AnyPool;

use super::ReportError;
use commands::services::campaigns_view::CallRecord;

use crate::call_list::CallList;
use crate::campaign_list::CampaignList;

/// What a report includes beyond the fixed columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOptions {
    pub include_summaries: bool,
    pub include_transcripts: bool,
}

/// One call in a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub name: Option<String>,
    pub phone: String,
    pub status: String,
    pub result: Option<String>,
    pub attempts: i64,
    pub duration_secs: Option<i64>,
    /// When the last attempt started.
    pub started_at: Option<DateTime<Utc>>,
    pub cost_micros: i64,
    pub summary: Option<String>,
    pub transcript: Option<String>,
}

/// The AI summary and the transcript of a call (one `agent: …` / `user: …` line per turn), for
/// reports and the recording endpoint.
pub fn call_texts(call: &CallRecord) -> (Option<String>, Option<String>) {
    let transcript = call.post_call.transcript.as_ref().map(|lines| {
        lines
            .iter()
            .map(|line| format!("{}: {}", line.role.as_str(), line.text))
            .collect::<Vec<_>>()
            .join("\n")
    });
    (call.post_call.summary.clone(), transcript)
}

impl ReportRow {
    /// The report row for one call of the call list.
    pub fn from_call(call: &CallRecord) -> Self {
        let (summary, transcript) = call_texts(call);
        Self {
            name: call.name.clone(),
            phone: call.phone_number.clone(),
            status: call.status.as_str().to_owned(),
            result: call.result.map(|result| result.as_str().to_owned()),
            attempts: call.attempts,
            duration_secs: call.duration_secs,
            started_at: call.attempt_at.as_deref().and_then(parse_timestamp),
            cost_micros: call.cost_micros,
            summary,
            transcript,
        }
    }

    /// The fixed columns as people read them, in the order both formats show them: name, phone
    /// (`010-5550-0101`), status and result in Korean, attempts, duration (s), start (KST), cost
    /// (USD).
    pub fn cells(&self) -> [String; 8] {
        [
            self.name.clone().unwrap_or_default(),
            display_number(&self.phone),
            label_code(&self.status, Language::Ko),
            self.result
                .as_deref()
                .map(|code| label_code(code, Language::Ko))
                .unwrap_or_default(),
            self.attempts.to_string(),
            self.duration_secs
                .map(|d| d.to_string())
                .unwrap_or_default(),
            self.started_kst(),
            self.cost_usd(),
        ]
    }

    /// The columns for machines, kept at the end of the CSV: the E.164 number, the status code
    /// and the result code.
    pub fn machine_cells(&self) -> [String; 3] {
        [
            self.phone.clone(),
            self.status.clone(),
            self.result.clone().unwrap_or_default(),
        ]
    }

    /// How the call ended in one word: its result, else its status (부재중, 실패, 대기 …).
    pub fn outcome(&self) -> String {
        label_code(self.result.as_deref().unwrap_or(&self.status), Language::Ko)
    }

    /// When the call started, in Korean time (`2026-03-01 14:05:09`), or empty.
    pub fn started_kst(&self) -> String {
        self.started_at
            .map(|at| {
                at.with_timezone(&Seoul)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default()
    }

    /// The cost in US dollars, four decimals.
    pub fn cost_usd(&self) -> String {
        usd(self.cost_micros)
    }
}

fn usd(micros: i64) -> String {
    format!("{:.4}", micros as f64 / 1_000_000.0)
}

/// The report's totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Totals {
    pub calls: usize,
    pub success: usize,
    pub no_answer: usize,
    pub failed: usize,
    pub cost_micros: i64,
    pub talk_secs: i64,
}

impl Totals {
    /// Totals over `rows`.
    pub fn of(rows: &[ReportRow]) -> Self {
        Self {
            calls: rows.len(),
            success: rows
                .iter()
                .filter(|r| r.result.as_deref() == Some("SUCCESS"))
                .count(),
            no_answer: rows.iter().filter(|r| r.status == "NO_ANSWER").count(),
            failed: rows.iter().filter(|r| r.status == "FAILED").count(),
            cost_micros: rows.iter().map(|r| r.cost_micros).sum(),
            talk_secs: rows.iter().filter_map(|r| r.duration_secs).sum(),
        }
    }

    /// How many calls ended each way, most first (ties in label order), as [`ReportRow::outcome`]
    /// names them.
    pub fn outcomes(rows: &[ReportRow]) -> Vec<(String, usize)> {
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for row in rows {
            *counts.entry(row.outcome()).or_default() += 1;
        }
        let mut outcomes: Vec<(String, usize)> = counts.into_iter().collect();
        outcomes.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        outcomes
    }

    /// The mean cost of one call in US dollars (`0.0000` without calls).
    pub fn cost_per_call_usd(&self) -> String {
        usd(self.cost_micros / i64::try_from(self.calls.max(1)).unwrap_or(i64::MAX))
    }

    /// Successful calls as a percentage of all calls, one decimal (`0.0` without calls).
    pub fn success_rate(&self) -> String {
        if self.calls == 0 {
            return "0.0".to_owned();
        }
        format!("{:.1}", self.success as f64 * 100.0 / self.calls as f64)
    }

    /// Total talk time in minutes, one decimal.
    pub fn minutes(&self) -> String {
        format!("{:.1}", self.talk_secs as f64 / 60.0)
    }

    /// Total cost in US dollars.
    pub fn cost_usd(&self) -> String {
        usd(self.cost_micros)
    }
}

/// Everything a report is rendered from.
#[derive(Debug, Clone)]
pub struct Report {
    pub campaign_name: String,
    pub generated_at: DateTime<Utc>,
    pub rows: Vec<ReportRow>,
    pub options: ReportOptions,
}

impl Report {
    /// The report of a campaign's calls.
    pub fn new(
        campaign_name: impl Into<String>,
        generated_at: DateTime<Utc>,
        calls: &[CallRecord],
        options: ReportOptions,
    ) -> Self {
        Self {
            campaign_name: campaign_name.into(),
            generated_at,
            rows: calls.iter().map(ReportRow::from_call).collect(),
            options,
        }
    }

    /// Its totals.
    pub fn totals(&self) -> Totals {
        Totals::of(&self.rows)
    }
}

/// The report of the campaign `campaign_id` of `owner_id` as it stands at `now`; `None` when
/// the owner has no such campaign.
pub async fn campaign_report(
    pool: &AnyPool,
    owner_id: &str,
    campaign_id: &str,
    now: DateTime<Utc>,
    options: ReportOptions,
) -> Result<Option<Report>, ReportError> {
    let Some(campaign) = CampaignList::find(pool, owner_id, campaign_id).await? else {
        return Ok(None);
    };
    let calls = CallList::for_campaign(pool, campaign_id).await?;
    Ok(Some(Report::new(campaign.name, now, &calls, options)))
}
