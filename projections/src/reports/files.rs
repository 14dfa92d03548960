//! Report files under `<data dir>/reports/` and their rows in `reports`: written atomically,
//! found by id, read back for a download, and purged once their link has expired.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use commands::store::{parse_timestamp, timestamp};
use serde::Deserialize;
use sqlx::{AnyPool, Row};

use super::{Report, ReportError, ReportFont, csv, pdf};

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

    /// The format named `csv` or `pdf`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "csv" => Some(Self::Csv),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }
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
    font_source: ReportFont,
    font: Arc<Mutex<Option<Arc<Vec<u8>>>>>,
}

impl std::fmt::Debug for ReportFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportFiles")
            .field("dir", &self.dir)
            .field("font", &self.font_source)
            .finish_non_exhaustive()
    }
}

impl ReportFiles {
    /// Reports under `<data_dir>/reports/`, PDFs set in `font`.
    pub fn new(data_dir: &Path, font: ReportFont) -> Self {
        Self {
            dir: data_dir.join("reports"),
            font_source: font,
            font: Arc::default(),
        }
    }

    /// The font bytes, read once.
    pub fn font(&self) -> Result<Arc<Vec<u8>>, ReportError> {
        let mut cached = self.font.lock().expect("font cache");
        if let Some(font) = cached.as_ref() {
            return Ok(font.clone());
        }
        let bytes = self.font_source.load()?;
        *cached = Some(bytes.clone());
        Ok(bytes)
    }

    /// Renders `report` in `format`.
    pub fn render(&self, report: &Report, format: ReportFormat) -> Result<Vec<u8>, ReportError> {
        match format {
            ReportFormat::Csv => Ok(csv::render(report)),
            ReportFormat::Pdf => pdf::render(report, self.font()?, &self.font_source.describe()),
        }
    }

    /// Renders `report` in `format` on a blocking thread: a PDF of thousands of rows takes a
    /// while, and the async workers must keep serving meanwhile.
    pub async fn render_blocking(
        &self,
        report: Report,
        format: ReportFormat,
    ) -> Result<Vec<u8>, ReportError> {
        let files = self.clone();
        tokio::task::spawn_blocking(move || files.render(&report, format))
            .await
            .map_err(std::io::Error::other)?
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
