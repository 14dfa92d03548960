//! Call recordings: kept only with consent, encrypted at rest, served through short-lived signed
//! links, purged after 30 days.
//!
//! - The recording webhook records `RecordingAvailable` and answers at once.
//! - The recordings worker (`workers::recordings`, single-active) picks waiting recordings from the call list once
//!   the call is final: with consent it fetches the WAV from Twilio (Basic auth), encrypts it
//!   ([`RecordingCipher`]), writes `<data dir>/recordings/<call id>.rec` atomically, deletes it at
//!   Twilio and records `RecordingStored`; without consent (number 08 never heard the end of the
//!   notice, 13 objected) it deletes it at Twilio and records `RecordingDiscarded`, keeping
//!   nothing. Every step is idempotent, so a retry or a second run picks up where one stopped.
//! - The same worker purges recordings stored more than [`RETENTION_DAYS`] ago by the injected
//!   clock (`RecordingPurged`), and report files whose links have expired.

pub mod cipher;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use cipher::{CipherError, RecordingCipher};

/// How long a stored recording is kept.
pub const RETENTION_DAYS: i64 = 30;
/// How long a recording link works.
pub const LINK_TTL_MINUTES: i64 = 15;

/// Why a stored recording could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No file (never stored, or purged).
    #[error("no recording file")]
    Missing,
    #[error("reading the recording file: {0}")]
    Io(std::io::Error),
    #[error(transparent)]
    Cipher(#[from] CipherError),
}

/// The encrypted recording files under `<data dir>/recordings/`.
#[derive(Debug, Clone)]
pub struct RecordingFiles {
    dir: PathBuf,
    cipher: RecordingCipher,
}

impl RecordingFiles {
    /// Files under `<data_dir>/recordings/`, encrypted with `cipher`.
    pub fn new(data_dir: &Path, cipher: RecordingCipher) -> Self {
        Self {
            dir: data_dir.join("recordings"),
            cipher,
        }
    }

    /// Where a call's recording lives (call ids are UUIDs, checked by the callers).
    pub fn path(&self, call_id: &uuid::Uuid) -> PathBuf {
        self.dir.join(format!("{call_id}.rec"))
    }

    /// Encrypts `plain` and writes it atomically (temporary file, fsync, rename); returns the
    /// plain size.
    pub async fn write(&self, call_id: &uuid::Uuid, plain: Vec<u8>) -> std::io::Result<u64> {
        let path = self.path(call_id);
        let dir = self.dir.clone();
        let cipher = self.cipher.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            let file = cipher.encrypt(&plain);
            let mut temp = tempfile::NamedTempFile::new_in(&dir)?;
            temp.write_all(&file)?;
            temp.as_file().sync_all()?;
            temp.persist(&path).map_err(|e| e.error)?;
            Ok(plain.len() as u64)
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// The decrypted audio of a call's recording.
    pub async fn read(&self, call_id: &uuid::Uuid) -> Result<Vec<u8>, ReadError> {
        let path = self.path(call_id);
        let cipher = self.cipher.clone();
        tokio::task::spawn_blocking(move || {
            let file = match std::fs::read(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(ReadError::Missing);
                }
                Err(e) => return Err(ReadError::Io(e)),
            };
            Ok(cipher.decrypt(&file)?)
        })
        .await
        .map_err(|e| ReadError::Io(std::io::Error::other(e)))?
    }

    /// The plain size of a stored recording, if its file exists and reads back.
    pub async fn stored_size(&self, call_id: &uuid::Uuid) -> Option<u64> {
        self.read(call_id)
            .await
            .ok()
            .map(|plain| plain.len() as u64)
    }

    /// Deletes a call's recording file; false if there was none.
    pub async fn remove(&self, call_id: &uuid::Uuid) -> std::io::Result<bool> {
        match tokio::fs::remove_file(self.path(call_id)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}
