//! Recordings under the REST API (PROTOCOLS §A6).

use serde::{Deserialize, Serialize};

/// The path of a recording under the REST API: `suffix` `.wav` is the media (`GET`, Basic auth,
/// 16-bit PCM WAV), `.json` the resource (`DELETE` answers 204 and removes the media too).
pub fn recording_path(account_sid: &str, recording_sid: &str, suffix: &str) -> String {
    format!("/2010-04-01/Accounts/{account_sid}/Recordings/{recording_sid}{suffix}")
}

/// Whether `sid` looks like a Twilio recording id (`RE` and 32 hex digits); anything else is
/// refused before it is put into a URL.
pub fn is_recording_sid(sid: &str) -> bool {
    sid.len() == 34 && sid.starts_with("RE") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The media type Twilio serves `.wav` recordings with.
pub const WAV_CONTENT_TYPE: &str = "audio/x-wav";

/// The Recording resource: the fields we read, and those Twilio's SDKs show (dates in RFC 2822,
/// `duration` in seconds as a string once the recording is complete).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RecordingResource {
    pub sid: String,
    pub call_sid: String,
    pub status: String,
    #[serde(default)]
    pub channels: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_updated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// `GET …/Calls/{CallSid}/Recordings.json`, one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingList {
    pub recordings: Vec<RecordingResource>,
    #[serde(flatten)]
    pub paging: super::Paging,
}
