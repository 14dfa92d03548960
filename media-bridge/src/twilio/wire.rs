//! Twilio's wire format, in one place for the adapter and the sandbox (PROTOCOLS.md §A–§D):
//! form bodies with repeated keys, the Call resource and error JSON, the callback field sets,
//! `X-Twilio-Signature` (with the port quirk), the TwiML we answer and the Media Streams messages.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

type HmacSha1 = hmac::Hmac<Sha1>;

/// The header Twilio signs its requests with.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// The four status-callback events we ask for (PROTOCOLS §A2).
pub const STATUS_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];

// ---------------------------------------------------------------------------------------------
// Form bodies

/// Form pairs in order; a key may repeat (`StatusCallbackEvent=…&StatusCallbackEvent=…`).
pub type Form = Vec<(String, String)>;

/// Encodes pairs as `application/x-www-form-urlencoded`, repeating keys as given.
pub fn encode_form<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        serializer.append_pair(key.as_ref(), value.as_ref());
    }
    serializer.finish()
}

/// Decodes an `application/x-www-form-urlencoded` body, keeping repeated keys.
pub fn parse_form(body: &[u8]) -> Form {
    form_urlencoded::parse(body).into_owned().collect()
}

/// A form field that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the form field {0} is missing")]
    Missing(&'static str),
    #[error("the form field {field} has an invalid value {value:?}")]
    Invalid { field: &'static str, value: String },
}

fn first<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .filter(|value| !value.is_empty())
}

fn required(form: &[(String, String)], name: &'static str) -> Result<String, FormError> {
    first(form, name)
        .map(str::to_owned)
        .ok_or(FormError::Missing(name))
}

fn optional_number<T: std::str::FromStr>(
    form: &[(String, String)],
    name: &'static str,
) -> Result<Option<T>, FormError> {
    first(form, name)
        .map(|value| {
            value.parse().map_err(|_| FormError::Invalid {
                field: name,
                value: value.to_owned(),
            })
        })
        .transpose()
}

fn all<'a>(form: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    form.iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// X-Twilio-Signature (PROTOCOLS §B7)

/// `base64(HMAC-SHA1(auth_token, url + sorted name/value pairs))`.
pub fn compute_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    BASE64.encode(
        signature_mac(auth_token, url, params)
            .finalize()
            .into_bytes(),
    )
}

fn signature_mac(auth_token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // By name, then by value for a repeated name (twilio-python sorts the pairs).
    sorted.sort_unstable();
    let mut mac =
        HmacSha1::new_from_slice(auth_token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(url.as_bytes());
    for (key, value) in sorted {
        mac.update(key.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// Whether `signature` is Twilio's signature of a form request to `url`. Twilio signs the URL
/// sometimes with and sometimes without the default port, so both forms are accepted.
pub fn validate_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    let Ok(given) = BASE64.decode(signature.trim()) else {
        return false;
    };
    url_variants(url).iter().any(|candidate| {
        signature_mac(auth_token, candidate, params)
            .verify_slice(&given)
            .is_ok()
    })
}

/// Whether a JSON-body request is signed: the URL (with `bodySHA256`) with no params, and the
/// body hashes to that `bodySHA256`.
pub fn validate_json_signature(auth_token: &str, url: &str, body: &[u8], signature: &str) -> bool {
    let Some(expected) = query_value(url, "bodySHA256") else {
        return false;
    };
    let actual: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    actual.eq_ignore_ascii_case(&expected) && validate_signature(auth_token, url, &[], signature)
}

fn query_value(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The URL as given, with its scheme's default port added, and with any port removed.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return variants;
    };
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((user, host)) => (format!("{user}@"), host),
        None => (String::new(), authority),
    };
    // A port follows the last ':' unless that colon is inside an IPv6 literal.
    let (host, port) = match hostport.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') && port.chars().all(|c| c.is_ascii_digit()) => {
            (host, Some(port))
        }
        _ => (hostport, None),
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" | "wss" => "443",
        _ => "80",
    };
    let without = format!("{scheme}://{userinfo}{host}{tail}");
    let with = format!("{scheme}://{userinfo}{host}:{default_port}{tail}");
    if port.is_some() {
        variants.push(without);
    } else {
        variants.push(with);
    }
    variants
}

// ---------------------------------------------------------------------------------------------
// REST resources (PROTOCOLS §A3, §A6)

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

/// The Recording resource (the fields we read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingResource {
    pub sid: String,
    pub call_sid: String,
    pub status: String,
    #[serde(default)]
    pub channels: Option<u32>,
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
    pub url: String,
    pub status_callback: String,
    pub status_callback_events: Vec<String>,
    pub timeout_secs: u32,
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
            ("Url".into(), self.url.clone()),
            ("Method".into(), "POST".into()),
            ("StatusCallback".into(), self.status_callback.clone()),
            ("StatusCallbackMethod".into(), "POST".into()),
        ];
        for event in &self.status_callback_events {
            form.push(("StatusCallbackEvent".into(), event.clone()));
        }
        form.push(("Timeout".into(), self.timeout_secs.to_string()));
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

    /// Reads a create request (the sandbox's side); `To`, `From` and `Url` are required.
    pub fn from_form(form: &[(String, String)]) -> Result<Self, FormError> {
        Ok(Self {
            to: required(form, "To")?,
            from: required(form, "From")?,
            url: required(form, "Url")?,
            status_callback: first(form, "StatusCallback").unwrap_or_default().to_owned(),
            status_callback_events: all(form, "StatusCallbackEvent")
                .into_iter()
                .flat_map(|v| v.split(' '))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect(),
            timeout_secs: optional_number(form, "Timeout")?.unwrap_or(60),
            machine_detection: first(form, "MachineDetection").map(str::to_owned),
            async_amd: first(form, "AsyncAmd") == Some("true"),
            async_amd_status_callback: first(form, "AsyncAmdStatusCallback").map(str::to_owned),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Callbacks (PROTOCOLS §B)

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

// ---------------------------------------------------------------------------------------------
// TwiML (PROTOCOLS §C)

/// Escapes text and attribute values for XML.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// One TwiML verb, in the order it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    Say {
        language: String,
        voice: String,
        text: String,
    },
    Pause {
        length: u32,
    },
    /// `<Connect><Stream url>` with its `<Parameter>`s.
    ConnectStream {
        url: String,
        parameters: BTreeMap<String, String>,
    },
    Hangup,
}

/// Renders a `<Response>` document.
pub fn render_twiml(verbs: &[Verb]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>");
    for verb in verbs {
        match verb {
            Verb::Say {
                language,
                voice,
                text,
            } => xml.push_str(&format!(
                "<Say language=\"{}\" voice=\"{}\">{}</Say>",
                escape_xml(language),
                escape_xml(voice),
                escape_xml(text)
            )),
            Verb::Pause { length } => xml.push_str(&format!("<Pause length=\"{length}\"/>")),
            Verb::ConnectStream { url, parameters } => {
                xml.push_str(&format!("<Connect><Stream url=\"{}\">", escape_xml(url)));
                for (name, value) in parameters {
                    xml.push_str(&format!(
                        "<Parameter name=\"{}\" value=\"{}\"/>",
                        escape_xml(name),
                        escape_xml(value)
                    ));
                }
                xml.push_str("</Stream></Connect>");
            }
            Verb::Hangup => xml.push_str("<Hangup/>"),
        }
    }
    xml.push_str("</Response>");
    xml
}

/// What is wrong with a TwiML document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwimlError {
    #[error("not a TwiML <Response> document")]
    NotAResponse,
    #[error("malformed TwiML near {0:?}")]
    Malformed(String),
    #[error("unsupported TwiML verb <{0}>")]
    UnsupportedVerb(String),
    #[error("<{verb}> lacks the attribute {attribute}")]
    MissingAttribute {
        verb: &'static str,
        attribute: &'static str,
    },
}

struct Tag {
    name: String,
    attributes: BTreeMap<String, String>,
    closing: bool,
    self_closing: bool,
}

fn parse_tag(raw: &str) -> Result<Tag, TwimlError> {
    let malformed = || TwimlError::Malformed(raw.chars().take(40).collect());
    let closing = raw.starts_with('/');
    let self_closing = raw.ends_with('/');
    let inner = raw.trim_start_matches('/').trim_end_matches('/').trim();
    let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
    let (name, mut rest) = inner.split_at(name_end);
    let mut attributes = BTreeMap::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let (key, after) = rest.split_once('=').ok_or_else(malformed)?;
        let after = after.trim_start();
        let quote = after.chars().next().ok_or_else(malformed)?;
        if quote != '"' && quote != '\'' {
            return Err(malformed());
        }
        let body = &after[1..];
        let end = body.find(quote).ok_or_else(malformed)?;
        attributes.insert(key.trim().to_owned(), unescape_xml(&body[..end]));
        rest = &body[end + 1..];
    }
    if name.is_empty() {
        return Err(malformed());
    }
    Ok(Tag {
        name: name.to_owned(),
        attributes,
        closing,
        self_closing,
    })
}

/// Reads the verbs of a TwiML document we (or anyone using these verbs) produced; the sandbox
/// uses it to check our answer the way Twilio would execute it.
pub fn parse_twiml(xml: &str) -> Result<Vec<Verb>, TwimlError> {
    let mut body = xml.trim();
    if let Some(rest) = body.strip_prefix("<?xml") {
        body = rest
            .split_once("?>")
            .ok_or(TwimlError::NotAResponse)?
            .1
            .trim();
    }
    let body = body
        .strip_prefix("<Response>")
        .and_then(|b| b.strip_suffix("</Response>"))
        .ok_or(TwimlError::NotAResponse)?;
    // Tokens: tags and the text between them.
    let mut tokens: Vec<Result<Tag, String>> = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<') {
            let end = after
                .find('>')
                .ok_or_else(|| TwimlError::Malformed(after.chars().take(40).collect()))?;
            if !after.starts_with("!--") {
                tokens.push(Ok(parse_tag(&after[..end])?));
            } else {
                let close = after
                    .find("-->")
                    .ok_or_else(|| TwimlError::Malformed("<!--".into()))?;
                rest = &after[close + 3..];
                continue;
            }
            rest = &after[end + 1..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let text = rest[..end].trim();
            if !text.is_empty() {
                tokens.push(Err(unescape_xml(text)));
            }
            rest = &rest[end..];
        }
    }
    let mut verbs = Vec::new();
    let mut iter = tokens.into_iter().peekable();
    let attribute = |tag: &Tag, verb: &'static str, name: &'static str| {
        tag.attributes
            .get(name)
            .cloned()
            .ok_or(TwimlError::MissingAttribute {
                verb,
                attribute: name,
            })
    };
    while let Some(token) = iter.next() {
        let tag = token.map_err(TwimlError::Malformed)?;
        if tag.closing {
            return Err(TwimlError::Malformed(format!("</{}>", tag.name)));
        }
        match tag.name.as_str() {
            "Say" => {
                let text = match iter.next() {
                    Some(Err(text)) => {
                        match iter.next() {
                            Some(Ok(close)) if close.closing && close.name == "Say" => {}
                            _ => return Err(TwimlError::Malformed("<Say>".into())),
                        }
                        text
                    }
                    Some(Ok(close)) if close.closing && close.name == "Say" => String::new(),
                    _ => return Err(TwimlError::Malformed("<Say>".into())),
                };
                verbs.push(Verb::Say {
                    language: tag.attributes.get("language").cloned().unwrap_or_default(),
                    voice: tag.attributes.get("voice").cloned().unwrap_or_default(),
                    text,
                });
            }
            "Pause" => {
                let length = match tag.attributes.get("length") {
                    Some(value) => value
                        .parse()
                        .map_err(|_| TwimlError::Malformed(format!("length={value}")))?,
                    None => 1,
                };
                if !tag.self_closing {
                    iter.next();
                }
                verbs.push(Verb::Pause { length });
            }
            "Hangup" => {
                if !tag.self_closing {
                    iter.next();
                }
                verbs.push(Verb::Hangup);
            }
            "Connect" => {
                let stream = match iter.next() {
                    Some(Ok(stream)) if stream.name == "Stream" && !stream.closing => stream,
                    _ => return Err(TwimlError::Malformed("<Connect> without <Stream>".into())),
                };
                let url = attribute(&stream, "Stream", "url")?;
                let mut parameters = BTreeMap::new();
                if !stream.self_closing {
                    loop {
                        match iter.next() {
                            Some(Ok(param)) if param.name == "Parameter" && !param.closing => {
                                parameters.insert(
                                    attribute(&param, "Parameter", "name")?,
                                    attribute(&param, "Parameter", "value")?,
                                );
                                if !param.self_closing {
                                    iter.next();
                                }
                            }
                            Some(Ok(close)) if close.closing && close.name == "Stream" => break,
                            _ => return Err(TwimlError::Malformed("<Stream>".into())),
                        }
                    }
                }
                match iter.next() {
                    Some(Ok(close)) if close.closing && close.name == "Connect" => {}
                    _ => return Err(TwimlError::Malformed("<Connect>".into())),
                }
                verbs.push(Verb::ConnectStream { url, parameters });
            }
            other => return Err(TwimlError::UnsupportedVerb(other.to_owned())),
        }
    }
    Ok(verbs)
}

// ---------------------------------------------------------------------------------------------
// Media Streams (PROTOCOLS §D)

/// The `start` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamStart {
    pub account_sid: String,
    pub stream_sid: String,
    pub call_sid: String,
    #[serde(default)]
    pub tracks: Vec<String>,
    #[serde(default)]
    pub custom_parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub media_format: Option<MediaFormat>,
}

/// The audio format of a stream (always µ-law 8 kHz mono from Twilio).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFormat {
    pub encoding: String,
    pub sample_rate: u32,
    pub channels: u32,
}

/// A `media` payload; `chunk` and `timestamp` are strings on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Base64 µ-law at 8 kHz.
    pub payload: String,
}

/// A mark label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkPayload {
    pub name: String,
}

/// The `stop` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamStop {
    pub account_sid: String,
    pub call_sid: String,
}

/// A DTMF key press.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DtmfPayload {
    pub track: String,
    pub digit: String,
}

/// A message Twilio sends on the media socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum FromTwilio {
    Connected {
        protocol: String,
        version: String,
    },
    #[serde(rename_all = "camelCase")]
    Start {
        sequence_number: String,
        start: StreamStart,
        stream_sid: String,
    },
    #[serde(rename_all = "camelCase")]
    Media {
        sequence_number: String,
        media: MediaPayload,
        stream_sid: String,
    },
    #[serde(rename_all = "camelCase")]
    Dtmf {
        sequence_number: String,
        dtmf: DtmfPayload,
        stream_sid: String,
    },
    #[serde(rename_all = "camelCase")]
    Mark {
        sequence_number: String,
        mark: MarkPayload,
        stream_sid: String,
    },
    #[serde(rename_all = "camelCase")]
    Stop {
        sequence_number: String,
        stop: StreamStop,
        stream_sid: String,
    },
}

/// A message we send to Twilio on a bidirectional stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum ToTwilio {
    #[serde(rename_all = "camelCase")]
    Media {
        stream_sid: String,
        media: MediaPayload,
    },
    #[serde(rename_all = "camelCase")]
    Mark {
        stream_sid: String,
        mark: MarkPayload,
    },
    #[serde(rename_all = "camelCase")]
    Clear { stream_sid: String },
}

// ---------------------------------------------------------------------------------------------
// Account resources: the numbers a caller id may use, and the balance

/// One number the account owns (`IncomingPhoneNumbers`) or verified (`OutgoingCallerIds`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountNumber {
    pub sid: String,
    pub phone_number: String,
    #[serde(default)]
    pub friendly_name: Option<String>,
    #[serde(default)]
    pub account_sid: Option<String>,
}

/// `GET …/IncomingPhoneNumbers.json` (filtered with `?PhoneNumber=`), one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomingPhoneNumbers {
    pub incoming_phone_numbers: Vec<AccountNumber>,
    #[serde(default)]
    pub page: u32,
    #[serde(default)]
    pub page_size: u32,
    #[serde(default)]
    pub next_page_uri: Option<String>,
}

/// `GET …/OutgoingCallerIds.json` (filtered with `?PhoneNumber=`), one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingCallerIds {
    pub outgoing_caller_ids: Vec<AccountNumber>,
    #[serde(default)]
    pub page: u32,
    #[serde(default)]
    pub page_size: u32,
    #[serde(default)]
    pub next_page_uri: Option<String>,
}

/// `GET …/Balance.json`: the balance is a decimal string in `currency`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    pub account_sid: String,
    pub balance: String,
    pub currency: String,
}

impl Balance {
    /// The balance in millionths of the currency unit; `None` when it does not parse.
    pub fn micros(&self) -> Option<i64> {
        let value: f64 = self.balance.trim().parse().ok()?;
        value
            .is_finite()
            .then(|| (value * 1_000_000.0).round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Form {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn vector_params() -> Form {
        pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ])
    }

    #[test]
    fn the_documented_vector_signs_and_validates() {
        assert_eq!(
            compute_signature("12345", URL, &vector_params()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(validate_signature(
            "12345",
            URL,
            &vector_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn parameter_order_does_not_change_the_signature() {
        let mut reversed = vector_params();
        reversed.reverse();
        assert_eq!(
            compute_signature("12345", URL, &reversed),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
    }

    #[test]
    fn the_port_quirk_accepts_either_form() {
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert_eq!(
            compute_signature("12345", with_port, &vector_params()),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        // Signed with the port, validated against the URL without it — and the reverse.
        assert!(validate_signature(
            "12345",
            URL,
            &vector_params(),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        ));
        assert!(validate_signature(
            "12345",
            with_port,
            &vector_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn repeated_keys_are_signed_once_per_value_in_sorted_order() {
        let params = pairs(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            compute_signature("12345", URL, &params),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
    }

    #[test]
    fn a_json_body_is_validated_by_its_hash() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
        let url = format!("{URL}&bodySHA256={hash}");
        assert_eq!(
            compute_signature("12345", &url, &[]),
            "a9nBmqA0ju/hNViExpshrM61xv4="
        );
        assert!(validate_json_signature(
            "12345",
            &url,
            body,
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
        assert!(!validate_json_signature(
            "12345",
            &url,
            b"{\"property\": \"other\"}",
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
    }

    #[test]
    fn the_older_gist_vector_matches() {
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            compute_signature("12345", URL, &params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }

    #[test]
    fn a_forged_or_garbled_signature_is_refused() {
        let params = vector_params();
        assert!(!validate_signature(
            "12345",
            URL,
            &params,
            "AAAADt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert!(!validate_signature("12345", URL, &params, "not base64!"));
        assert!(!validate_signature(
            "54321",
            URL,
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        let mut tampered = params.clone();
        tampered[2].1 = "9999".into();
        assert!(!validate_signature(
            "12345",
            URL,
            &tampered,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn port_variants_cover_http_and_explicit_ports() {
        assert_eq!(
            url_variants("http://127.0.0.1:8080/twilio/status/x"),
            vec![
                "http://127.0.0.1:8080/twilio/status/x".to_owned(),
                "http://127.0.0.1/twilio/status/x".to_owned()
            ]
        );
        assert_eq!(
            url_variants("http://example.com/a?b=c"),
            vec![
                "http://example.com/a?b=c".to_owned(),
                "http://example.com:80/a?b=c".to_owned()
            ]
        );
    }

    #[test]
    fn forms_keep_repeated_keys_both_ways() {
        let create = CreateCall {
            to: "+821055500101".into(),
            from: "+15005550006".into(),
            url: "https://x.example/twilio/voice/1".into(),
            status_callback: "https://x.example/twilio/status/1".into(),
            status_callback_events: STATUS_EVENTS.iter().map(|e| (*e).to_owned()).collect(),
            timeout_secs: 30,
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

    #[test]
    fn twiml_renders_escaped_and_parses_back_in_order() {
        let verbs = vec![
            Verb::Say {
                language: "ko-KR".into(),
                voice: "Polly.Seoyeon-Neural".into(),
                text: "녹음 & <AI> 안내".into(),
            },
            Verb::Pause { length: 1 },
            Verb::ConnectStream {
                url: "wss://x.example/twilio/media".into(),
                parameters: BTreeMap::from([
                    ("call_id".into(), "123".into()),
                    ("token".into(), "a\"b".into()),
                ]),
            },
            Verb::Hangup,
        ];
        let xml = render_twiml(&verbs);
        assert!(xml.contains("녹음 &amp; &lt;AI&gt; 안내"));
        assert_eq!(parse_twiml(&xml), Ok(verbs));
        assert_eq!(parse_twiml("<Foo/>"), Err(TwimlError::NotAResponse));
        assert_eq!(
            parse_twiml("<Response><Dial>1</Dial></Response>"),
            Err(TwimlError::UnsupportedVerb("Dial".into()))
        );
    }

    #[test]
    fn media_stream_messages_use_twilios_shapes() {
        let start: FromTwilio = serde_json::from_str(
            r#"{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC1","streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],"customParameters":{"call_id":"123"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"MZ1"}"#,
        )
        .unwrap();
        let FromTwilio::Start { start, .. } = start else {
            panic!("expected start");
        };
        assert_eq!(start.custom_parameters["call_id"], "123");
        let clear = serde_json::to_value(ToTwilio::Clear {
            stream_sid: "MZ1".into(),
        })
        .unwrap();
        assert_eq!(
            clear,
            serde_json::json!({"event":"clear","streamSid":"MZ1"})
        );
        let connected: FromTwilio =
            serde_json::from_str(r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#)
                .unwrap();
        assert!(matches!(connected, FromTwilio::Connected { .. }));
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
