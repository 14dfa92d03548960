//! Campaign reports, built from the call list read model: CSV (UTF-8 with BOM, one row per call,
//! times in Asia/Seoul) and PDF (A4, NanumGothic, title, totals, one table row per call).
//!
//! Files go to `<data dir>/reports/<report id>.<csv|pdf>`, with a row in `reports` saying whose
//! they are and when their link expires (24 h); expired files are removed by the recordings
//! worker's pass.

pub mod csv;
pub mod pdf;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Seoul;
use commands::store::{parse_timestamp, timestamp};
use projections::call_list::CallRow;
use serde::Deserialize;
use sqlx::{AnyPool, Row};

/// How long a report link works.
pub const LINK_TTL_HOURS: i64 = 24;

/// The two report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Csv,
    Pdf,
}

impl ReportFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Pdf => "pdf",
        }
    }

    /// The `Content-Type` it is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Pdf => "application/pdf",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "csv" => Some(Self::Csv),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }
}

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
pub fn call_texts(call: &CallRow) -> (Option<String>, Option<String>) {
    let transcript = call.transcript.as_ref().map(|lines| {
        lines
            .iter()
            .map(|line| format!("{}: {}", line.role.as_str(), line.text))
            .collect::<Vec<_>>()
            .join("\n")
    });
    (call.summary.clone(), transcript)
}

impl ReportRow {
    /// The report row for one call of the call list.
    pub fn from_call(call: &CallRow) -> Self {
        let (summary, transcript) = call_texts(call);
        Self {
            name: call.name.clone(),
            phone: call.phone_number.clone(),
            status: call.status.clone(),
            result: call.result.clone(),
            attempts: call.attempts,
            duration_secs: call.duration_secs,
            started_at: call.attempt_at.as_deref().and_then(parse_timestamp),
            cost_micros: call.cost_micros,
            summary,
            transcript,
        }
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
        calls: &[CallRow],
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

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The configured font file does not exist.
    #[error("the report font is missing at {0}")]
    FontMissing(PathBuf),
    /// The font file is not a usable TrueType/OpenType font.
    #[error("the report font at {0} cannot be used")]
    FontUnreadable(PathBuf),
    #[error("rendering the PDF: {0}")]
    Pdf(String),
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("report table: {0}")]
    Database(#[from] sqlx::Error),
}

/// A stored report.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    pub report_id: String,
    pub owner_id: String,
    pub campaign_id: String,
    pub format: ReportFormat,
    pub file_name: String,
    pub bytes: i64,
    pub expires_at: DateTime<Utc>,
}

/// Report files under `<data dir>/reports/` and their `reports` rows.
#[derive(Clone)]
pub struct ReportFiles {
    dir: PathBuf,
    font_path: PathBuf,
    font: Arc<Mutex<Option<Arc<Vec<u8>>>>>,
}

impl std::fmt::Debug for ReportFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportFiles")
            .field("dir", &self.dir)
            .field("font_path", &self.font_path)
            .finish_non_exhaustive()
    }
}

impl ReportFiles {
    /// Reports under `<data_dir>/reports/`, PDFs set in the font at `font_path`.
    pub fn new(data_dir: &Path, font_path: PathBuf) -> Self {
        Self {
            dir: data_dir.join("reports"),
            font_path,
            font: Arc::default(),
        }
    }

    /// The font bytes, read once.
    pub fn font(&self) -> Result<Arc<Vec<u8>>, ReportError> {
        let mut cached = self.font.lock().expect("font cache");
        if let Some(font) = cached.as_ref() {
            return Ok(font.clone());
        }
        let bytes = match std::fs::read(&self.font_path) {
            Ok(bytes) => Arc::new(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ReportError::FontMissing(self.font_path.clone()));
            }
            Err(_) => return Err(ReportError::FontUnreadable(self.font_path.clone())),
        };
        *cached = Some(bytes.clone());
        Ok(bytes)
    }

    /// Renders `report` in `format`.
    pub fn render(&self, report: &Report, format: ReportFormat) -> Result<Vec<u8>, ReportError> {
        match format {
            ReportFormat::Csv => Ok(csv::render(report)),
            ReportFormat::Pdf => pdf::render(report, self.font()?, &self.font_path),
        }
    }

    fn path(&self, file_name: &str) -> PathBuf {
        self.dir.join(file_name)
    }

    /// Writes a rendered report atomically and records it.
    pub async fn save(
        &self,
        pool: &AnyPool,
        report: StoredReport,
        body: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<(), ReportError> {
        let dir = self.dir.clone();
        let path = self.path(&report.file_name);
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            let mut temp = tempfile::NamedTempFile::new_in(&dir)?;
            temp.write_all(&body)?;
            temp.as_file().sync_all()?;
            temp.persist(&path).map_err(|e| e.error)?;
            Ok(())
        })
        .await
        .map_err(std::io::Error::other)??;
        sqlx::query(
            "INSERT INTO reports (report_id, owner_id, campaign_id, format, file_name, bytes, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&report.report_id)
        .bind(&report.owner_id)
        .bind(&report.campaign_id)
        .bind(report.format.extension())
        .bind(&report.file_name)
        .bind(report.bytes)
        .bind(timestamp(now))
        .bind(timestamp(report.expires_at))
        .execute(pool)
        .await?;
        Ok(())
    }

    /// A stored report by id.
    pub async fn find(
        &self,
        pool: &AnyPool,
        report_id: &str,
    ) -> Result<Option<StoredReport>, ReportError> {
        let row = sqlx::query(
            "SELECT report_id, owner_id, campaign_id, format, file_name, bytes, expires_at \
             FROM reports WHERE report_id = $1",
        )
        .bind(report_id)
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let format: String = row.try_get("format")?;
        let expires_at: String = row.try_get("expires_at")?;
        Ok(Some(StoredReport {
            report_id: row.try_get("report_id")?,
            owner_id: row.try_get("owner_id")?,
            campaign_id: row.try_get("campaign_id")?,
            format: ReportFormat::parse(&format).unwrap_or(ReportFormat::Csv),
            file_name: row.try_get("file_name")?,
            bytes: row.try_get("bytes")?,
            expires_at: parse_timestamp(&expires_at).unwrap_or_default(),
        }))
    }

    /// The bytes of a stored report (`None` if its file is gone).
    pub async fn read(&self, report: &StoredReport) -> Result<Option<Vec<u8>>, ReportError> {
        match tokio::fs::read(self.path(&report.file_name)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes reports whose links expired before `now` (files, then rows); returns how many.
    pub async fn purge_expired(
        &self,
        pool: &AnyPool,
        now: DateTime<Utc>,
    ) -> Result<usize, ReportError> {
        let rows = sqlx::query("SELECT report_id, file_name FROM reports WHERE expires_at < $1")
            .bind(timestamp(now))
            .fetch_all(pool)
            .await?;
        for row in &rows {
            let id: String = row.try_get("report_id")?;
            let file: String = row.try_get("file_name")?;
            match tokio::fs::remove_file(self.path(&file)).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            sqlx::query("DELETE FROM reports WHERE report_id = $1")
                .bind(&id)
                .execute(pool)
                .await?;
        }
        Ok(rows.len())
    }
}
