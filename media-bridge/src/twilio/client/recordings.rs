//! Recording media: fetch the WAV after the recording callback, delete it at Twilio once it is
//! stored (or discarded). Both by `RecordingSid` under our own API base and account, never by
//! the callback's `RecordingUrl`, so the Basic credentials only ever go to the configured host.

use super::{TwilioClient, TwilioError, still_there};
use protocols::twilio as wire;

impl TwilioClient {
    fn recording_url(&self, recording_sid: &str, suffix: &str) -> Result<String, TwilioError> {
        if !wire::is_recording_sid(recording_sid) {
            return Err(TwilioError::Api {
                status: 400,
                code: 20001,
                message: format!("{recording_sid:?} is not a recording id"),
            });
        }
        Ok(format!(
            "{}{}",
            self.config.api_base,
            wire::recording_path(&self.config.account_sid, recording_sid, suffix)
        ))
    }

    /// `GET …/Recordings/{Sid}.wav` (Basic auth): the recording's audio.
    #[tracing::instrument(skip(self))]
    pub async fn fetch_recording_wav(&self, recording_sid: &str) -> Result<Vec<u8>, TwilioError> {
        let url = self.recording_url(recording_sid, ".wav")?;
        self.raw(reqwest::Method::GET, &url).await
    }

    /// `DELETE …/Recordings/{Sid}.json`; a recording Twilio no longer has counts as deleted.
    /// Returns whether it was still there.
    #[tracing::instrument(skip(self))]
    pub async fn delete_recording(&self, recording_sid: &str) -> Result<bool, TwilioError> {
        let url = self.recording_url(recording_sid, ".json")?;
        still_there(self.raw(reqwest::Method::DELETE, &url).await)
    }
}
