//! The Korean font PDF reports are set in. NanumSquare Regular (NAVER, SIL Open Font License 1.1;
//! the licence is `projections/fonts/OFL.txt`, shipped unmodified) is built into the binary, so a
//! fresh machine renders Korean PDFs with no font installed; `REPORT_FONT_PATH` overrides it.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use super::ReportError;

/// The built-in font file: all 11,172 Hangul syllables, Latin and the symbols reports use.
pub static BUILT_IN: &[u8] = include_bytes!("../../fonts/NanumSquareR.ttf");

/// Where a report's font comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ReportFont {
    /// The font built into the binary.
    #[default]
    BuiltIn,
    /// A TrueType/OpenType file the operator chose (`REPORT_FONT_PATH`).
    File(PathBuf),
}

impl ReportFont {
    /// The operator's file when one is named, else the built-in font.
    pub fn from_path(path: Option<PathBuf>) -> Self {
        path.map_or(Self::BuiltIn, Self::File)
    }

    /// The font's bytes, read once per process for the built-in font and once per
    /// [`super::ReportFiles`] for a file.
    pub(super) fn load(&self) -> Result<Arc<Vec<u8>>, ReportError> {
        static BUILT_IN_BYTES: OnceLock<Arc<Vec<u8>>> = OnceLock::new();
        match self {
            Self::BuiltIn => Ok(BUILT_IN_BYTES
                .get_or_init(|| Arc::new(BUILT_IN.to_vec()))
                .clone()),
            Self::File(path) => match std::fs::read(path) {
                Ok(bytes) => Ok(Arc::new(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(ReportError::FontMissing(path.clone()))
                }
                Err(_) => Err(ReportError::FontUnreadable(path.clone())),
            },
        }
    }

    /// How the font is named in errors.
    pub fn describe(&self) -> PathBuf {
        match self {
            Self::BuiltIn => PathBuf::from("(built-in NanumSquare)"),
            Self::File(path) => path.clone(),
        }
    }
}
