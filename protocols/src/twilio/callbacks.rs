//! The callbacks Twilio posts (PROTOCOLS §B): call status, async AMD verdicts and recording
//! status. Each reads its form (our side) and writes it (the sandbox's side).

use super::form::{Form, FormError, first, optional_number, required};

/// `CallStatus` as callbacks send it (`initiated` is a callback-only value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallStatus {
    Queued,
    Initiated,
    Ringing,
    InProgress,
    Completed,
    Busy,
    Failed,
    NoAnswer,
    Canceled,
}

impl CallStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Initiated => "initiated",
            Self::Ringing => "ringing",
            Self::InProgress => "in-progress",
            Self::Completed => "completed",
            Self::Busy => "busy",
            Self::Failed => "failed",
            Self::NoAnswer => "no-answer",
            Self::Canceled => "canceled",
        }
    }

    /// Whether the call is over.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Busy | Self::Failed | Self::NoAnswer | Self::Canceled
        )
    }
}

impl std::str::FromStr for CallStatus {
    type Err = ();

    fn from_str(value: &str) -> Result<Self, ()> {
        Ok(match value {
            "queued" => Self::Queued,
            "initiated" => Self::Initiated,
            "ringing" => Self::Ringing,
            "in-progress" => Self::InProgress,
            "completed" => Self::Completed,
            "busy" => Self::Busy,
            "failed" => Self::Failed,
            "no-answer" => Self::NoAnswer,
            "canceled" => Self::Canceled,
            _ => return Err(()),
        })
    }
}

/// A status callback (PROTOCOLS §B2); fields we do not use are left in the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCallback {
    pub call_sid: String,
    pub account_sid: String,
    pub call_status: CallStatus,
    /// From 0; arrival order is not guaranteed.
    pub sequence_number: Option<u32>,
    /// Seconds, on terminal events.
    pub call_duration: Option<u32>,
    pub sip_response_code: Option<u16>,
    pub error_code: Option<String>,
    pub timestamp: Option<String>,
}

impl StatusCallback {
    /// Reads a status callback form.
    pub fn from_form(form: &[(String, String)]) -> Result<Self, FormError> {
        let status = required(form, "CallStatus")?;
        Ok(Self {
            call_sid: required(form, "CallSid")?,
            account_sid: required(form, "AccountSid")?,
            call_status: status.parse().map_err(|()| FormError::Invalid {
                field: "CallStatus",
                value: status.clone(),
            })?,
            sequence_number: optional_number(form, "SequenceNumber")?,
            call_duration: optional_number(form, "CallDuration")?,
            sip_response_code: optional_number(form, "SipResponseCode")?,
            error_code: first(form, "ErrorCode").map(str::to_owned),
            timestamp: first(form, "Timestamp").map(str::to_owned),
        })
    }

    /// The form Twilio posts (the sandbox's side), with the common voice fields.
    pub fn to_form(&self, from: &str, to: &str) -> Form {
        let mut form: Form = vec![
            ("CallSid".into(), self.call_sid.clone()),
            ("AccountSid".into(), self.account_sid.clone()),
            ("From".into(), from.into()),
            ("To".into(), to.into()),
            ("Caller".into(), from.into()),
            ("Called".into(), to.into()),
            ("Direction".into(), "outbound-api".into()),
            ("ApiVersion".into(), "2010-04-01".into()),
            ("CallStatus".into(), self.call_status.as_str().into()),
            ("CallbackSource".into(), "call-progress-events".into()),
        ];
        let mut push = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                form.push((key.into(), value));
            }
        };
        push(
            "SequenceNumber",
            self.sequence_number.map(|n| n.to_string()),
        );
        push("CallDuration", self.call_duration.map(|n| n.to_string()));
        push(
            "SipResponseCode",
            self.sip_response_code.map(|n| n.to_string()),
        );
        push("ErrorCode", self.error_code.clone());
        push("Timestamp", self.timestamp.clone());
        form
    }
}

/// An async answering-machine-detection verdict (PROTOCOLS §B3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmdCallback {
    pub call_sid: String,
    pub account_sid: String,
    /// Raw value (`human`, `machine_end_beep`, …): stored as Twilio sent it.
    pub answered_by: String,
    pub machine_detection_duration_ms: Option<u32>,
}

impl AmdCallback {
    /// Reads an AMD callback form.
    pub fn from_form(form: &[(String, String)]) -> Result<Self, FormError> {
        Ok(Self {
            call_sid: required(form, "CallSid")?,
            account_sid: required(form, "AccountSid")?,
            answered_by: required(form, "AnsweredBy")?,
            machine_detection_duration_ms: optional_number(form, "MachineDetectionDuration")?,
        })
    }

    /// The form Twilio posts.
    pub fn to_form(&self) -> Form {
        let mut form: Form = vec![
            ("CallSid".into(), self.call_sid.clone()),
            ("AccountSid".into(), self.account_sid.clone()),
            ("AnsweredBy".into(), self.answered_by.clone()),
        ];
        if let Some(ms) = self.machine_detection_duration_ms {
            form.push(("MachineDetectionDuration".into(), ms.to_string()));
        }
        form
    }

    /// An answering machine (any `machine_*` verdict) or a fax.
    pub fn is_machine(&self) -> bool {
        self.answered_by.starts_with("machine") || self.answered_by == "fax"
    }
}

/// A recording status callback (PROTOCOLS §B4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingCallback {
    pub call_sid: String,
    pub account_sid: String,
    pub recording_sid: String,
    pub recording_url: Option<String>,
    /// `in-progress`, `completed` or `absent`.
    pub recording_status: String,
    pub recording_duration: Option<u32>,
}

impl RecordingCallback {
    /// Reads a recording callback form.
    pub fn from_form(form: &[(String, String)]) -> Result<Self, FormError> {
        let status = required(form, "RecordingStatus")?;
        if !matches!(status.as_str(), "in-progress" | "completed" | "absent") {
            return Err(FormError::Invalid {
                field: "RecordingStatus",
                value: status,
            });
        }
        Ok(Self {
            call_sid: required(form, "CallSid")?,
            account_sid: required(form, "AccountSid")?,
            recording_sid: required(form, "RecordingSid")?,
            recording_url: first(form, "RecordingUrl").map(str::to_owned),
            recording_status: status,
            recording_duration: optional_number(form, "RecordingDuration")?,
        })
    }

    /// The form Twilio posts.
    pub fn to_form(&self) -> Form {
        let mut form: Form = vec![
            ("CallSid".into(), self.call_sid.clone()),
            ("AccountSid".into(), self.account_sid.clone()),
            ("RecordingSid".into(), self.recording_sid.clone()),
            ("RecordingStatus".into(), self.recording_status.clone()),
            ("RecordingChannels".into(), "2".into()),
            ("RecordingSource".into(), "StartCallRecordingAPI".into()),
        ];
        if let Some(url) = &self.recording_url {
            form.push(("RecordingUrl".into(), url.clone()));
        }
        if let Some(duration) = self.recording_duration {
            form.push(("RecordingDuration".into(), duration.to_string()));
        }
        form
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_round_trip_and_report_bad_fields() {
        let status = StatusCallback {
            call_sid: "CA1".into(),
            account_sid: "AC1".into(),
            call_status: CallStatus::NoAnswer,
            sequence_number: Some(3),
            call_duration: Some(0),
            sip_response_code: Some(487),
            error_code: None,
            timestamp: Some("Sat, 21 Nov 2026 14:00:00 +0000".into()),
        };
        let form = status.to_form("+1500", "+8210");
        assert_eq!(StatusCallback::from_form(&form), Ok(status));
        let mut bad = form.clone();
        bad.retain(|(k, _)| k != "CallSid");
        assert_eq!(
            StatusCallback::from_form(&bad),
            Err(FormError::Missing("CallSid"))
        );
        let mut bad = form;
        bad.iter_mut()
            .filter(|(k, _)| k == "CallStatus")
            .for_each(|(_, v)| *v = "exploded".into());
        assert!(matches!(
            StatusCallback::from_form(&bad),
            Err(FormError::Invalid {
                field: "CallStatus",
                ..
            })
        ));
        let amd = AmdCallback {
            call_sid: "CA1".into(),
            account_sid: "AC1".into(),
            answered_by: "machine_end_beep".into(),
            machine_detection_duration_ms: Some(4200),
        };
        assert!(amd.is_machine());
        assert_eq!(AmdCallback::from_form(&amd.to_form()), Ok(amd));
    }
}
