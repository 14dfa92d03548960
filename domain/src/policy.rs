//! Campaign settings: retry, call window, voicemail and recording policies with SPEC defaults.
//!
//! These travel in API bodies as well as inside events, hence camelCase JSON. Every field has a
//! default, so an older event or a partial request body still reads.

use std::fmt;

use chrono::NaiveTime;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::limits::{self, TooLarge};
use crate::phone::PhoneNumber;
use crate::tz::Tz;

/// Highest allowed `maxConcurrency`.
pub const MAX_CONCURRENCY: u32 = 50;
/// Highest allowed `maxRetries`.
pub const MAX_RETRIES: u32 = 10;
/// Longest allowed retry interval, one day, in seconds.
pub const MAX_RETRY_INTERVAL_SECS: u32 = 86_400;
/// Countries a caller id may belong to.
pub const CALLER_ID_REGIONS: &[&str] = &["KR", "US"];

/// A broken rule in [`CampaignSettings`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SettingsError {
    /// `maxConcurrency` is outside 1..=50.
    #[error("maxConcurrency must be between 1 and {max}, got {value}", max = MAX_CONCURRENCY)]
    ConcurrencyOutOfRange {
        /// The value given.
        value: u32,
    },
    /// `maxRetries` is above 10.
    #[error("maxRetries must be at most {max}, got {value}", max = MAX_RETRIES)]
    TooManyRetries {
        /// The value given.
        value: u32,
    },
    /// `intervalsSeconds` is empty.
    #[error("intervalsSeconds needs at least one interval")]
    NoRetryIntervals,
    /// A retry interval is zero or longer than a day.
    #[error("each retry interval must be between 1 and {max} seconds, got {value}", max = MAX_RETRY_INTERVAL_SECS)]
    RetryIntervalOutOfRange {
        /// The value given.
        value: u32,
    },
    /// The caller id is not a phone number (it must read as E.164, or a domestic Korean form).
    #[error("callerId: {reason}")]
    InvalidCallerId {
        /// Why it does not parse.
        reason: String,
    },
    /// A list or a text over its limit ([`crate::limits`]).
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    /// The voicemail message holds control characters.
    #[error("voicemail.message must not contain control characters")]
    ControlCharacters,
    /// The call window ends before (or when) it starts.
    #[error("the call window must start before it ends ({start}–{end})")]
    EmptyCallWindow {
        /// Window start.
        start: NaiveTime,
        /// Window end.
        end: WindowEnd,
    },
}

/// How often and how soon an unanswered or failed call is tried again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 3).
    pub max_retries: u32,
    /// Waits before retry 1, 2, 3…; the last one repeats (default 600, 1800, 3600 s).
    pub intervals_seconds: Vec<u32>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            intervals_seconds: vec![600, 1_800, 3_600],
        }
    }
}

impl RetryPolicy {
    /// The wait before retry `retry_number` (1-based), or `None` when that retry is not allowed.
    pub fn delay_before_retry(&self, retry_number: u32) -> Option<chrono::Duration> {
        if retry_number == 0 || retry_number > self.max_retries {
            return None;
        }
        let index = usize::try_from(retry_number - 1).unwrap_or(usize::MAX);
        let seconds = self
            .intervals_seconds
            .get(index)
            .or_else(|| self.intervals_seconds.last())?;
        Some(chrono::Duration::seconds(i64::from(*seconds)))
    }

    /// Checks the limits: at most 10 retries, at least one interval, each 1 s to 1 day.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.max_retries > MAX_RETRIES {
            return Err(SettingsError::TooManyRetries {
                value: self.max_retries,
            });
        }
        if self.intervals_seconds.is_empty() {
            return Err(SettingsError::NoRetryIntervals);
        }
        limits::RETRY_INTERVALS.check(self.intervals_seconds.len())?;
        if let Some(&value) = self
            .intervals_seconds
            .iter()
            .find(|&&s| s == 0 || s > MAX_RETRY_INTERVAL_SECS)
        {
            return Err(SettingsError::RetryIntervalOutOfRange { value });
        }
        Ok(())
    }
}

/// Where a call window ends: a time of day, or the end of the day (`"24:00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowEnd {
    /// Ends at this time (exclusive).
    At(NaiveTime),
    /// Runs to midnight at the end of the day.
    EndOfDay,
}

impl fmt::Display for WindowEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::At(time) => f.write_str(&clock::format(*time)),
            Self::EndOfDay => f.write_str("24:00"),
        }
    }
}

impl Serialize for WindowEnd {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for WindowEnd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.trim() {
            "24:00" | "24:00:00" => Ok(Self::EndOfDay),
            other => clock::parse(other)
                .map(Self::At)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// The hours in which calls may be placed, in the campaign's time zone, every day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CallWindow {
    /// First minute calls may start (inclusive), `"HH:MM"` (default 09:00).
    #[serde(with = "clock")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "09:00", default = "09:00"))]
    pub start: NaiveTime,
    /// When calls must stop starting (exclusive), `"HH:MM"` or `"24:00"` (default 20:00).
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "20:00"))]
    pub end: WindowEnd,
    /// IANA time zone name the times are read in (default `Asia/Seoul`); conversion happens
    /// outside the domain.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub timezone: Tz,
}

impl Default for CallWindow {
    fn default() -> Self {
        Self {
            start: NaiveTime::from_hms_opt(9, 0, 0).expect("09:00 is a time of day"),
            end: WindowEnd::At(NaiveTime::from_hms_opt(20, 0, 0).expect("20:00 is a time of day")),
            timezone: Tz::SEOUL,
        }
    }
}

impl CallWindow {
    /// Whether a call may start at this local time of day.
    pub fn contains(&self, local_time: NaiveTime) -> bool {
        local_time >= self.start
            && match self.end {
                WindowEnd::At(end) => local_time < end,
                WindowEnd::EndOfDay => true,
            }
    }

    /// Whether the window is the whole day (00:00–24:00).
    pub fn is_all_day(&self) -> bool {
        self.start == NaiveTime::MIN && self.end == WindowEnd::EndOfDay
    }

    /// Checks that the window is not empty (its time zone was checked when it was parsed).
    pub fn validate(&self) -> Result<(), SettingsError> {
        if let WindowEnd::At(end) = self.end
            && self.start >= end
        {
            return Err(SettingsError::EmptyCallWindow {
                start: self.start,
                end: self.end,
            });
        }
        Ok(())
    }
}

/// What the agent does when an answering machine picks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VoicemailAction {
    /// Leave the configured message, then hang up (default).
    #[default]
    LeaveMessage,
    /// Hang up without a message.
    HangUp,
}

/// Voicemail handling for a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct VoicemailPolicy {
    /// Leave a message or hang up.
    pub action: VoicemailAction,
    /// The message to leave; `None` means one derived from the script.
    pub message: Option<String>,
    /// Whether a call that reached voicemail is tried again (SPEC `retry_on_voicemail`).
    #[serde(alias = "retryOnVoicemail")]
    pub retry: bool,
}

/// Per-campaign settings; every field defaults to the SPEC value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CampaignSettings {
    /// Calls at once (default 5).
    pub max_concurrency: u32,
    /// Retry policy for unanswered and failed calls.
    pub retry: RetryPolicy,
    /// When calls may be placed.
    pub call_window: CallWindow,
    /// Voicemail handling.
    pub voicemail: VoicemailPolicy,
    /// Whether calls are recorded, after the consent notice (default true).
    pub recording: bool,
    /// Caller id to present; `None` uses the account's or the provider's default.
    pub caller_id: Option<String>,
}

impl Default for CampaignSettings {
    fn default() -> Self {
        Self {
            max_concurrency: 5,
            retry: RetryPolicy::default(),
            call_window: CallWindow::default(),
            voicemail: VoicemailPolicy::default(),
            recording: true,
            caller_id: None,
        }
    }
}

impl CampaignSettings {
    /// Checks every limit; the first broken rule is returned.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=MAX_CONCURRENCY).contains(&self.max_concurrency) {
            return Err(SettingsError::ConcurrencyOutOfRange {
                value: self.max_concurrency,
            });
        }
        self.retry.validate()?;
        self.call_window.validate()?;
        if let Some(message) = &self.voicemail.message {
            limits::VOICEMAIL_MESSAGE.check_text(message)?;
            if limits::has_control_characters(message.replace(['\n', '\r'], " ").as_str()) {
                return Err(SettingsError::ControlCharacters);
            }
        }
        if let Some(number) = &self.caller_id {
            PhoneNumber::parse(number, CALLER_ID_REGIONS).map_err(|e| {
                SettingsError::InvalidCallerId {
                    reason: e.to_string(),
                }
            })?;
        }
        Ok(())
    }

    /// Writes the caller id in E.164, however it was typed (after [`CampaignSettings::validate`]).
    pub fn normalize(&mut self) {
        if let Some(number) = self.caller_id.take() {
            self.caller_id = Some(
                PhoneNumber::parse(&number, CALLER_ID_REGIONS)
                    .map_or(number, |p| p.as_str().to_owned()),
            );
        }
    }
}

/// `"HH:MM"` (seconds only when non-zero) for times of day in JSON.
mod clock {
    use chrono::{NaiveTime, Timelike};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn format(time: NaiveTime) -> String {
        if time.second() == 0 && time.nanosecond() == 0 {
            time.format("%H:%M").to_string()
        } else {
            time.format("%H:%M:%S").to_string()
        }
    }

    pub fn parse(text: &str) -> Result<NaiveTime, String> {
        NaiveTime::parse_from_str(text, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
            .map_err(|_| format!("expected a time of day as HH:MM, got {text:?}"))
    }

    pub fn serialize<S: Serializer>(time: &NaiveTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(*time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(text.trim()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use serde_json::json;

    use super::*;
    use crate::tz::TzError;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn defaults_match_the_spec() {
        let s = CampaignSettings::default();
        assert_eq!(s.max_concurrency, 5);
        assert_eq!(s.retry.max_retries, 3);
        assert_eq!(s.retry.intervals_seconds, vec![600, 1800, 3600]);
        assert_eq!(s.call_window.start, t(9, 0));
        assert_eq!(s.call_window.end, WindowEnd::At(t(20, 0)));
        assert_eq!(s.call_window.timezone.name(), "Asia/Seoul");
        assert_eq!(s.voicemail.action, VoicemailAction::LeaveMessage);
        assert_eq!(s.voicemail.message, None);
        assert!(!s.voicemail.retry);
        assert!(s.recording);
        assert_eq!(s.caller_id, None);
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn retry_delays_follow_the_intervals_in_order() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay_before_retry(1), Some(Duration::seconds(600)));
        assert_eq!(p.delay_before_retry(2), Some(Duration::seconds(1800)));
        assert_eq!(p.delay_before_retry(3), Some(Duration::seconds(3600)));
    }

    #[test]
    fn the_last_retry_interval_repeats_when_the_list_is_short() {
        let p = RetryPolicy {
            max_retries: 4,
            intervals_seconds: vec![5, 10],
        };
        assert_eq!(p.delay_before_retry(3), Some(Duration::seconds(10)));
        assert_eq!(p.delay_before_retry(4), Some(Duration::seconds(10)));
    }

    #[test]
    fn no_retry_is_allowed_beyond_max_retries_or_at_zero() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay_before_retry(4), None);
        assert_eq!(p.delay_before_retry(0), None);
        let never = RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(never.delay_before_retry(1), None);
    }

    #[test]
    fn the_window_includes_its_start_and_excludes_its_end() {
        let w = CallWindow::default();
        assert!(!w.contains(t(8, 59)));
        assert!(w.contains(t(9, 0)));
        assert!(w.contains(t(19, 59)));
        assert!(!w.contains(t(20, 0)));
        assert!(!w.is_all_day());
    }

    #[test]
    fn a_window_to_24_00_runs_to_midnight() {
        let w = CallWindow {
            start: NaiveTime::MIN,
            end: WindowEnd::EndOfDay,
            timezone: Tz::SEOUL,
        };
        assert!(w.is_all_day());
        assert!(w.contains(NaiveTime::from_hms_opt(23, 59, 59).unwrap()));
        assert!(w.contains(NaiveTime::MIN));
        assert_eq!(w.validate(), Ok(()));
    }

    #[test]
    fn settings_read_camel_case_json_and_fill_in_defaults() {
        let s: CampaignSettings = serde_json::from_value(json!({
            "maxConcurrency": 2,
            "retry": { "intervalsSeconds": [30] },
            "callWindow": { "start": "10:30", "end": "24:00" },
            "voicemail": { "action": "hang_up", "retryOnVoicemail": true },
            "callerId": "+8215880000"
        }))
        .unwrap();
        assert_eq!(s.max_concurrency, 2);
        assert_eq!(s.retry.max_retries, 3);
        assert_eq!(s.retry.intervals_seconds, vec![30]);
        assert_eq!(s.call_window.start, t(10, 30));
        assert_eq!(s.call_window.end, WindowEnd::EndOfDay);
        assert_eq!(s.call_window.timezone.name(), "Asia/Seoul");
        assert_eq!(s.voicemail.action, VoicemailAction::HangUp);
        assert!(s.voicemail.retry);
        assert!(s.recording);
        assert_eq!(s.caller_id.as_deref(), Some("+8215880000"));
    }

    #[test]
    fn settings_write_camel_case_json_with_clock_times() {
        let v = serde_json::to_value(CampaignSettings::default()).unwrap();
        assert_eq!(
            v,
            json!({
                "maxConcurrency": 5,
                "retry": { "maxRetries": 3, "intervalsSeconds": [600, 1800, 3600] },
                "callWindow": { "start": "09:00", "end": "20:00", "timezone": "Asia/Seoul" },
                "voicemail": { "action": "leave_message", "message": null, "retry": false },
                "recording": true,
                "callerId": null
            })
        );
        let back: CampaignSettings = serde_json::from_value(v).unwrap();
        assert_eq!(back, CampaignSettings::default());
    }

    #[test]
    fn a_malformed_window_time_is_refused_when_reading() {
        let r = serde_json::from_value::<CallWindow>(json!({ "start": "9am" }));
        assert!(r.is_err());
        let r = serde_json::from_value::<CallWindow>(json!({ "start": "24:00" }));
        assert!(r.is_err());
    }

    #[test]
    fn concurrency_outside_one_to_fifty_is_refused() {
        for value in [0, 51] {
            let s = CampaignSettings {
                max_concurrency: value,
                ..CampaignSettings::default()
            };
            assert_eq!(
                s.validate(),
                Err(SettingsError::ConcurrencyOutOfRange { value })
            );
        }
        let s = CampaignSettings {
            max_concurrency: 50,
            ..CampaignSettings::default()
        };
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn finding_5_a_caller_id_that_is_no_phone_number_is_refused() {
        for bad in ["<script>", "hello", "+82", "1588"] {
            let s = CampaignSettings {
                caller_id: Some(bad.into()),
                ..CampaignSettings::default()
            };
            assert!(
                matches!(s.validate(), Err(SettingsError::InvalidCallerId { .. })),
                "{bad:?}: {:?}",
                s.validate()
            );
        }
        let mut s = CampaignSettings {
            caller_id: Some("02-2345-6789".into()),
            ..CampaignSettings::default()
        };
        assert_eq!(s.validate(), Ok(()));
        s.normalize();
        assert_eq!(s.caller_id.as_deref(), Some("+82223456789"));
    }

    #[test]
    fn finding_10_retry_intervals_and_the_voicemail_message_have_limits() {
        let mut s = CampaignSettings::default();
        s.retry.intervals_seconds = vec![60; 10_000];
        assert!(matches!(s.validate(), Err(SettingsError::TooLarge(ref t)) if t.max == 10));
        let mut s = CampaignSettings::default();
        s.voicemail.message = Some("가".repeat(50_000));
        assert!(matches!(s.validate(), Err(SettingsError::TooLarge(ref t)) if t.max == 500));
        s.voicemail.message = Some("bad\0message".into());
        assert_eq!(s.validate(), Err(SettingsError::ControlCharacters));
        s.voicemail.message = Some("두 줄\n메시지".into());
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn more_than_ten_retries_are_refused() {
        let mut s = CampaignSettings::default();
        s.retry.max_retries = 11;
        assert_eq!(
            s.validate(),
            Err(SettingsError::TooManyRetries { value: 11 })
        );
    }

    #[test]
    fn an_empty_interval_list_is_refused() {
        let mut s = CampaignSettings::default();
        s.retry.intervals_seconds.clear();
        assert_eq!(s.validate(), Err(SettingsError::NoRetryIntervals));
    }

    #[test]
    fn intervals_of_zero_or_over_a_day_are_refused() {
        for value in [0, 86_401] {
            let mut s = CampaignSettings::default();
            s.retry.intervals_seconds = vec![60, value];
            assert_eq!(
                s.validate(),
                Err(SettingsError::RetryIntervalOutOfRange { value })
            );
        }
    }

    #[test]
    fn a_window_that_ends_before_it_starts_is_refused() {
        let mut s = CampaignSettings::default();
        s.call_window.start = t(20, 0);
        s.call_window.end = WindowEnd::At(t(9, 0));
        assert_eq!(
            s.validate(),
            Err(SettingsError::EmptyCallWindow {
                start: t(20, 0),
                end: WindowEnd::At(t(9, 0)),
            })
        );
        s.call_window.end = WindowEnd::At(t(20, 0));
        assert!(matches!(
            s.validate(),
            Err(SettingsError::EmptyCallWindow { .. })
        ));
    }

    #[test]
    fn a_window_without_a_timezone_is_refused() {
        let blank = json!({ "callWindow": { "timezone": " " } });
        let err = serde_json::from_value::<CampaignSettings>(blank).unwrap_err();
        assert!(
            err.to_string().contains(&TzError::Missing.to_string()),
            "{err}"
        );
    }

    #[test]
    fn a_window_in_an_unknown_zone_is_refused() {
        for zone in ["Mars/Olympus", "../../../etc/passwd", "+09:00"] {
            let settings = json!({ "callWindow": { "timezone": zone } });
            let err = serde_json::from_value::<CampaignSettings>(settings).unwrap_err();
            assert!(
                err.to_string().contains("unknown time zone"),
                "{zone}: {err}"
            );
        }
    }

    #[test]
    fn a_window_keeps_its_zone_as_a_plain_string() {
        let settings = json!({ "callWindow": { "timezone": "America/New_York" } });
        let parsed: CampaignSettings = serde_json::from_value(settings).unwrap();
        assert_eq!(parsed.call_window.timezone.name(), "America/New_York");
        let written = serde_json::to_value(&parsed).unwrap();
        assert_eq!(written["callWindow"]["timezone"], "America/New_York");
    }

    #[test]
    fn settings_errors_name_the_field() {
        let e = SettingsError::ConcurrencyOutOfRange { value: 99 };
        assert_eq!(
            e.to_string(),
            "maxConcurrency must be between 1 and 50, got 99"
        );
    }
}
