//! What the recording and report endpoints share: the encrypted recording files, the report
//! files, and the signer of their download links.

use crate::config::Config;
use crate::recordings::{CipherError, RecordingCipher, RecordingFiles};
use crate::signed_url::UrlSigner;
use projections::reports::ReportFiles;

/// Recording and report storage and links.
#[derive(Debug, Clone)]
pub struct FileServices {
    pub recordings: RecordingFiles,
    pub reports: ReportFiles,
    pub signer: UrlSigner,
    /// `PUBLIC_BASE_URL`, the origin of download links.
    pub public_base_url: String,
}

impl FileServices {
    /// From the configuration: files under the data dir, the recording key, links signed with a
    /// key derived from `JWT_SECRET`.
    pub fn from_config(config: &Config) -> Result<Self, CipherError> {
        let cipher = RecordingCipher::from_base64(config.recording_key.expose())?;
        Ok(Self {
            recordings: RecordingFiles::new(&config.data_dir, cipher),
            reports: ReportFiles::new(&config.data_dir, config.report_font_path.clone()),
            signer: UrlSigner::new(config.jwt_secret.expose().as_bytes()),
            public_base_url: config.public_base_url.clone(),
        })
    }

    /// The absolute URL of a signed path.
    pub fn absolute(&self, signed_path: &str) -> String {
        format!("{}{signed_path}", self.public_base_url)
    }
}
