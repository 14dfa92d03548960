//! Campaign reports, built from the call list read model: CSV (UTF-8 with BOM, one row per call,
//! times in Asia/Seoul) and PDF (A4, in the built-in Korean font, title, outcome chart, totals, one table row per call).
//!
//! [`query`] gathers a campaign's report from the read models, [`csv`] and [`pdf`] render it,
//! and [`files`] keeps the rendered files under `<data dir>/reports/<report id>.<csv|pdf>`, with
//! a row in `reports` saying whose they are and when their link expires (24 h); expired files
//! are removed by the recordings worker's pass.

pub mod csv;
pub mod files;
pub mod font;
pub mod pdf;
pub mod query;

use std::path::PathBuf;

pub use files::{LINK_TTL_HOURS, ReportFiles, ReportFormat, StoredReport};
pub use font::ReportFont;
pub use query::{Report, ReportOptions, ReportRow, Totals, call_texts};

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
