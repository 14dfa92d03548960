//! The frame of the OpenAPI document: info, tags, security schemes, the response envelope and the
//! error codes, and the rules every operation of a group shares.
//!
//! Operations are described where they are served: each route module of `api` annotates its
//! handlers with `#[utoipa::path]` and registers them on a `utoipa_axum` `OpenApiRouter`.
//! `api::routes` assembles those routers into [`base`], applies [`signed_in`] /
//! [`rate_limited`] to their groups and [`finish`] to the whole, serves the result at
//! `/openapi.json` (Swagger UI at `/docs`) and prints it with `callbot openapi`. The copy in
//! `openapi/openapi.json` is kept current by a test that compares it with the generated one
//! ([`compare_with_committed`]).
//!
//! This crate knows nothing of `api` (which depends on it), so the document has one source.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Response,
    ResponseBuilder, ServerBuilder,
};
use utoipa::{IntoResponses, PartialSchema, ToSchema};

/// Where the committed document lives, relative to the workspace root.
pub const COMMITTED_PATH: &str = "openapi/openapi.json";

/// The one command that rewrites the committed document (run from the workspace root).
pub const REGENERATE: &str = "cargo run -p callbot -- openapi > openapi/openapi.json";

/// The security scheme of API clients: `Authorization: Bearer <accessToken>`.
pub const BEARER: &str = "bearer";
/// The security scheme of browsers: the HttpOnly cookie set at login.
pub const SESSION_COOKIE: &str = "session_cookie";
/// The cookie's name (the `api` crate's `auth::COOKIE` is the same; a test checks it).
pub const SESSION_COOKIE_NAME: &str = "callbot_session";

/// Tag names, one per resource module.
pub mod tags {
    pub const AUTH: &str = "auth";
    pub const SCRIPTS: &str = "scripts";
    pub const CAMPAIGNS: &str = "campaigns";
    pub const CALLS: &str = "calls";
    pub const SETTINGS: &str = "settings";
    pub const WEBHOOKS: &str = "webhooks";
    pub const TWILIO: &str = "twilio";
    pub const OPS: &str = "ops";
}

// ----- envelope ------------------------------------------------------------------------------

/// The success envelope: `{"success":true,"data":…,"meta":{"timestamp":…}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Success<T> {
    /// Always `true`.
    pub success: bool,
    pub data: T,
    pub meta: Meta,
}

/// What every successful answer carries besides its data.
#[derive(Debug, Serialize, ToSchema)]
pub struct Meta {
    /// When the answer was made, RFC 3339 UTC with milliseconds.
    #[schema(format = DateTime, example = "2026-02-05T09:00:00.000Z")]
    pub timestamp: String,
}

/// The error envelope: `{"success":false,"error":{"code":…,"message":…,"details":…}}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "success": false,
    "error": { "code": "INVALID_INPUT", "message": "Natural input too short",
               "details": [{ "field": "naturalInput", "message": "needs at least 10 characters (has 4)" }] }
}))]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// A sentence for people; never matched on.
    pub message: String,
    /// Machine-readable particulars (the fields at fault, when a lock lifts, how long to wait…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// The stable error codes clients match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    InvalidInput,
    WeakPassword,
    InvalidPhone,
    Unauthorized,
    AccountLocked,
    NotFound,
    InvalidState,
    NoContacts,
    Conflict,
    InsufficientCredits,
    RateLimited,
    PayloadTooLarge,
    GenerationFailed,
    Internal,
    /// A provider we must ask first (Twilio, ElevenLabs) cannot be reached.
    ProviderUnavailable,
    /// An authentic signed download link past its expiry (410).
    LinkExpired,
    /// A `Range` outside the file (416).
    RangeNotSatisfiable,
    /// A stored recording does not decrypt with the configured key.
    RecordingUnreadable,
    /// The font file `REPORT_FONT_PATH` names is not there.
    ReportFontMissing,
    /// The script needs values some contacts have from no source (`details.variables`).
    MissingVariables,
}

impl ErrorCode {
    /// Every code, in the order of the SPEC.
    pub const ALL: [ErrorCode; 20] = [
        Self::InvalidInput,
        Self::WeakPassword,
        Self::InvalidPhone,
        Self::Unauthorized,
        Self::AccountLocked,
        Self::NotFound,
        Self::InvalidState,
        Self::NoContacts,
        Self::Conflict,
        Self::InsufficientCredits,
        Self::RateLimited,
        Self::PayloadTooLarge,
        Self::GenerationFailed,
        Self::Internal,
        Self::ProviderUnavailable,
        Self::LinkExpired,
        Self::RangeNotSatisfiable,
        Self::RecordingUnreadable,
        Self::ReportFontMissing,
        Self::MissingVariables,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "INVALID_INPUT",
            Self::WeakPassword => "WEAK_PASSWORD",
            Self::InvalidPhone => "INVALID_PHONE",
            Self::MissingVariables => "MISSING_VARIABLES",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::AccountLocked => "ACCOUNT_LOCKED",
            Self::NotFound => "NOT_FOUND",
            Self::InvalidState => "INVALID_STATE",
            Self::NoContacts => "NO_CONTACTS",
            Self::Conflict => "CONFLICT",
            Self::InsufficientCredits => "INSUFFICIENT_CREDITS",
            Self::RateLimited => "RATE_LIMITED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::GenerationFailed => "GENERATION_FAILED",
            Self::Internal => "INTERNAL",
            Self::ProviderUnavailable => "PROVIDER_UNAVAILABLE",
            Self::LinkExpired => "LINK_EXPIRED",
            Self::RangeNotSatisfiable => "RANGE_NOT_SATISFIABLE",
            Self::RecordingUnreadable => "RECORDING_UNREADABLE",
            Self::ReportFontMissing => "REPORT_FONT_MISSING",
        }
    }
}

// ----- answers many operations share ----------------------------------------------------------

/// 404 `NOT_FOUND` with nothing to add: the resource of the path is not the caller's, or does
/// not exist (`responses(…, NotFound)`).
#[derive(IntoResponses)]
#[response(status = 404, description = "`NOT_FOUND`")]
pub struct NotFound(pub ErrorBody);

/// 204 with no body, for a `DELETE` that removed what it names (`responses(Deleted, …)`).
#[derive(IntoResponses)]
#[response(status = 204, description = "Deleted")]
pub struct Deleted;

// ----- the frame -----------------------------------------------------------------------------

/// The document before any operation is added: info, tags, security schemes and the shared
/// schemas.
pub fn base() -> OpenApi {
    let info = InfoBuilder::new()
        .title("Auto CallBot API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(DESCRIPTION))
        .build();
    let tag = |name: &str, description: &str| {
        TagBuilder::new()
            .name(name)
            .description(Some(description))
            .build()
    };
    let mut api = OpenApiBuilder::new()
        .info(info)
        .servers(Some([ServerBuilder::new()
            .url("/")
            .description(Some("this server"))
            .build()]))
        .tags(Some([
            tag(tags::AUTH, "Accounts and sessions"),
            tag(
                tags::SCRIPTS,
                "Call scripts written from natural language, then saved and edited",
            ),
            tag(
                tags::CAMPAIGNS,
                "Campaigns: contacts, start/pause/resume/cancel, the live status stream, the audit trail",
            ),
            tag(tags::CALLS, "Individual calls"),
            tag(
                tags::SETTINGS,
                "Account defaults, budgets and the do-not-call list",
            ),
            tag(
                tags::WEBHOOKS,
                "Outbound webhooks: signed deliveries of call, campaign, recording and budget events, \
                 retried with backoff, with a delivery log and a dead-letter list",
            ),
            tag(
                tags::TWILIO,
                "Webhooks Twilio calls (no JWT; every request must carry a valid `X-Twilio-Signature`) \
                 and the Media Streams WebSocket",
            ),
            tag(tags::OPS, "Health, readiness and metrics"),
        ]))
        .build();
    let components = api.components.get_or_insert_with(Default::default);
    components.security_schemes.insert(
        BEARER.to_owned(),
        RefOr::T(SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "The `accessToken` from `POST /api/v1/auth/login`, as `Authorization: Bearer …`",
                ))
                .build(),
        )),
    );
    components.security_schemes.insert(
        SESSION_COOKIE.to_owned(),
        RefOr::T(SecurityScheme::ApiKey(ApiKey::Cookie(
            ApiKeyValue::with_description(
                SESSION_COOKIE_NAME,
                "The HttpOnly session cookie login sets, for browsers (the status stream uses it)",
            ),
        ))),
    );
    for (name, schema) in [
        ("ErrorBody", ErrorBody::schema()),
        ("ErrorDetail", ErrorDetail::schema()),
        ("ErrorCode", ErrorCode::schema()),
        ("Meta", Meta::schema()),
    ] {
        components.schemas.insert(name.to_owned(), schema);
    }
    api
}

const DESCRIPTION: &str = "AI phone-call campaigns for small businesses: scripts written from natural \
language, campaigns dialed through Twilio and held by an ElevenLabs voice agent, live status over \
Server-Sent Events.\n\n\
Every `/api/v1` answer is wrapped: success `{\"success\":true,\"data\":…,\"meta\":{\"timestamp\":…}}`, \
failure `{\"success\":false,\"error\":{\"code\":…,\"message\":…,\"details\":…}}` with one of the codes of \
the `ErrorCode` schema. Another user's resource is `404 NOT_FOUND`, never 403. Unknown JSON fields are \
refused with `400 INVALID_INPUT` naming them; bodies over 1 MiB are `413 PAYLOAD_TOO_LARGE`.\n\n\
Sign in with `POST /api/v1/auth/login`; send the `accessToken` as `Authorization: Bearer …` (or let a \
browser use the session cookie). Rate limits per user: every request 100/min, `scripts/generate` \
10/min, `campaigns/{id}/start` 5/min; register and login 30/min per client IP. Over a limit: \
`429 RATE_LIMITED` with `Retry-After` (seconds).";

// ----- group rules ---------------------------------------------------------------------------

/// Marks every operation of `api` as needing a signed-in user (Bearer token or session cookie)
/// and adds what the sign-in and whole-API rate-limit layers can answer: 401 and 429.
pub fn signed_in(api: &mut OpenApi) {
    for operation in operations(api) {
        let requirement = |name: &str| {
            utoipa::openapi::security::SecurityRequirement::new(name, Vec::<String>::new())
        };
        operation.security = Some(vec![requirement(BEARER), requirement(SESSION_COOKIE)]);
        add_response(
            operation,
            "401",
            error_ref(
                "`UNAUTHORIZED`: no token, or one that is invalid, expired or of an ended session",
            ),
        );
        add_response(operation, "429", rate_limited_response());
    }
}

/// Adds 429 to every operation of a group behind a rate limit that needs no sign-in.
pub fn rate_limited(api: &mut OpenApi) {
    for operation in operations(api) {
        add_response(operation, "429", rate_limited_response());
    }
}

/// What every `/api/v1` operation shares, applied to the assembled document: a JSON body can be
/// malformed (400 `INVALID_INPUT`) or too large (413), and anything unexpected is 500
/// `INTERNAL`. Also makes operation ids unique: `<tag>_<handler>` (`campaigns_start`), or
/// `<method><Path>` for an operation without a tag.
pub fn finish(api: &mut OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        let enveloped = path.starts_with("/api/");
        for (method, operation) in item_operations(item) {
            let tag = operation
                .tags
                .as_ref()
                .and_then(|tags| tags.first())
                .cloned();
            operation.operation_id = Some(match (tag, operation.operation_id.take()) {
                (Some(tag), Some(id)) if !id.starts_with(&format!("{tag}_")) => {
                    format!("{tag}_{id}")
                }
                (_, Some(id)) => id,
                (_, None) => format!("{method}{}", camel_path(path)),
            });
            if !enveloped {
                continue;
            }
            let json_body = matches!(
                &operation.request_body,
                Some(RefOr::T(body)) if body.content.contains_key("application/json")
            );
            if json_body {
                add_response(
                    operation,
                    "400",
                    error_ref("`INVALID_INPUT`: the body is not valid JSON of this shape"),
                );
            }
            if operation.request_body.is_some() {
                add_response(
                    operation,
                    "413",
                    error_ref("`PAYLOAD_TOO_LARGE`: the body is over the limit"),
                );
            }
            add_response(
                operation,
                "500",
                error_ref("`INTERNAL`: something failed on our side; it has been logged"),
            );
        }
    }
}

/// The document as committed and served: pretty JSON with a final newline.
pub fn to_json(api: &OpenApi) -> String {
    let mut text = api
        .to_pretty_json()
        .expect("an OpenAPI document serializes");
    text.push('\n');
    text
}

/// Compares a freshly generated document with the committed one; on a difference, says which
/// line differs first and how to regenerate.
pub fn compare_with_committed(generated: &str, committed: Option<&str>) -> Result<(), String> {
    let Some(committed) = committed else {
        return Err(format!(
            "{COMMITTED_PATH} is missing. Generate it with:\n\n    {REGENERATE}\n"
        ));
    };
    if generated == committed {
        return Ok(());
    }
    let first = generated
        .lines()
        .zip(committed.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| generated.lines().count().min(committed.lines().count()));
    let line = |text: &str| {
        text.lines()
            .nth(first)
            .unwrap_or("<end of file>")
            .to_owned()
    };
    Err(format!(
        "{COMMITTED_PATH} is stale: it differs from the document the code generates, first at \
         line {}:\n  committed: {}\n  generated: {}\n\nRegenerate it with:\n\n    {REGENERATE}\n",
        first + 1,
        line(committed),
        line(generated),
    ))
}

// ----- helpers -------------------------------------------------------------------------------

fn error_ref(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

fn rate_limited_response() -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description("`RATE_LIMITED`: too many requests; wait `Retry-After` seconds")
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(u64::schema()))
                    .description(Some("Seconds until a request will be accepted again"))
                    .build(),
            )
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .example(Some(serde_json::json!({
                        "success": false,
                        "error": {
                            "code": "RATE_LIMITED",
                            "message": "too many requests",
                            "details": { "retryAfterSeconds": 12 }
                        }
                    })))
                    .build(),
            )
            .build(),
    )
}

/// Adds a response unless the operation already documents that status itself.
fn add_response(operation: &mut Operation, status: &str, response: RefOr<Response>) {
    let responses: &mut BTreeMap<String, RefOr<Response>> = &mut operation.responses.responses;
    responses.entry(status.to_owned()).or_insert(response);
}

fn operations(api: &mut OpenApi) -> Vec<&mut Operation> {
    api.paths
        .paths
        .values_mut()
        .flat_map(|item| item_operations(item).into_iter().map(|(_, op)| op))
        .collect()
}

fn item_operations(
    item: &mut utoipa::openapi::path::PathItem,
) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("patch", item.patch.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|op| (method, op)))
    .collect()
}

/// `/api/v1/campaigns/{id}/start` → `ApiV1CampaignsIdStart`.
fn camel_path(path: &str) -> String {
    path.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_is_in_the_schema_and_spelled_as_on_the_wire() {
        let schema = serde_json::to_value(ErrorCode::schema()).unwrap();
        let listed: Vec<&str> = schema["enum"]
            .as_array()
            .expect("an enum schema")
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, all);
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn a_stale_document_names_the_first_difference_and_the_command() {
        let err = compare_with_committed("a\nb\nc\n", Some("a\nx\nc\n")).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(
            err.contains("committed: x") && err.contains("generated: b"),
            "{err}"
        );
        assert!(err.contains(REGENERATE), "{err}");
        let missing = compare_with_committed("a\n", None).unwrap_err();
        assert!(missing.contains(REGENERATE), "{missing}");
        assert_eq!(compare_with_committed("a\n", Some("a\n")), Ok(()));
    }

    #[test]
    fn signed_in_operations_get_both_schemes_and_the_auth_and_limit_answers() {
        let mut api = base();
        let operation = utoipa::openapi::path::OperationBuilder::new()
            .response("200", ResponseBuilder::new().description("ok").build())
            .build();
        api.paths.add_path_operation(
            "/api/v1/me",
            vec![utoipa::openapi::HttpMethod::Get],
            operation,
        );
        signed_in(&mut api);
        finish(&mut api);
        let doc = serde_json::to_value(&api).unwrap();
        let op = &doc["paths"]["/api/v1/me"]["get"];
        assert_eq!(op["operationId"], "getApiV1Me");
        assert_eq!(
            op["security"],
            serde_json::json!([{ "bearer": [] }, { "session_cookie": [] }])
        );
        for status in ["200", "401", "429", "500"] {
            assert!(op["responses"][status].is_object(), "missing {status}");
        }
        assert!(op["responses"]["429"]["headers"]["Retry-After"].is_object());
        assert!(op["responses"].get("413").is_none(), "no body, no 413");
    }
}
