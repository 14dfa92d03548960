//! What the recording and report endpoints share: the encrypted recording files, the report
//! files, and the signer of their download links.

use commands::recordings::RecordingFiles;
use projections::reports::ReportFiles;

use crate::signed_url::UrlSigner;

/// Recording and report storage and links (built by the composition root from its config).
#[derive(Debug, Clone)]
pub struct FileServices {
    pub recordings: RecordingFiles,
    pub reports: ReportFiles,
    pub signer: UrlSigner,
    /// `PUBLIC_BASE_URL`, the origin of download links.
    pub public_base_url: String,
}

impl FileServices {
    /// The absolute URL of a signed path.
    pub fn absolute(&self, signed_path: &str) -> String {
        format!("{}{signed_path}", self.public_base_url)
    }
}
