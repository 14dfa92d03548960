//! The response envelope and the one error type every endpoint answers with.
//!
//! Success: `{"success":true,"data":…,"meta":{"timestamp":…}}`.
//! Failure: `{"success":false,"error":{"code":…,"message":…,"details":…}}`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Everything an endpoint can answer instead of success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    InvalidInput {
        message: String,
        details: Option<Value>,
    },
    #[error("password needs {}", .missing.join(", "))]
    WeakPassword { missing: Vec<&'static str> },
    #[error("{message}")]
    InvalidPhone { message: String, details: Value },
    /// The script needs values some contacts lack (details list them per variable).
    #[error("{message}")]
    MissingVariables { message: String, details: Value },
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    InvalidState(String),
    #[error("the campaign has no contacts")]
    NoContacts,
    #[error("{0}")]
    InsufficientCredits(String),
    #[error("account locked until {until}")]
    AccountLocked { until: DateTime<Utc> },
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("request body too large")]
    PayloadTooLarge,
    /// The script writer could not produce a usable script (PRD: 400 `GENERATION_FAILED`).
    #[error("Failed to generate script")]
    GenerationFailed { reason: String },
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Anything unexpected; logged with the request id, never shown to the client.
    #[error("internal error: {0}")]
    Internal(String),
    /// An authentic download link past its expiry.
    #[error("this download link has expired; request a new one")]
    LinkExpired,
    /// A `Range` header outside the file (`length` is its size).
    #[error("the requested range is outside the file ({length} bytes)")]
    RangeNotSatisfiable { length: u64 },
    /// A stored recording does not decrypt with the configured key (logged, details not sent).
    #[error("the recording cannot be decrypted with the configured RECORDING_KEY")]
    RecordingUnreadable(String),
    /// The font PDF reports need is not installed.
    #[error(
        "the PDF report font is missing at {path}; fix REPORT_FONT_PATH or unset it to use the built-in font"
    )]
    ReportFontMissing { path: String },
    /// A provider account cannot pay for what was asked (402 `INSUFFICIENT_CREDITS`, with the
    /// provider named in the details).
    #[error("{message}")]
    ProviderCreditsLow { message: String, details: Value },
    /// A provider we must ask first cannot be reached (503 `PROVIDER_UNAVAILABLE`).
    #[error("{message}")]
    ProviderUnavailable {
        provider: &'static str,
        message: String,
    },
}

impl ApiError {
    /// An input error with a message naming the field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput {
            message: message.into(),
            details: None,
        }
    }

    /// A caller id the provider account neither owns nor has verified.
    fn caller_id_not_verified(message: String, number: String) -> Self {
        Self::InvalidInput {
            message,
            details: Some(json!({
                "field": "callerId",
                "value": number,
                "reason": "CALLER_ID_NOT_VERIFIED",
            })),
        }
    }

    /// Text with control characters where people type names and notes (`field` names which).
    pub fn control_characters(message: String, field: &str) -> Self {
        Self::InvalidInput {
            message,
            details: Some(json!({ "field": field, "reason": "CONTROL_CHARACTERS" })),
        }
    }

    /// Wraps an unexpected failure.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::InvalidInput { .. }
            | Self::WeakPassword { .. }
            | Self::InvalidPhone { .. }
            | Self::InvalidState(_)
            | Self::MissingVariables { .. }
            | Self::NoContacts
            | Self::GenerationFailed { .. } => StatusCode::BAD_REQUEST,
            Self::InsufficientCredits(_) | Self::ProviderCreditsLow { .. } => {
                StatusCode::PAYMENT_REQUIRED
            }
            Self::ProviderUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::AccountLocked { .. } => StatusCode::LOCKED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::LinkExpired => StatusCode::GONE,
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::RecordingUnreadable(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ReportFontMissing { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } | Self::MethodNotAllowed => "INVALID_INPUT",
            Self::WeakPassword { .. } => "WEAK_PASSWORD",
            Self::InvalidPhone { .. } => "INVALID_PHONE",
            Self::MissingVariables { .. } => "MISSING_VARIABLES",
            Self::InvalidState(_) => "INVALID_STATE",
            Self::NoContacts => "NO_CONTACTS",
            Self::InsufficientCredits(_) | Self::ProviderCreditsLow { .. } => {
                "INSUFFICIENT_CREDITS"
            }
            Self::ProviderUnavailable { .. } => "PROVIDER_UNAVAILABLE",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::AccountLocked { .. } => "ACCOUNT_LOCKED",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::GenerationFailed { .. } => "GENERATION_FAILED",
            Self::Internal(_) => "INTERNAL",
            Self::LinkExpired => "LINK_EXPIRED",
            Self::RangeNotSatisfiable { .. } => "RANGE_NOT_SATISFIABLE",
            Self::RecordingUnreadable(_) => "RECORDING_UNREADABLE",
            Self::ReportFontMissing { .. } => "REPORT_FONT_MISSING",
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            Self::InvalidInput { details, .. } => details.clone(),
            Self::InvalidPhone { details, .. } | Self::MissingVariables { details, .. } => {
                Some(details.clone())
            }
            Self::WeakPassword { missing } => Some(json!({ "missing": missing })),
            Self::AccountLocked { until } => Some(json!({ "lockedUntil": timestamp(*until) })),
            Self::RateLimited { retry_after_secs } => {
                Some(json!({ "retryAfterSeconds": retry_after_secs }))
            }
            Self::GenerationFailed { reason } => Some(json!({ "reason": reason })),
            Self::RangeNotSatisfiable { length } => Some(json!({ "length": length })),
            Self::ReportFontMissing { path } => Some(json!({ "path": path })),
            Self::ProviderCreditsLow { details, .. } => Some(details.clone()),
            Self::ProviderUnavailable { provider, .. } => Some(json!({ "provider": provider })),
            _ => None,
        }
    }
}

impl ApiError {
    /// The JSON body of this error, `{"success": false, "error": {code, message, details}}`:
    /// what the API answers and what the MCP tools answer.
    pub fn body(&self) -> Value {
        let message = match self {
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "something went wrong on our side; it has been logged".to_owned()
            }
            Self::RecordingUnreadable(detail) => {
                tracing::error!(error = %detail, "a stored recording does not decrypt");
                self.to_string()
            }
            other => other.to_string(),
        };
        let mut error = json!({ "code": self.code(), "message": message });
        if let Some(details) = self.details() {
            error["details"] = details;
        }
        json!({ "success": false, "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let Self::RangeNotSatisfiable { length } = self
            && let Ok(value) = HeaderValue::from_str(&format!("bytes */{length}"))
        {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        if let Self::RateLimited { retry_after_secs } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs.max(1)),
            );
        }
        response
    }
}

/// RFC 3339 UTC with milliseconds, as every API time is written.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A successful answer wrapped in the envelope.
pub struct Envelope<T>(pub StatusCode, pub T);

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        (self.0, axum::Json(success_body(self.1))).into_response()
    }
}

/// The JSON body of a success, `{"success": true, "data": …, "meta": {timestamp}}`.
pub fn success_body<T: Serialize>(data: T) -> Value {
    json!({
        "success": true,
        "data": data,
        "meta": { "timestamp": timestamp(Utc::now()) },
    })
}

/// 200 with the envelope.
pub fn ok<T: Serialize>(data: T) -> Envelope<T> {
    Envelope(StatusCode::OK, data)
}

/// 201 with the envelope.
pub fn created<T: Serialize>(data: T) -> Envelope<T> {
    Envelope(StatusCode::CREATED, data)
}

/// A JSON body whose problems (syntax, a missing or unknown field, wrong type, size) become
/// `INVALID_INPUT` or `PAYLOAD_TOO_LARGE` naming what is wrong.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge;
    }
    let message = match &rejection {
        JsonRejection::JsonDataError(err) => format!("invalid request body: {}", err.body_text()),
        JsonRejection::JsonSyntaxError(err) => format!("malformed JSON: {}", err.body_text()),
        JsonRejection::MissingJsonContentType(_) => {
            "expected a JSON body with Content-Type: application/json".to_owned()
        }
        other => other.body_text(),
    };
    ApiError::invalid(message)
}

/// Query parameters whose problems become `INVALID_INPUT` naming what is wrong.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::invalid(format!(
                "invalid query: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// Middleware for `/api/v1`: an extractor's own rejection (a path segment that does not parse,
/// a body over the limit…) is plain text; this puts it into the error envelope like every other
/// answer, so clients and the OpenAPI document see one error shape.
pub async fn envelope_rejections(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let plain_text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain"));
    if !status.is_client_error() || !plain_text {
        return response;
    }
    let text = match axum::body::to_bytes(response.into_body(), 64 * 1024).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        _ if text.is_empty() => ApiError::invalid("invalid request"),
        _ => ApiError::invalid(text),
    }
    .into_response()
}

// ----- application services' errors (accounts, scripts, settings, suppressions, usage) ------
// Each service error maps to one answer here, so handlers use `?` and the status table stays
// in one file.

impl From<commands::services::accounts::AccountsError> for ApiError {
    fn from(err: commands::services::accounts::AccountsError) -> Self {
        use commands::services::accounts::AccountsError as E;
        match err {
            E::InvalidEmail(_) | E::WrongCurrentPassword => Self::invalid(err.to_string()),
            E::WeakPassword(weak) => Self::WeakPassword {
                missing: weak.missing,
            },
            E::EmailTaken => Self::Conflict(err.to_string()),
            E::Unauthorized => Self::Unauthorized,
            E::Locked { until } => Self::AccountLocked { until },
            E::NotFound => Self::NotFound,
            E::Database(_) | E::Command(_) | E::Store(_) | E::Hashing(_) | E::CorruptRow(_) => {
                Self::internal(err)
            }
        }
    }
}

/// A value over its entry in `domain::limits`: 400 `INVALID_INPUT` naming the field, the limit
/// and what it counts.
impl From<domain::limits::TooLarge> for ApiError {
    fn from(err: domain::limits::TooLarge) -> Self {
        Self::InvalidInput {
            message: err.to_string(),
            details: Some(json!({
                "field": err.field,
                "limit": err.max,
                "unit": err.unit.to_string(),
                "actual": err.actual,
                "reason": "TOO_LARGE",
            })),
        }
    }
}

impl From<crate::rate_limit::RateLimited> for ApiError {
    fn from(limited: crate::rate_limit::RateLimited) -> Self {
        Self::RateLimited {
            retry_after_secs: limited.retry_after_secs,
        }
    }
}

impl From<commands::services::settings::SettingsError> for ApiError {
    fn from(err: commands::services::settings::SettingsError) -> Self {
        use commands::services::settings::{CallerIdError, SettingsError as E};
        match err {
            E::Invalid(invalid) => Self::invalid(invalid.to_string()),
            E::CallerId(CallerIdError::NotVerified { number }) => Self::caller_id_not_verified(
                "callerId: the Twilio account neither owns nor has verified this number".into(),
                number,
            ),
            E::CallerId(CallerIdError::Unavailable { provider, message }) => {
                Self::ProviderUnavailable { provider, message }
            }
            E::Database(_) => Self::internal(err),
        }
    }
}

impl From<commands::services::suppressions::SuppressionsError> for ApiError {
    fn from(err: commands::services::suppressions::SuppressionsError) -> Self {
        use commands::services::suppressions::SuppressionsError as E;
        match err {
            E::InvalidPhone { value, reason } => Self::InvalidPhone {
                message: format!("phoneNumber: {reason}"),
                details: json!({ "value": value, "reason": reason.to_string() }),
            },
            E::TooLarge(too_large) => too_large.into(),
            E::ControlCharacters => Self::control_characters(err.to_string(), "reason"),
            E::NotListed => Self::NotFound,
            E::Database(_) => Self::internal(err),
        }
    }
}

impl From<commands::services::webhooks::WebhooksError> for ApiError {
    fn from(err: commands::services::webhooks::WebhooksError) -> Self {
        use commands::services::webhooks::WebhooksError as E;
        match err {
            E::Url(refused) => Self::InvalidInput {
                message: refused.to_string(),
                details: Some(json!({ "field": "url", "reason": url_reason(&refused) })),
            },
            E::TooLarge(too_large) => too_large.into(),
            E::NoEventTypes | E::UnknownEventType(_) => Self::InvalidInput {
                message: err.to_string(),
                details: Some(json!({ "field": "eventTypes" })),
            },
            E::NotFound => Self::NotFound,
            E::StillQueued => Self::Conflict(err.to_string()),
            E::Database(_) => Self::internal(err),
        }
    }
}

/// The `details.reason` of a refused webhook URL.
fn url_reason(refused: &commands::webhooks::guard::GuardError) -> &'static str {
    use commands::webhooks::guard::GuardError as G;
    match refused {
        G::NotAUrl | G::Malformed(_) => "INVALID_URL",
        G::NotHttps => "HTTPS_REQUIRED",
        G::Forbidden { .. } => "PRIVATE_ADDRESS",
        G::Unresolvable { .. } => "UNRESOLVABLE",
    }
}

impl From<commands::services::usage::UsageError> for ApiError {
    fn from(err: commands::services::usage::UsageError) -> Self {
        use commands::services::usage::UsageError as E;
        match err {
            E::InvalidPeriod(message) => Self::invalid(message),
            E::Database(_) => Self::internal(err),
        }
    }
}

impl From<commands::services::scripts::ScriptsError> for ApiError {
    fn from(err: commands::services::scripts::ScriptsError) -> Self {
        use commands::services::scripts::ScriptsError as E;
        match err {
            E::Invalid { message, errors } => Self::InvalidInput {
                message,
                details: Some(json!(errors)),
            },
            E::GenerationFailed { reason } => Self::GenerationFailed { reason },
            E::NotFound => Self::NotFound,
            E::Conflict(message) => Self::Conflict(message),
            E::InvalidWriterOutput { .. } | E::Catalog(_) | E::Store(_) => Self::internal(err),
        }
    }
}

// ----- the campaign and call services' errors -------------------------------------------------

impl From<commands::services::preflight::PreflightError> for ApiError {
    fn from(err: commands::services::preflight::PreflightError) -> Self {
        use commands::services::preflight::PreflightError;
        let message = err.to_string();
        match err {
            PreflightError::CallerIdNotVerified { number } => {
                Self::caller_id_not_verified(message, number)
            }
            PreflightError::CreditsLow { message, shortfall } => Self::ProviderCreditsLow {
                message,
                details: serde_json::to_value(shortfall).unwrap_or_default(),
            },
            PreflightError::Unavailable { provider, message } => {
                Self::ProviderUnavailable { provider, message }
            }
        }
    }
}

impl From<domain::campaign::CampaignError> for ApiError {
    fn from(err: domain::campaign::CampaignError) -> Self {
        use domain::campaign::CampaignError;
        match err {
            CampaignError::NotFound => Self::NotFound,
            CampaignError::NoContacts => Self::NoContacts,
            CampaignError::InvalidState { state } => {
                Self::InvalidState(format!("not allowed while the campaign is {state}"))
            }
            CampaignError::InvalidName => Self::invalid("name: must be 1 to 200 characters"),
            CampaignError::InvalidSettings(e) => Self::invalid(format!("settings: {e}")),
            CampaignError::ScheduleInPast => Self::invalid("scheduledAt: must be in the future"),
            other => Self::internal(other),
        }
    }
}

impl From<commands::services::campaigns::CampaignServiceError> for ApiError {
    fn from(err: commands::services::campaigns::CampaignServiceError) -> Self {
        use commands::services::campaigns::CampaignServiceError as E;
        match err {
            E::NotFound => Self::NotFound,
            E::UnknownScript
            | E::SettingsNotObject
            | E::InvalidSettings(_)
            | E::InvalidLimit
            | E::InvalidVariables(_) => Self::invalid(err.to_string()),
            E::MissingVariables { missing } => Self::MissingVariables {
                message: format!(
                    "the script needs values the campaign does not have: {}",
                    missing
                        .iter()
                        .map(|m| m.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                details: json!({ "variables": missing }),
            },
            E::TooLarge(too_large) => too_large.into(),
            E::ControlCharacters { ref field } => {
                Self::control_characters(err.to_string(), &field.clone())
            }
            E::Import(import) => import.into(),
            E::NothingToImport { rejected } => Self::InvalidInput {
                message: "the file has no importable rows".into(),
                details: Some(json!({ "rejected": rejected })),
            },
            E::InvalidPhone { ref contacts } => Self::InvalidPhone {
                message: err.to_string(),
                details: json!({ "contacts": contacts }),
            },
            E::OverBudget => Self::InsufficientCredits(err.to_string()),
            E::Rejected(rule) => rule.into(),
            E::Preflight(preflight) => preflight.into(),
            other => Self::internal(other),
        }
    }
}

impl From<commands::services::calls::CallServiceError> for ApiError {
    fn from(err: commands::services::calls::CallServiceError) -> Self {
        use commands::services::calls::CallServiceError as E;
        match err {
            E::NotFound => Self::NotFound,
            E::InvalidPage => Self::invalid(err.to_string()),
            E::Campaign(campaign) => campaign.into(),
            other => Self::internal(other),
        }
    }
}
