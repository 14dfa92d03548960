//! The encrypted recording file: `CBREC` magic, a version byte, a 12-byte random nonce, then the
//! AES-256-GCM ciphertext with its 16-byte tag. The key is `RECORDING_KEY` (32 bytes, base64);
//! the magic and version are authenticated as associated data, so a file cannot be passed off
//! as another format version.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;

const MAGIC: &[u8; 5] = b"CBREC";
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Bytes before the ciphertext.
pub const HEADER_LEN: usize = MAGIC.len() + 1 + NONCE_LEN;

/// Why a recording file could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// `RECORDING_KEY` is not 32 bytes of base64.
    #[error("RECORDING_KEY must be 32 bytes, base64-encoded")]
    BadKey,
    /// The file does not start with the recording header.
    #[error("not a recording file (bad header)")]
    NotARecording,
    /// The file was written by a newer format version.
    #[error("recording file version {0} is not supported")]
    UnsupportedVersion(u8),
    /// Authentication failed: another key, or the file was changed.
    #[error("the recording cannot be decrypted: wrong RECORDING_KEY or a damaged file")]
    WrongKeyOrDamaged,
}

/// Encrypts and decrypts recording files with one key.
#[derive(Clone)]
pub struct RecordingCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for RecordingCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordingCipher(***)")
    }
}

impl RecordingCipher {
    /// A cipher for a raw 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)),
        }
    }

    /// A cipher for `RECORDING_KEY` as configured (base64 of 32 bytes).
    pub fn from_base64(key: &str) -> Result<Self, CipherError> {
        let bytes = BASE64.decode(key.trim()).map_err(|_| CipherError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CipherError::BadKey)?;
        Ok(Self::new(&key))
    }

    fn header(nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.push(VERSION);
        header.extend_from_slice(nonce);
        header
    }

    /// The file for `plain`, under a fresh random nonce.
    pub fn encrypt(&self, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut file = Self::header(&nonce);
        let aad = file[..MAGIC.len() + 1].to_vec();
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        file.extend_from_slice(&ciphertext);
        file
    }

    /// The plain audio of a file written by [`RecordingCipher::encrypt`] with the same key.
    pub fn decrypt(&self, file: &[u8]) -> Result<Vec<u8>, CipherError> {
        if file.len() < HEADER_LEN + TAG_LEN || &file[..MAGIC.len()] != MAGIC {
            return Err(CipherError::NotARecording);
        }
        let version = file[MAGIC.len()];
        if version != VERSION {
            return Err(CipherError::UnsupportedVersion(version));
        }
        let nonce: [u8; NONCE_LEN] = file[MAGIC.len() + 1..HEADER_LEN]
            .try_into()
            .expect("the header has a 12-byte nonce");
        self.cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: &file[HEADER_LEN..],
                    aad: &file[..MAGIC.len() + 1],
                },
            )
            .map_err(|_| CipherError::WrongKeyOrDamaged)
    }

    /// The plain size of a file of `file_len` bytes.
    pub fn plain_len(file_len: u64) -> u64 {
        file_len.saturating_sub((HEADER_LEN + TAG_LEN) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav() -> Vec<u8> {
        let mut audio = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
        audio.extend((0..4000u32).map(|i| (i % 251) as u8));
        audio
    }

    #[test]
    fn a_file_decrypts_to_exactly_what_went_in_and_is_not_plain() {
        let cipher = RecordingCipher::new(&[7; 32]);
        let file = cipher.encrypt(&wav());
        assert!(file.starts_with(b"CBREC\x01"));
        assert!(!file.windows(4).any(|w| w == b"RIFF"));
        assert!(!file.windows(4).any(|w| w == b"WAVE"));
        assert_eq!(file.len(), HEADER_LEN + wav().len() + TAG_LEN);
        assert_eq!(
            RecordingCipher::plain_len(file.len() as u64),
            wav().len() as u64
        );
        assert_eq!(cipher.decrypt(&file).unwrap(), wav());
    }

    #[test]
    fn every_file_gets_its_own_nonce() {
        let cipher = RecordingCipher::new(&[7; 32]);
        let (a, b) = (cipher.encrypt(&wav()), cipher.encrypt(&wav()));
        assert_ne!(a[6..HEADER_LEN], b[6..HEADER_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn a_wrong_key_or_a_changed_byte_fails_cleanly() {
        let file = RecordingCipher::new(&[7; 32]).encrypt(&wav());
        let other = RecordingCipher::new(&[8; 32]);
        assert_eq!(other.decrypt(&file), Err(CipherError::WrongKeyOrDamaged));
        let mut damaged = file.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        let cipher = RecordingCipher::new(&[7; 32]);
        assert_eq!(
            cipher.decrypt(&damaged),
            Err(CipherError::WrongKeyOrDamaged)
        );
        let mut newer = file.clone();
        newer[5] = 2;
        assert_eq!(
            cipher.decrypt(&newer),
            Err(CipherError::UnsupportedVersion(2))
        );
        assert_eq!(cipher.decrypt(&wav()), Err(CipherError::NotARecording));
    }

    #[test]
    fn a_key_must_be_32_bytes_of_base64() {
        assert!(
            RecordingCipher::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").is_ok()
        );
        assert_eq!(
            RecordingCipher::from_base64("c2hvcnQ=").unwrap_err(),
            CipherError::BadKey
        );
        assert_eq!(
            RecordingCipher::from_base64("not base64!").unwrap_err(),
            CipherError::BadKey
        );
    }
}
