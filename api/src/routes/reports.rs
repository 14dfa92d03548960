//! `POST /api/v1/campaigns/{id}/report` (signed in, owner only): renders the campaign's report
//! from the call list (`format` `csv` | `pdf`, `includeTranscripts` default false,
//! `includeSummaries` default true) and answers the PRD shape: `reportId`, `downloadUrl` (signed,
//! valid 24 h) and `expiresAt`.
//!
//! `GET /api/v1/downloads/reports/{id}?exp=…&sig=…` (no Bearer): the file. A forged link is 404
//! `NOT_FOUND`, an expired one 410 `LINK_EXPIRED`.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use openapi::{ErrorBody, NotFound, Success, tags};
use projections::reports::query::campaign_report;
use projections::reports::{
    LINK_TTL_HOURS, ReportError, ReportFormat, ReportOptions, StoredReport,
};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::downloads::{self, Link, LinkQuery, LinkRefusals};
use crate::auth::UserPath;
use crate::error::{ApiError, ApiJson, ok, timestamp};
use crate::state::AppState;

/// Signed-in routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create))
}

/// The folder of report links under `/api/v1/downloads`.
const FOLDER: &str = "reports";

fn yes() -> bool {
    true
}

/// What report to render (the body of `POST /campaigns/{id}/report`, and the MCP tool's).
#[derive(Debug, Deserialize, ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({"format": "pdf", "includeTranscripts": false, "includeSummaries": true}))]
pub struct ReportRequest {
    /// `csv` or `pdf`.
    #[schema(example = "pdf")]
    pub format: String,
    /// Each call's transcript in the report (default false).
    #[serde(default)]
    pub include_transcripts: bool,
    /// Each call's summary in the report (default true).
    #[serde(default = "yes")]
    pub include_summaries: bool,
}

impl From<ReportError> for ApiError {
    fn from(error: ReportError) -> Self {
        match error {
            ReportError::FontMissing(path) | ReportError::FontUnreadable(path) => {
                ApiError::ReportFontMissing {
                    path: path.display().to_string(),
                }
            }
            other => ApiError::internal(other),
        }
    }
}

/// Renders the campaign's report now and answers a signed download link valid for 24 hours.
#[utoipa::path(
    post, path = "/campaigns/{id}/report", tag = tags::CAMPAIGNS, operation_id = "create_report",
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body = ReportRequest,
    responses(
        (status = 200, description = "The report is ready", body = Success<ReportLink>),
        (status = 400, description = "`INVALID_INPUT`: `format` is not csv or pdf", body = ErrorBody),
        NotFound,
        (status = 503, description = "`REPORT_FONT_MISSING`: the Korean font for PDFs is not installed", body = ErrorBody),
    ),
)]
#[tracing::instrument(skip_all, fields(campaign_id = %id))]
async fn create(
    State(state): State<AppState>,
    UserPath { user, id }: UserPath,
    ApiJson(body): ApiJson<ReportRequest>,
) -> Result<Response, ApiError> {
    Ok(ok(create_report(&state, user.account_id, &id, body).await?).into_response())
}

/// Renders the report of the owner's campaign `id`, stores it and answers its signed link
/// (`reportId`, `downloadUrl`, `expiresAt`): what the route and the MCP tool answer.
pub async fn create_report(
    state: &AppState,
    account_id: Uuid,
    id: &str,
    body: ReportRequest,
) -> Result<Value, ApiError> {
    let format_name = body.format.trim().to_ascii_lowercase();
    let format = ReportFormat::parse(&format_name).ok_or_else(|| {
        ApiError::invalid(format!(
            "format must be \"csv\" or \"pdf\", not {format_name:?}"
        ))
    })?;
    let campaign_id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let owner = account_id.to_string();
    let pool = state.store.db().pool();
    let now = state.clock.now();
    let options = ReportOptions {
        include_summaries: body.include_summaries,
        include_transcripts: body.include_transcripts,
    };
    let report = campaign_report(pool, &owner, id, now, options)
        .await?
        .ok_or(ApiError::NotFound)?;
    let rows = report.rows.len();
    let rendered = state.files.reports.render_blocking(report, format).await?;
    let report_id = Uuid::now_v7();
    let (link, expires_at) = state.files.signer.sign(
        &downloads::path(FOLDER, &report_id),
        now,
        chrono::Duration::hours(LINK_TTL_HOURS),
    );
    let stored = StoredReport {
        report_id: report_id.to_string(),
        owner_id: owner,
        campaign_id: campaign_id.to_string(),
        format,
        file_name: format!("{report_id}.{}", format.extension()),
        bytes: rendered.len() as i64,
        expires_at,
    };
    state
        .files
        .reports
        .save(pool, stored, rendered, now)
        .await?;
    tracing::info!(%report_id, rows, format = format.extension(), "report generated");
    Ok(json!({
        "reportId": report_id,
        "downloadUrl": state.files.absolute(&link),
        "expiresAt": timestamp(expires_at),
    }))
}

/// The report file behind a signed link from `POST /campaigns/{id}/report` (valid 24 hours);
/// needs no sign-in.
#[utoipa::path(
    get, path = "/downloads/reports/{id}", tag = tags::CAMPAIGNS, operation_id = "download_report",
    params(("id" = Uuid, Path, description = "Report id"), LinkQuery),
    responses(
        (status = 200, description = "The report (CSV in UTF-8 with BOM, or PDF)", content(
            (Vec<u8> = "text/csv"),
            (Vec<u8> = "application/pdf"),
        )),
        LinkRefusals,
    ),
)]
#[tracing::instrument(skip_all, fields(report_id = %link.id))]
pub(super) async fn download(
    State(state): State<AppState>,
    link: Link,
) -> Result<Response, ApiError> {
    link.verified(&state, FOLDER)?;
    let id = link.id;
    let pool = state.store.db().pool();
    let report = state
        .files
        .reports
        .find(pool, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if report.expires_at <= state.clock.now() {
        return Err(ApiError::LinkExpired);
    }
    let body = state
        .files
        .reports
        .read(&report)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(report.format.content_type()),
    );
    let disposition = format!(
        "attachment; filename=\"report-{}.{}\"",
        report.campaign_id,
        report.format.extension()
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

// ----- answers, for the document (the handler builds the same JSON; the contract run checks it) --

/// A generated report (PRD shape).
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct ReportLink {
    report_id: Uuid,
    /// Signed link; works without sign-in until `expiresAt`.
    download_url: String,
    #[schema(format = DateTime)]
    expires_at: String,
}
