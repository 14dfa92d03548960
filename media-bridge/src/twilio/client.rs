//! The Twilio REST adapter: places calls for the dialer (the [`Telephony`] port), hangs up,
//! starts recordings after the consent notice, replaces running TwiML and fetches late prices.

use std::time::Duration;

use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use commands::dialer::{DialOrder, ProviderCall, Telephony, TelephonyError};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

mod account;
mod recordings;

use protocols::twilio::{
    self as wire, CallList, CallResource, ConnectionOverrides, CreateCall, ERROR_NOT_FOUND,
    ErrorBody, RecordingResource, STATUS_EVENTS,
};

/// Where and as whom the adapter talks to Twilio.
#[derive(Clone)]
pub struct TwilioConfig {
    /// `TWILIO_API_BASE`, e.g. `https://api.twilio.com` (no trailing slash).
    pub api_base: String,
    pub account_sid: String,
    pub auth_token: SecretString,
    /// `TWILIO_PHONE_NUMBER`: the caller id unless the order names one.
    pub phone_number: String,
    /// `PUBLIC_BASE_URL`: where Twilio reaches our webhooks.
    pub public_base_url: String,
    /// Attempts for one request when Twilio answers 429/5xx or cannot be reached.
    pub max_attempts: u32,
    /// `TimeLimit` of every call: Twilio ends a call this long (seconds) after it connects.
    pub max_call_secs: u32,
    /// The first backoff; it doubles per retry, with jitter.
    pub backoff: Duration,
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("api_base", &self.api_base)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"***")
            .field("public_base_url", &self.public_base_url)
            .finish_non_exhaustive()
    }
}

impl TwilioConfig {
    /// A config with the default retry policy (4 attempts, 250 ms doubling).
    pub fn new(
        api_base: impl Into<String>,
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
        phone_number: impl Into<String>,
        public_base_url: impl Into<String>,
    ) -> Self {
        Self {
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            account_sid: account_sid.into(),
            auth_token: SecretString::from(auth_token.into()),
            phone_number: phone_number.into(),
            public_base_url: public_base_url.into().trim_end_matches('/').to_owned(),
            max_attempts: 4,
            max_call_secs: DEFAULT_MAX_CALL_SECS,
            backoff: Duration::from_millis(250),
        }
    }
}

/// What a Twilio request ended with, beyond the port's errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TwilioError {
    /// Twilio answered with an error body (after retries for 429/5xx).
    #[error("Twilio error {code} (HTTP {status}): {message}")]
    Api {
        status: u16,
        code: i64,
        message: String,
    },
    /// Twilio could not be reached or answered something unreadable.
    #[error("Twilio unavailable: {0}")]
    Unavailable(String),
    /// No connection could be made: the request surely never reached Twilio.
    #[error("Twilio unreachable: {0}")]
    Unreached(String),
}

impl TwilioError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Api { status, .. } => *status == 429 || *status >= 500,
            Self::Unavailable(_) | Self::Unreached(_) => true,
        }
    }

    /// Whether Twilio surely did not act on the request: no connection was made, or it answered
    /// 429 ("never processed and always safe to retry", PROTOCOLS §A7).
    fn surely_not_received(&self) -> bool {
        matches!(self, Self::Unreached(_) | Self::Api { status: 429, .. })
    }

    /// Whether Twilio refused because the call (or its recording) is over: 404 / 20404 (no such
    /// resource), or real Twilio's 400 / 21220 "Call is not in-progress. Cannot redirect.".
    pub fn call_already_ended(&self) -> bool {
        match self {
            Self::Api { status: 404, .. } => true,
            Self::Api { code, .. } => {
                *code == ERROR_NOT_FOUND || *code == wire::ERROR_CALL_NOT_IN_PROGRESS
            }
            Self::Unavailable(_) | Self::Unreached(_) => false,
        }
    }
}

impl From<TwilioError> for TelephonyError {
    fn from(error: TwilioError) -> Self {
        match error {
            TwilioError::Api {
                status,
                code,
                message,
            } if status != 429 && status < 500 => TelephonyError::Rejected {
                code: code.to_string(),
                message,
            },
            other => TelephonyError::Unavailable(other.to_string()),
        }
    }
}

/// Whether the resource was still there: gone already (see [`TwilioError::call_already_ended`])
/// is what a hang-up or a delete wanted.
fn still_there<T>(result: Result<T, TwilioError>) -> Result<bool, TwilioError> {
    match result {
        Ok(_) => Ok(true),
        Err(error) if error.call_already_ended() => Ok(false),
        Err(other) => Err(other),
    }
}

/// A 2xx answer's JSON body.
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, TwilioError> {
    serde_json::from_slice(body)
        .map_err(|e| TwilioError::Unavailable(format!("unreadable Twilio response: {e}")))
}

/// How long Twilio rings before the call counts as unanswered (`Timeout`).
pub const RING_TIMEOUT_SECS: u32 = 30;
/// The default `TimeLimit` of a call (`MAX_CALL_SECONDS`): 15 minutes.
pub const DEFAULT_MAX_CALL_SECS: u32 = 900;

/// The adapter.
#[derive(Debug, Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    config: TwilioConfig,
}

impl TwilioClient {
    /// An adapter for `config`.
    pub fn new(config: TwilioConfig) -> Result<Self, TwilioError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| TwilioError::Unavailable(e.to_string()))?;
        Ok(Self { http, config })
    }

    /// The configuration.
    pub fn config(&self) -> &TwilioConfig {
        &self.config
    }

    fn account_url(&self, rest: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/{rest}",
            self.config.api_base, self.config.account_sid
        )
    }

    /// Our webhook URL for `kind` (`voice`, `status`, `amd`, `recording`) of a call, with the
    /// attempt in its (signed) query string when there is one, so a callback that overtakes the
    /// create response can still be matched to its attempt; and with Twilio's connection
    /// overrides as its fragment, so a callback that met a database blip (5xx), a timeout or a
    /// refused connection is delivered again.
    pub fn webhook_url(
        &self,
        kind: &str,
        call_id: impl std::fmt::Display,
        attempt: Option<u32>,
    ) -> String {
        let mut url = format!("{}/twilio/{kind}/{call_id}", self.config.public_base_url);
        if let Some(attempt) = attempt {
            url.push_str(&format!("?attempt={attempt}"));
        }
        ConnectionOverrides::retrying(&url)
    }

    /// What we ask Twilio for to place `order`.
    pub fn create_request(&self, order: &DialOrder) -> CreateCall {
        let attempt = Some(order.attempt);
        CreateCall {
            to: order.to.as_str().to_owned(),
            from: order
                .caller_id
                .clone()
                .filter(|id| !id.trim().is_empty())
                .unwrap_or_else(|| self.config.phone_number.clone()),
            url: self.webhook_url("voice", order.call_id, attempt),
            twiml: None,
            status_callback: self.webhook_url("status", order.call_id, attempt),
            status_callback_events: STATUS_EVENTS.iter().map(|e| (*e).to_owned()).collect(),
            timeout_secs: RING_TIMEOUT_SECS,
            time_limit_secs: Some(self.config.max_call_secs),
            machine_detection: Some("DetectMessageEnd".into()),
            async_amd: true,
            async_amd_status_callback: Some(self.webhook_url("amd", order.call_id, attempt)),
        }
    }

    /// `POST …/Calls.json`, retried only when the request surely never reached Twilio (no
    /// connection, or 429, which Twilio never processes). After an ambiguous failure (a 5xx, a
    /// timeout, a dropped connection after sending) Twilio may have created the call, so before
    /// trying again the adapter looks for a call to the same number created since the first
    /// try ([`Self::find_call`]) and takes it instead of ringing the person twice.
    #[tracing::instrument(skip_all, fields(call_id = %order.call_id, attempt = order.attempt))]
    pub async fn create_call(&self, order: &DialOrder) -> Result<CallResource, TwilioError> {
        let form = self.create_request(order).to_form();
        let url = self.account_url("Calls.json");
        // Twilio's `StartTime` filter has a one-day resolution; created calls are compared
        // against this (less a little clock skew, far below any retry interval) below.
        let since = chrono::Utc::now() - chrono::Duration::seconds(10);
        let mut failures = 0;
        loop {
            let error = match self
                .retrying_when(
                    || self.send_once(reqwest::Method::POST, &url, Some(&form)),
                    TwilioError::surely_not_received,
                )
                .await
            {
                Ok(body) => return parse_body(&body),
                Err(error) => error,
            };
            if !error.is_retryable() {
                return Err(error);
            }
            failures += 1;
            tracing::warn!(%error, failures, "creating the call failed ambiguously; looking for it at Twilio");
            match self.find_call(order.to.as_str(), since).await {
                Ok(Some(found)) => {
                    tracing::info!(sid = %found.sid, "Twilio had created the call; using it");
                    return Ok(found);
                }
                Ok(None) if failures < self.config.max_attempts => {
                    tokio::time::sleep(self.config.backoff * failures).await;
                }
                Ok(None) => return Err(error),
                // Not knowing whether the call exists, don't risk a second one.
                Err(lookup) => {
                    tracing::warn!(error = %lookup, "cannot look for the call; giving up this attempt");
                    return Err(error);
                }
            }
        }
    }

    /// The newest call to `to` created at or after `since` (`GET …/Calls.json?To=&StartTime>=`),
    /// if Twilio has one. (Twilio's dates have a one-second resolution.)
    pub async fn find_call(
        &self,
        to: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<CallResource>, TwilioError> {
        let query = wire::encode_form(&[
            ("To", to),
            ("StartTime>", &since.format("%Y-%m-%d").to_string()),
            ("PageSize", "20"),
        ]);
        let list: CallList = self.get(&format!("Calls.json?{query}")).await?;
        let created = |call: &CallResource| {
            call.date_created
                .as_deref()
                .and_then(|date| chrono::DateTime::parse_from_rfc2822(date).ok())
        };
        // Twilio lists the newest first.
        Ok(list
            .calls
            .into_iter()
            .find(|call| call.to == to && created(call).is_some_and(|at| at >= since)))
    }

    /// `GET …/Calls/{Sid}.json`.
    pub async fn fetch_call(&self, call_sid: &str) -> Result<CallResource, TwilioError> {
        self.get(&format!("Calls/{call_sid}.json")).await
    }

    /// Hangs up a live call (`Status=completed`); a call that is already over (see
    /// [`TwilioError::call_already_ended`]) is what we wanted. Returns whether it was live.
    #[tracing::instrument(skip(self))]
    pub async fn hang_up(&self, call_sid: &str) -> Result<bool, TwilioError> {
        let path = format!("Calls/{call_sid}.json");
        let form = [("Status", "completed".to_owned())];
        still_there(self.post::<CallResource>(&path, &form).await)
    }

    /// Replaces the call's running TwiML (e.g. a voicemail message then `<Hangup/>`).
    #[tracing::instrument(skip(self, twiml))]
    pub async fn update_twiml(
        &self,
        call_sid: &str,
        twiml: &str,
    ) -> Result<CallResource, TwilioError> {
        let form = [("Twiml", twiml.to_owned())];
        self.post(&format!("Calls/{call_sid}.json"), &form).await
    }

    /// Starts recording through the REST API — called only after the consent notice and only
    /// when the campaign records, so nothing before the notice is on tape.
    #[tracing::instrument(skip(self))]
    pub async fn start_recording(
        &self,
        call_sid: &str,
        call_id: &str,
    ) -> Result<RecordingResource, TwilioError> {
        let form = [
            ("RecordingChannels", "dual".to_owned()),
            (
                "RecordingStatusCallback",
                self.webhook_url("recording", call_id, None),
            ),
            ("RecordingStatusCallbackMethod", "POST".to_owned()),
            ("RecordingStatusCallbackEvent", "in-progress".to_owned()),
            ("RecordingStatusCallbackEvent", "completed".to_owned()),
            ("RecordingStatusCallbackEvent", "absent".to_owned()),
        ];
        self.post(&format!("Calls/{call_sid}/Recordings.json"), &form)
            .await
    }

    /// Stops the recording in progress (the callee objected); Twilio keeps nothing more of it.
    #[tracing::instrument(skip(self))]
    pub async fn stop_recording(&self, call_sid: &str) -> Result<(), TwilioError> {
        let path = format!("Calls/{call_sid}/Recordings/Twilio.CURRENT.json");
        let form = [("Status", "stopped".to_owned())];
        self.post::<RecordingResource>(&path, &form)
            .await
            .map(|_| ())
    }

    /// The call's price in micro-dollars, polling with backoff because Twilio fills it in some
    /// time after the end; `None` if it has not appeared after `polls` tries.
    pub async fn fetch_price(
        &self,
        call_sid: &str,
        polls: u32,
        first_delay: Duration,
    ) -> Result<Option<i64>, TwilioError> {
        let mut delay = first_delay;
        for poll in 0..polls.max(1) {
            if poll > 0 {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            if let Some(price) = self.fetch_call(call_sid).await?.price_micros() {
                return Ok(Some(price));
            }
        }
        Ok(None)
    }

    /// One request answering JSON, retried with exponential backoff and jitter on 429, 5xx and
    /// transport failures (an unreadable answer counts as one); any other answer (a 4xx) is
    /// final.
    /// `POST` of `form` to `rest` under the account (`…/Accounts/{sid}/{rest}`).
    async fn post<T: DeserializeOwned>(
        &self,
        rest: &str,
        form: &[(&str, String)],
    ) -> Result<T, TwilioError> {
        let form: wire::Form = form
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect();
        self.send(reqwest::Method::POST, &self.account_url(rest), Some(&form))
            .await
    }

    /// `GET` of `rest` under the account (`…/Accounts/{sid}/{rest}`).
    async fn get<T: DeserializeOwned>(&self, rest: &str) -> Result<T, TwilioError> {
        self.send(reqwest::Method::GET, &self.account_url(rest), None)
            .await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: &str,
        form: Option<&wire::Form>,
    ) -> Result<T, TwilioError> {
        self.retrying(|| async {
            let body = self.send_once(method.clone(), url, form).await?;
            parse_body(&body)
        })
        .await
    }

    /// One request returning the raw body, retried like every other Twilio request.
    async fn raw(&self, method: reqwest::Method, url: &str) -> Result<Vec<u8>, TwilioError> {
        self.retrying(|| self.send_once(method.clone(), url, None))
            .await
    }

    /// `attempt` until it succeeds, fails for good, or the attempts run out.
    async fn retrying<T, F, Fut>(&self, attempt: F) -> Result<T, TwilioError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, TwilioError>>,
    {
        self.retrying_when(attempt, TwilioError::is_retryable).await
    }

    /// `attempt` until it succeeds, fails in a way `retry` refuses, or the attempts run out.
    async fn retrying_when<T, F, Fut>(
        &self,
        attempt: F,
        retry: fn(&TwilioError) -> bool,
    ) -> Result<T, TwilioError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, TwilioError>>,
    {
        let policy = ExponentialBuilder::default()
            .with_min_delay(self.config.backoff)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.config.max_attempts.saturating_sub(1) as usize);
        attempt
            .retry(policy)
            .when(retry)
            .notify(|error, delay| {
                tracing::warn!(%error, ?delay, "Twilio request failed; retrying");
            })
            .await
    }

    /// One attempt: the body of a 2xx answer, else Twilio's error.
    async fn send_once(
        &self,
        method: reqwest::Method,
        url: &str,
        form: Option<&wire::Form>,
    ) -> Result<Vec<u8>, TwilioError> {
        let mut request = self.http.request(method, url).basic_auth(
            &self.config.account_sid,
            Some(self.config.auth_token.expose_secret()),
        );
        if let Some(form) = form {
            request = request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(wire::encode_form(form));
        }
        let response = request.send().await.map_err(|e| {
            if e.is_connect() {
                TwilioError::Unreached(e.without_url().to_string())
            } else {
                TwilioError::Unavailable(e.without_url().to_string())
            }
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| TwilioError::Unavailable(e.without_url().to_string()))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        Err(match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(error) => TwilioError::Api {
                status: status.as_u16(),
                code: error.code,
                message: error.message,
            },
            Err(_) => TwilioError::Api {
                status: status.as_u16(),
                code: i64::from(status.as_u16()),
                message: status
                    .canonical_reason()
                    .unwrap_or("error without a body")
                    .to_owned(),
            },
        })
    }
}

#[async_trait]
impl Telephony for TwilioClient {
    async fn place_call(&self, order: &DialOrder) -> Result<String, TelephonyError> {
        let call = self.create_call(order).await?;
        Ok(call.sid)
    }

    async fn call_state(
        &self,
        provider_call_sid: &str,
    ) -> Result<Option<ProviderCall>, TelephonyError> {
        let call = match self.fetch_call(provider_call_sid).await {
            Ok(call) => call,
            Err(TwilioError::Api { status: 404, .. }) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        let Ok(status) = call.status.parse::<wire::CallStatus>() else {
            return Err(TelephonyError::Unavailable(format!(
                "unknown call status {:?}",
                call.status
            )));
        };
        Ok(Some(ProviderCall {
            duration_secs: call.duration.as_deref().and_then(|d| d.parse().ok()),
            sid: call.sid,
            status,
        }))
    }

    async fn hang_up(&self, provider_call_sid: &str) -> Result<(), TelephonyError> {
        TwilioClient::hang_up(self, provider_call_sid).await?;
        Ok(())
    }
}
