//! The Call resource (PROTOCOLS §A2, §A3): what we send to place a call, what create, fetch and
//! update answer, and Twilio's error body.

use serde::{Deserialize, Serialize};

use super::form::{Form, FormError, all, first, optional_number, required};

/// The four status-callback events we ask for (PROTOCOLS §A2).
pub const STATUS_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];

/// The Call resource, as create, fetch and update return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallResource {
    pub sid: String,
    pub account_sid: String,
    pub to: String,
    pub from: String,
    pub status: String,
    #[serde(default)]
    pub date_created: Option<String>,
    #[serde(default)]
    pub date_updated: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    /// Seconds, as a string.
    #[serde(default)]
    pub duration: Option<String>,
    /// Negative decimal string (e.g. `"-0.200"`), filled in some time after the end.
    #[serde(default)]
    pub price: Option<String>,
    #[serde(default)]
    pub price_unit: Option<String>,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub answered_by: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub parent_call_sid: Option<String>,
    #[serde(default)]
    pub queue_time: Option<String>,
    #[serde(default)]
    pub uri: Option<String>,
}

impl CallResource {
    /// The price in millionths of a US dollar, as a positive cost, once Twilio has it.
    pub fn price_micros(&self) -> Option<i64> {
        let price = self.price.as_deref()?.trim();
        let digits = price.trim_start_matches(['-', '+']);
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let whole: i64 = whole.parse().ok()?;
        let mut fraction = fraction.to_owned();
        if fraction.len() > 6 || !fraction.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        while fraction.len() < 6 {
            fraction.push('0');
        }
        let micros = whole * 1_000_000 + fraction.parse::<i64>().ok()?;
        // Twilio reports charges as negative amounts; the sign is dropped to get a cost.
        Some(micros)
    }
}

/// `GET …/Calls.json` (filtered with `?To=&StartTime>=`), one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallList {
    pub calls: Vec<CallResource>,
    #[serde(flatten)]
    pub paging: super::Paging,
}

/// Twilio's error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: i64,
    pub message: String,
    #[serde(default)]
    pub more_info: Option<String>,
    pub status: u16,
}

impl ErrorBody {
    /// An error with the documentation link Twilio gives.
    pub fn new(status: u16, code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            more_info: Some(format!("https://www.twilio.com/docs/errors/{code}")),
            status,
        }
    }
}

/// Error code: the resource does not exist (a call that already ended, for hang-ups).
pub const ERROR_NOT_FOUND: i64 = 20404;
/// Error code: the call is in no state for this (HTTP 400). Updating a call that already ended
/// (`Status=completed`, new `Twiml`) answers "Unable to update record: Call is not in-progress.
/// Cannot redirect."
pub const ERROR_CALL_NOT_IN_PROGRESS: i64 = 21220;
/// Error code: authentication failed.
pub const ERROR_AUTHENTICATION: i64 = 20003;
/// Error code: too many concurrent requests (HTTP 429), always safe to retry.
pub const ERROR_TOO_MANY_REQUESTS: i64 = 20429;
/// Error code: the `To` number is not a valid phone number.
pub const ERROR_INVALID_TO: i64 = 21211;

/// `POST …/Calls.json`: what we send to place a call (PROTOCOLS §A2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCall {
    pub to: String,
    pub from: String,
    /// The voice URL Twilio fetches TwiML from; empty when the TwiML comes inline in `twiml`.
    pub url: String,
    /// `Twiml`: the instructions themselves instead of a voice URL (at most 4,000 characters).
    pub twiml: Option<String>,
    pub status_callback: String,
    pub status_callback_events: Vec<String>,
    pub timeout_secs: u32,
    /// `TimeLimit`: Twilio ends the call after this many seconds (default four hours).
    pub time_limit_secs: Option<u32>,
    pub machine_detection: Option<String>,
    pub async_amd: bool,
    pub async_amd_status_callback: Option<String>,
}

impl CreateCall {
    /// The form pairs, with one `StatusCallbackEvent` per event.
    pub fn to_form(&self) -> Form {
        let mut form: Form = vec![
            ("To".into(), self.to.clone()),
            ("From".into(), self.from.clone()),
        ];
        match &self.twiml {
            Some(twiml) => form.push(("Twiml".into(), twiml.clone())),
            None => {
                form.push(("Url".into(), self.url.clone()));
                form.push(("Method".into(), "POST".into()));
            }
        }
        form.push(("StatusCallback".into(), self.status_callback.clone()));
        form.push(("StatusCallbackMethod".into(), "POST".into()));
        for event in &self.status_callback_events {
            form.push(("StatusCallbackEvent".into(), event.clone()));
        }
        form.push(("Timeout".into(), self.timeout_secs.to_string()));
        if let Some(limit) = self.time_limit_secs {
            form.push(("TimeLimit".into(), limit.to_string()));
        }
        if let Some(detection) = &self.machine_detection {
            form.push(("MachineDetection".into(), detection.clone()));
        }
        if self.async_amd {
            form.push(("AsyncAmd".into(), "true".into()));
        }
        if let Some(url) = &self.async_amd_status_callback {
            form.push(("AsyncAmdStatusCallback".into(), url.clone()));
            form.push(("AsyncAmdStatusCallbackMethod".into(), "POST".into()));
        }
        form
    }

    /// Reads a create request (the sandbox's side); `To`, `From` and `Url` or `Twiml` are
    /// required, as Twilio's create does (error 21205 without either).
    pub fn from_form(form: &[(String, String)]) -> Result<Self, FormError> {
        let twiml = first(form, "Twiml").map(str::to_owned);
        let url = match (first(form, "Url"), &twiml) {
            (Some(url), _) => url.to_owned(),
            (None, Some(_)) => String::new(),
            (None, None) => return Err(FormError::Missing("Url")),
        };
        Ok(Self {
            to: required(form, "To")?,
            from: required(form, "From")?,
            url,
            twiml,
            status_callback: first(form, "StatusCallback").unwrap_or_default().to_owned(),
            status_callback_events: all(form, "StatusCallbackEvent")
                .into_iter()
                .flat_map(|v| v.split(' '))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect(),
            timeout_secs: optional_number(form, "Timeout")?.unwrap_or(60),
            time_limit_secs: optional_number(form, "TimeLimit")?,
            machine_detection: first(form, "MachineDetection").map(str::to_owned),
            async_amd: first(form, "AsyncAmd") == Some("true"),
            async_amd_status_callback: first(form, "AsyncAmdStatusCallback").map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twilio::form::{encode_form, parse_form};

    #[test]
    fn forms_keep_repeated_keys_both_ways() {
        let create = CreateCall {
            to: "+821055500101".into(),
            from: "+15005550006".into(),
            url: "https://x.example/twilio/voice/1".into(),
            twiml: None,
            status_callback: "https://x.example/twilio/status/1".into(),
            status_callback_events: STATUS_EVENTS.iter().map(|e| (*e).to_owned()).collect(),
            timeout_secs: 30,
            time_limit_secs: Some(900),
            machine_detection: Some("DetectMessageEnd".into()),
            async_amd: true,
            async_amd_status_callback: Some("https://x.example/twilio/amd/1".into()),
        };
        let body = encode_form(&create.to_form());
        assert!(body.contains(
            "StatusCallbackEvent=initiated&StatusCallbackEvent=ringing&StatusCallbackEvent=answered&StatusCallbackEvent=completed"
        ));
        assert!(body.contains("To=%2B821055500101"));
        assert_eq!(
            CreateCall::from_form(&parse_form(body.as_bytes())),
            Ok(create)
        );
    }

    #[test]
    fn a_create_takes_inline_twiml_instead_of_a_url_but_not_neither() {
        let form = |pairs: &[(&str, &str)]| -> Form {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let inline = CreateCall::from_form(&form(&[
            ("To", "+821070000001"),
            ("From", "+15005550006"),
            ("Twiml", "<Response><Hangup/></Response>"),
        ]))
        .unwrap();
        assert_eq!(
            inline.twiml.as_deref(),
            Some("<Response><Hangup/></Response>")
        );
        assert_eq!(inline.url, "");
        assert_eq!(
            CreateCall::from_form(&parse_form(encode_form(&inline.to_form()).as_bytes())),
            Ok(inline)
        );
        assert_eq!(
            CreateCall::from_form(&form(&[("To", "+821070000001"), ("From", "+15005550006")])),
            Err(FormError::Missing("Url"))
        );
    }

    #[test]
    fn prices_become_positive_micro_dollars() {
        let mut call: CallResource = serde_json::from_value(serde_json::json!({
            "sid":"CA1","account_sid":"AC1","to":"+8210","from":"+1500","status":"completed",
            "price":"-0.200","price_unit":"USD"
        }))
        .unwrap();
        assert_eq!(call.price_micros(), Some(200_000));
        call.price = None;
        assert_eq!(call.price_micros(), None);
        call.price = Some("-0.0135".into());
        assert_eq!(call.price_micros(), Some(13_500));
    }
}
