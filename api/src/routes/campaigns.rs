//! `/api/v1/campaigns`: create, list, read, add and import contacts, start (now or scheduled),
//! pause, resume, cancel, delete, and the call list with progress and ETA.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use commands::accounts::AccountSettings;
use commands::dialer::{ACCOUNT_CONCURRENCY, in_window, over_budget};
use commands::{CommandContext, CommandError, cqrs};
use domain::PhoneNumber;
use domain::call::{CallCommand, CancelReason};
use domain::campaign::{CampaignCommand, CampaignError, Contact};
use domain::policy::CampaignSettings;
use domain::script::Script;
use openapi::{ErrorBody, Success, tags};
use projections::call_list::{CallFilter, CallList, CallRow};
use projections::campaign_list::{CampaignList, CampaignSummary};
use projections::dialer_view::ReadModelView;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::contacts_import::{self, ImportLimits};
use crate::error::{ApiError, ApiJson, ApiQuery, created, ok, timestamp};
use crate::rate_limit::{self, RateLimiter};
use crate::state::AppState;

/// Countries whose numbers campaigns may call (PRD §10: Korea only for now).
const ALLOWED_REGIONS: &[&str] = &["KR"];
/// Average call length assumed for the ETA before any call has finished.
const DEFAULT_CALL_SECS: f64 = 60.0;

/// Signed-in campaign routes.
pub fn router(limiter: &Arc<RateLimiter>) -> OpenApiRouter<AppState> {
    let start_limit =
        middleware::from_fn_with_state((limiter.clone(), rate_limit::START), rate_limit::per_user);
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(read, delete))
        .routes(routes!(calls))
        .routes(routes!(add_contacts))
        .routes(routes!(import_contacts))
        .routes(routes!(start).map(|route| route.route_layer(start_limit)))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(cancel))
        .routes(routes!(call))
}

/// A person to call.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ContactInput {
    /// E.164 or a domestic Korean form (`010-1234-5678`); Korean numbers only.
    #[schema(example = "+821012345678")]
    phone_number: String,
    #[serde(default)]
    #[schema(example = "김철수")]
    name: Option<String>,
    /// Values for the script's variables, e.g. `appointmentTime`.
    #[serde(default)]
    #[schema(example = json!({ "appointmentTime": "2026-02-06T14:00:00+09:00" }))]
    context: Map<String, Value>,
}

/// A new campaign (PRD `POST /campaigns`, plus optional settings over the account's defaults).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({
    "name": "2월 5일 예약 확인",
    "scriptId": "0193a4c2-7b1e-7c3a-9f00-5b2d1e4c8a10",
    "contacts": [
        { "phoneNumber": "+821012345678", "name": "김철수",
          "context": { "appointmentTime": "2026-02-06T14:00:00+09:00" } },
        { "phoneNumber": "+821087654321", "name": "이영희",
          "context": { "appointmentTime": "2026-02-06T15:30:00+09:00" } }
    ]
}))]
struct CreateCampaign {
    /// 1 to 200 characters.
    name: String,
    /// A saved or draft script of this account.
    #[schema(format = Uuid)]
    script_id: String,
    #[serde(default)]
    contacts: Vec<ContactInput>,
    /// Overrides of the account's campaign defaults, merged key by key.
    #[serde(default)]
    #[schema(value_type = Option<CampaignSettings>)]
    settings: Option<Value>,
}

/// More people to call.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddContacts {
    contacts: Vec<ContactInput>,
}

/// When to start: now (no body, or no `scheduledAt`) or at a time.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StartCampaign {
    /// Start at this time instead of now (must be in the future).
    #[serde(default)]
    scheduled_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct CallsQuery {
    /// Only calls in this status (`PENDING`, `CALLING`, `IN_PROGRESS`, `COMPLETED`, `FAILED`,
    /// `NO_ANSWER`, `CANCELLED`).
    #[serde(default)]
    status: Option<String>,
    /// Only calls with this result (`SUCCESS`, `VOICEMAIL`, `DECLINED`, …).
    #[serde(default)]
    result: Option<String>,
    /// 1-based page (default 1).
    #[serde(default)]
    #[param(minimum = 1)]
    page: Option<i64>,
    /// Calls per page, 1 to 500 (default 50).
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    page_size: Option<i64>,
}

/// Turns contacts from a request into domain contacts, or the full list of what is wrong.
fn parse_contacts(inputs: Vec<ContactInput>) -> Result<Vec<Contact>, ApiError> {
    let mut contacts = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    for (index, input) in inputs.into_iter().enumerate() {
        match PhoneNumber::parse(&input.phone_number, ALLOWED_REGIONS) {
            Ok(phone) => contacts.push(Contact {
                call_id: Uuid::now_v7(),
                phone,
                name: input
                    .name
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty()),
                context: input.context,
            }),
            Err(err) => errors.push(json!({
                "index": index,
                "value": input.phone_number,
                "reason": err.to_string(),
            })),
        }
    }
    if errors.is_empty() {
        Ok(contacts)
    } else {
        Err(ApiError::InvalidPhone {
            message: format!("{} contact(s) have an invalid phone number", errors.len()),
            details: json!({ "contacts": errors }),
        })
    }
}

/// Deep-merges `overlay` into `base` (objects merge key by key; anything else replaces).
fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, overlay) => *base = overlay,
    }
}

fn campaign_error(err: CommandError<CampaignError>) -> ApiError {
    match err {
        CommandError::Rejected(CampaignError::NotFound) => ApiError::NotFound,
        CommandError::Rejected(CampaignError::NoContacts) => ApiError::NoContacts,
        CommandError::Rejected(CampaignError::InvalidState { state }) => {
            let state = serde_json::to_value(state).unwrap_or_default();
            ApiError::InvalidState(format!(
                "not allowed while the campaign is {}",
                state.as_str().unwrap_or("in this state")
            ))
        }
        CommandError::Rejected(CampaignError::InvalidName) => {
            ApiError::invalid("name: must be 1 to 200 characters")
        }
        CommandError::Rejected(CampaignError::InvalidSettings(e)) => {
            ApiError::invalid(format!("settings: {e}"))
        }
        CommandError::Rejected(CampaignError::ScheduleInPast) => {
            ApiError::invalid("scheduledAt: must be in the future")
        }
        other => ApiError::internal(other),
    }
}

impl AppState {
    async fn campaign_command(
        &self,
        user: &CurrentUser,
        id: Uuid,
        command: CampaignCommand,
    ) -> Result<(), ApiError> {
        let context = CommandContext::new(user.account_id.to_string());
        self.campaigns
            .execute(&id.to_string(), command, &context)
            .await
            .map_err(campaign_error)?;
        self.settle().await
    }

    /// Waits until the read models show everything committed so far (read-your-writes).
    pub(crate) async fn settle(&self) -> Result<(), ApiError> {
        let head = self.store.head().await.map_err(ApiError::internal)?;
        if crate::read_models::wait_for_projection(
            &self.store,
            &self.campaign_list,
            projections::campaign_list::CAMPAIGNS,
            head,
            Duration::from_secs(10),
        )
        .await
        {
            Ok(())
        } else {
            Err(ApiError::internal(
                "read models did not catch up within 10 s",
            ))
        }
    }

    async fn owned_campaign(
        &self,
        user: &CurrentUser,
        id: &str,
    ) -> Result<(Uuid, CampaignSummary), ApiError> {
        let uuid: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
        let summary = CampaignList::find(self.store.db().pool(), &user.account_id.to_string(), id)
            .await
            .map_err(ApiError::internal)?
            .ok_or(ApiError::NotFound)?;
        Ok((uuid, summary))
    }
}

/// Creates a campaign in `DRAFT` with its contacts; invalid numbers refuse the whole request.
#[utoipa::path(
    post, path = "/campaigns", tag = tags::CAMPAIGNS,
    request_body = CreateCampaign,
    responses(
        (status = 201, description = "Created", body = Success<CampaignCreated>),
        (status = 400, description = "`INVALID_INPUT` (name, scriptId, settings), `INVALID_PHONE` (each bad contact in `details.contacts`)", body = ErrorBody),
    ),
)]
async fn create(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiJson(body): ApiJson<CreateCampaign>,
) -> Result<Response, ApiError> {
    let script_id: Uuid = body
        .script_id
        .parse()
        .map_err(|_| ApiError::invalid("scriptId: no such script"))?;
    let script = cqrs::load::<Script>(&state.store, &body.script_id)
        .await
        .map_err(ApiError::internal)?
        .filter(|script| {
            script.owner_id() == user.account_id && script.version() > 0 && !script.is_deleted()
        });
    let Some(script) = script else {
        return Err(ApiError::invalid("scriptId: no such script"));
    };
    let pool = state.store.db().pool();
    let account = AccountSettings::load(pool, &user.account_id.to_string())
        .await
        .map_err(ApiError::internal)?;
    let mut settings =
        serde_json::to_value(&account.campaign_defaults).map_err(ApiError::internal)?;
    if account.caller_id.is_some() && settings.get("callerId").is_none_or(Value::is_null) {
        settings["callerId"] = json!(account.caller_id);
    }
    if let Some(overlay) = body.settings {
        if !overlay.is_object() {
            return Err(ApiError::invalid("settings: must be an object"));
        }
        merge(&mut settings, overlay);
    }
    let settings: CampaignSettings = serde_json::from_value(settings)
        .map_err(|e| ApiError::invalid(format!("settings: {e}")))?;
    let contacts = parse_contacts(body.contacts)?;
    let id = Uuid::now_v7();
    let now = state.clock.now();
    let command = CampaignCommand::CreateCampaign {
        owner_id: user.account_id,
        name: body.name.trim().to_owned(),
        script_id,
        script_version: script.version(),
        settings,
        contacts,
        at: now,
    };
    state.campaign_command(&user, id, command).await?;
    let (_, summary) = state.owned_campaign(&user, &id.to_string()).await?;
    let duplicates = duplicates_of(&state, id).await?;
    Ok(created(json!({
        "id": id,
        "name": summary.name,
        "status": summary.status,
        "totalCalls": summary.total_calls,
        "scriptVersion": script.version(),
        "duplicates": duplicates,
        "createdAt": summary.created_at,
    }))
    .into_response())
}

/// Numbers the campaign skipped as duplicates, each once, from its events.
async fn duplicates_of(state: &AppState, id: Uuid) -> Result<Vec<String>, ApiError> {
    let events = state
        .store
        .read_aggregate(&id.to_string())
        .await
        .map_err(ApiError::internal)?;
    Ok(events
        .iter()
        .filter_map(|e| {
            e.payload
                .get("ContactsAdded")?
                .get("duplicates")?
                .as_array()
                .cloned()
        })
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect())
}

/// The account's campaigns with their progress, newest first.
#[utoipa::path(
    get, path = "/campaigns", tag = tags::CAMPAIGNS,
    responses((status = 200, description = "Campaigns", body = Success<Vec<CampaignListItem>>)),
)]
async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, ApiError> {
    let campaigns = CampaignList::for_owner(state.store.db().pool(), &user.account_id.to_string())
        .await
        .map_err(ApiError::internal)?;
    let mut items = Vec::with_capacity(campaigns.len());
    for campaign in campaigns {
        let calls = CallList::for_campaign(state.store.db().pool(), &campaign.id)
            .await
            .map_err(ApiError::internal)?;
        items.push(json!({
            "id": campaign.id,
            "name": campaign.name,
            "status": campaign.status,
            "totalCalls": campaign.total_calls,
            "progress": progress(&calls),
            "createdAt": campaign.created_at,
            "startedAt": campaign.started_at,
            "completedAt": campaign.completed_at,
        }));
    }
    Ok(ok(items).into_response())
}

/// Counts per status and the success rate of answered calls.
fn progress(calls: &[CallRow]) -> Value {
    let count = |status: &str| calls.iter().filter(|c| c.status == status).count();
    let completed = count("COMPLETED");
    let success = calls
        .iter()
        .filter(|c| c.result.as_deref() == Some("SUCCESS") && c.status == "COMPLETED")
        .count();
    let finished = calls.iter().filter(|c| c.is_final()).count();
    json!({
        "total": calls.len(),
        "completed": completed,
        "inProgress": count("CALLING") + count("IN_PROGRESS"),
        "pending": count("PENDING"),
        "failed": count("FAILED"),
        "noAnswer": count("NO_ANSWER"),
        "cancelled": count("CANCELLED"),
        "finished": finished,
        "successRate": if finished == 0 { 0.0 } else { success as f64 / finished as f64 },
    })
}

/// When the remaining calls should be done: rounds of `concurrency` calls of the average length
/// so far, pushed back to the next window opening when outside it.
fn eta(
    summary: &CampaignSummary,
    settings: &CampaignSettings,
    calls: &[CallRow],
    now: DateTime<Utc>,
) -> Value {
    let remaining = calls.iter().filter(|c| !c.is_final()).count();
    if remaining == 0 || !matches!(summary.status.as_str(), "RUNNING" | "SCHEDULED" | "PAUSED") {
        return json!({ "remainingCalls": remaining, "etaSeconds": 0, "estimatedCompletionAt": null });
    }
    let durations: Vec<i64> = calls
        .iter()
        .filter(|c| c.status == "COMPLETED")
        .filter_map(|c| c.duration_secs)
        .collect();
    let average = if durations.is_empty() {
        DEFAULT_CALL_SECS
    } else {
        durations.iter().sum::<i64>() as f64 / durations.len() as f64
    };
    let concurrency = settings.max_concurrency.clamp(1, ACCOUNT_CONCURRENCY) as f64;
    let mut seconds = (remaining as f64 / concurrency).ceil() * average;
    let mut start = now;
    if !in_window(settings, now) {
        // Walk forward a minute at a time (at most two days) to the window's next opening.
        for minute in 1..=(48 * 60) {
            let candidate = now + chrono::Duration::minutes(minute);
            if in_window(settings, candidate) {
                start = candidate;
                break;
            }
        }
        seconds += (start - now).num_seconds() as f64;
    }
    json!({
        "remainingCalls": remaining,
        "etaSeconds": seconds.round() as i64,
        "estimatedCompletionAt": timestamp(now + chrono::Duration::seconds(seconds.round() as i64)),
    })
}

/// One campaign: progress, ETA and settings.
#[utoipa::path(
    get, path = "/campaigns/{id}", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign", body = Success<CampaignDetail>),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    ),
)]
async fn read(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (_, summary) = state.owned_campaign(&user, &id).await?;
    let settings: CampaignSettings = summary
        .settings
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(ApiError::internal)?
        .unwrap_or_default();
    let calls = CallList::for_campaign(state.store.db().pool(), &id)
        .await
        .map_err(ApiError::internal)?;
    let now = state.clock.now();
    Ok(ok(json!({
        "id": summary.id,
        "name": summary.name,
        "status": summary.status,
        "scriptId": summary.script_id,
        "totalCalls": summary.total_calls,
        "progress": progress(&calls),
        "eta": eta(&summary, &settings, &calls, now),
        "settings": settings,
        "pauseReason": summary.pause_reason,
        "createdAt": summary.created_at,
        "scheduledAt": summary.scheduled_at,
        "startedAt": summary.started_at,
        "completedAt": summary.completed_at,
        "cancelledAt": summary.cancelled_at,
    }))
    .into_response())
}

fn call_json(call: &CallRow) -> Value {
    json!({
        "id": call.id,
        "campaignId": call.campaign_id,
        "name": call.name,
        "phoneNumber": call.phone_number,
        "context": call.context,
        "status": call.status,
        "result": call.result,
        "statusReason": call.status_reason,
        "attempts": call.attempts,
        "nextAttemptAt": call.retry_at,
        "duration": call.duration_secs,
        "cost": call.cost_micros as f64 / 1_000_000.0,
        "updatedAt": call.updated_at,
    })
}

/// The campaign's calls in dialing order, filtered and paged.
#[utoipa::path(
    get, path = "/campaigns/{id}/calls", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id"), CallsQuery),
    responses(
        (status = 200, description = "A page of calls", body = Success<CallPage>),
        (status = 400, description = "`INVALID_INPUT`: page or pageSize out of range", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    ),
)]
async fn calls(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<CallsQuery>,
) -> Result<Response, ApiError> {
    state.owned_campaign(&user, &id).await?;
    let page = query.page.unwrap_or(1);
    let page_size = query.page_size.unwrap_or(50);
    if page < 1 || !(1..=500).contains(&page_size) {
        return Err(ApiError::invalid(
            "page must be ≥ 1 and pageSize between 1 and 500",
        ));
    }
    let upper = |v: Option<String>| v.map(|s| s.trim().to_uppercase()).filter(|s| !s.is_empty());
    let filter = CallFilter {
        status: upper(query.status),
        result: upper(query.result),
    };
    let (rows, total) = CallList::page(
        state.store.db().pool(),
        &id,
        &filter,
        page_size,
        (page - 1) * page_size,
    )
    .await
    .map_err(ApiError::internal)?;
    Ok(ok(json!({
        "items": rows.iter().map(call_json).collect::<Vec<_>>(),
        "page": page,
        "pageSize": page_size,
        "total": total,
    }))
    .into_response())
}

/// One call.
#[utoipa::path(
    get, path = "/calls/{id}", tag = tags::CALLS,
    params(("id" = Uuid, Path, description = "Call id")),
    responses(
        (status = 200, description = "The call, with its transcript, summary, cost breakdown and how the conversation ended", body = Success<CallDetail>),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    ),
)]
async fn call(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = CallList::find(state.store.db().pool(), &user.account_id.to_string(), &id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let mut body = call_json(&row);
    crate::results::add_detail(&mut body, &row);
    let end = CallList::conversation_end(state.store.db().pool(), &row.id)
        .await
        .map_err(ApiError::internal)?;
    body["conversationEnd"] = json!(end);
    Ok(ok(body).into_response())
}

async fn add(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
    contacts: Vec<Contact>,
) -> Result<Value, ApiError> {
    let before = duplicates_of(state, id).await?.len();
    let count = contacts.len();
    let command = CampaignCommand::AddContacts {
        contacts,
        at: state.clock.now(),
    };
    state.campaign_command(user, id, command).await?;
    let duplicates: Vec<String> = duplicates_of(state, id).await?.split_off(before);
    let (_, summary) = state.owned_campaign(user, &id.to_string()).await?;
    Ok(json!({
        "added": count - duplicates.len(),
        "duplicates": duplicates,
        "totalCalls": summary.total_calls,
    }))
}

/// Adds contacts (a number already in the campaign is skipped and reported once).
#[utoipa::path(
    post, path = "/campaigns/{id}/contacts", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body = AddContacts,
    responses(
        (status = 200, description = "Added", body = Success<ContactsAdded>),
        (status = 400, description = "`INVALID_PHONE` (each bad contact in `details.contacts`), `INVALID_STATE`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    ),
)]
async fn add_contacts(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AddContacts>,
) -> Result<Response, ApiError> {
    let (id, _) = state.owned_campaign(&user, &id).await?;
    let contacts = parse_contacts(body.contacts)?;
    Ok(ok(add(&state, &user, id, contacts).await?).into_response())
}

/// Imports contacts from a CSV file (UTF-8 with or without BOM, or CP949/EUC-KR as Excel saves
/// it; Korean or English headers), as the body or as the multipart part `file`.
#[utoipa::path(
    post, path = "/campaigns/{id}/contacts/import", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body(content(
        (String = "text/csv", example = "이름,전화번호,예약시간\n김철수,010-1234-5678,2026-02-06 14:00\n"),
        (CsvUpload = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Imported, with a report of every rejected row", body = Success<ContactsImported>),
        (status = 400, description = "`INVALID_INPUT` (no usable rows, wrong content type, unreadable file), `INVALID_STATE`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    ),
)]
async fn import_contacts(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let (id, _) = state.owned_campaign(&user, &id).await?;
    let limits = ImportLimits::default();
    let bytes = contacts_import::csv_body(request, &limits).await?;
    let parsed = contacts_import::parse_contacts_csv(&bytes, ALLOWED_REGIONS, &limits)?;
    if parsed.contacts.is_empty() {
        return Err(ApiError::InvalidInput {
            message: "the file has no importable rows".into(),
            details: Some(json!({ "rejected": parsed.rejected })),
        });
    }
    let contacts = parsed
        .contacts
        .into_iter()
        .map(|c| Contact {
            call_id: Uuid::now_v7(),
            phone: c.phone,
            name: c.name,
            context: c.context,
        })
        .collect();
    let mut report = add(&state, &user, id, contacts).await?;
    report["imported"] = report["added"].clone();
    report["rejected"] = json!(parsed.rejected);
    report["encoding"] = json!(parsed.encoding);
    Ok(ok(report).into_response())
}

/// Starts the campaign now or schedules it (5 a minute per user). Refused over budget.
#[utoipa::path(
    post, path = "/campaigns/{id}/start", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body(content = Option<StartCampaign>, description = "Optional; empty starts now"),
    responses(
        (status = 200, description = "Running or scheduled", body = Success<CampaignStarted>),
        (status = 400, description = "`INVALID_STATE` (already running or over), `NO_CONTACTS`, `INVALID_INPUT` (scheduledAt)", body = ErrorBody),
        (status = 402, description = "`INSUFFICIENT_CREDITS`: the daily or monthly budget is spent, or the Twilio balance or ElevenLabs quota is too low for the calls left (`details.provider`)", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
        (status = 503, description = "`PROVIDER_UNAVAILABLE`: Twilio or ElevenLabs could not be asked for the balance", body = ErrorBody),
    ),
)]
async fn start(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (id, summary) = state.owned_campaign(&user, &id).await?;
    // The body is optional: nothing or `null` (start now), or {"scheduledAt": …}.
    let body: StartCampaign = if body.iter().all(u8::is_ascii_whitespace) {
        StartCampaign::default()
    } else {
        serde_json::from_slice::<Option<StartCampaign>>(&body)
            .map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))?
            .unwrap_or_default()
    };
    let now = state.clock.now();
    let view = ReadModelView::new(state.store.clone(), state.campaign_list.clone());
    if over_budget(state.store.db().pool(), &view, user.account_id, now)
        .await
        .map_err(ApiError::internal)?
    {
        return Err(ApiError::InsufficientCredits(
            "the account has reached its daily or monthly budget".into(),
        ));
    }
    if let Some(preflight) = &state.preflight
        && summary.total_calls > 0
    {
        let calls = summary.total_calls - summary.finished_calls;
        preflight.check_credits(calls).await?;
    }
    let command = match body.scheduled_at {
        Some(start_at) => CampaignCommand::ScheduleCampaign { start_at, at: now },
        None => CampaignCommand::StartCampaign { at: now },
    };
    state.campaign_command(&user, id, command).await?;
    let (_, summary) = state.owned_campaign(&user, &id.to_string()).await?;
    Ok(ok(json!({
        "id": id,
        "status": summary.status,
        "startedAt": summary.started_at,
        "scheduledAt": summary.scheduled_at,
    }))
    .into_response())
}

async fn simple_transition(
    state: AppState,
    user: CurrentUser,
    id: String,
    command: impl FnOnce(DateTime<Utc>) -> CampaignCommand,
) -> Result<Response, ApiError> {
    let (id, _) = state.owned_campaign(&user, &id).await?;
    state
        .campaign_command(&user, id, command(state.clock.now()))
        .await?;
    let (_, summary) = state.owned_campaign(&user, &id.to_string()).await?;
    Ok(
        ok(json!({ "id": id, "status": summary.status, "pauseReason": summary.pause_reason }))
            .into_response(),
    )
}

/// Pauses a running campaign; calls in progress finish.
#[utoipa::path(
    post, path = "/campaigns/{id}/pause", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "Paused", body = Success<CampaignTransition>),
        (status = 400, description = "`INVALID_STATE`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    ),
)]
async fn pause(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    simple_transition(state, user, id, |at| CampaignCommand::PauseCampaign {
        reason: domain::campaign::PauseReason::User,
        at,
    })
    .await
}

/// Resumes a paused campaign.
#[utoipa::path(
    post, path = "/campaigns/{id}/resume", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "Running again", body = Success<CampaignTransition>),
        (status = 400, description = "`INVALID_STATE`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    ),
)]
async fn resume(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    simple_transition(state, user, id, |at| CampaignCommand::ResumeCampaign { at }).await
}

/// Cancels the campaign: calls in progress finish, waiting calls are cancelled.
#[utoipa::path(
    post, path = "/campaigns/{id}/cancel", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "Cancelled", body = Success<CampaignCancelled>),
        (status = 400, description = "`INVALID_STATE`: already over", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    ),
)]
async fn cancel(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (id, _) = state.owned_campaign(&user, &id).await?;
    let now = state.clock.now();
    state
        .campaign_command(&user, id, CampaignCommand::CancelCampaign { at: now })
        .await?;
    // Calls waiting for a retry are cancelled now rather than at the dialer's next round, so the
    // answer can count them; calls in progress finish.
    let context = CommandContext::new(user.account_id.to_string());
    let rows = CallList::for_campaign(state.store.db().pool(), &id.to_string())
        .await
        .map_err(ApiError::internal)?;
    for row in rows
        .iter()
        .filter(|r| r.status == "PENDING" && r.has_aggregate)
    {
        let command = CallCommand::CancelCall {
            reason: CancelReason::CampaignCancelled,
            at: now,
        };
        if let Err(err) = state.calls.execute(&row.id, command, &context).await {
            tracing::debug!(call = %row.id, error = %err, "call was no longer waiting");
        }
    }
    state.settle().await?;
    let rows = CallList::for_campaign(state.store.db().pool(), &id.to_string())
        .await
        .map_err(ApiError::internal)?;
    let cancelled = rows.iter().filter(|r| r.status == "CANCELLED").count();
    let completed = rows
        .iter()
        .filter(|r| r.is_final() && r.status != "CANCELLED")
        .count();
    Ok(ok(json!({
        "id": id,
        "status": "CANCELLED",
        "completedCalls": completed,
        "cancelledCalls": cancelled,
        "inProgressCalls": rows.iter().filter(|r| matches!(r.status.as_str(), "CALLING" | "IN_PROGRESS")).count(),
    }))
    .into_response())
}

/// Deletes a campaign in `DRAFT`, `COMPLETED` or `CANCELLED`; its contacts' data becomes
/// unreadable.
#[utoipa::path(
    delete, path = "/campaigns/{id}", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`INVALID_STATE`: running, paused or scheduled", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    ),
)]
async fn delete(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (id, _) = state.owned_campaign(&user, &id).await?;
    state
        .campaign_command(
            &user,
            id,
            CampaignCommand::DeleteCampaign {
                at: state.clock.now(),
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ----- answers, for the document (the handlers build the same JSON; the contract run checks it) --

/// A campaign's state.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum CampaignState {
    Draft,
    Scheduled,
    Running,
    Paused,
    Completed,
    Cancelled,
}

/// A call's state.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum CallState {
    Pending,
    Calling,
    InProgress,
    Completed,
    Failed,
    NoAnswer,
    Cancelled,
}

/// How a finished call ended.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum CallOutcome {
    Success,
    Voicemail,
    Declined,
    Rescheduled,
    CallbackRequested,
    OptedOut,
    Other,
}

/// A created campaign.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct CampaignCreated {
    id: Uuid,
    name: String,
    status: CampaignState,
    total_calls: i64,
    /// The script version the campaign speaks (later edits do not change it).
    script_version: u32,
    /// Numbers given more than once, each skipped after its first.
    duplicates: Vec<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

/// Counts of a campaign's calls.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Progress {
    total: u64,
    completed: u64,
    /// Calling or talking now.
    in_progress: u64,
    pending: u64,
    failed: u64,
    no_answer: u64,
    cancelled: u64,
    /// In a final status.
    finished: u64,
    /// Successful completed calls over finished calls (0 to 1).
    #[schema(minimum = 0.0, maximum = 1.0)]
    success_rate: f64,
}

/// A campaign in a list.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct CampaignListItem {
    id: Uuid,
    name: String,
    status: CampaignState,
    total_calls: i64,
    progress: Progress,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    started_at: Option<String>,
    #[schema(format = DateTime)]
    completed_at: Option<String>,
}

/// When the remaining calls should be done.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct Eta {
    remaining_calls: u64,
    eta_seconds: i64,
    /// Null when nothing remains or the campaign is not under way.
    #[schema(format = DateTime)]
    estimated_completion_at: Option<String>,
}

/// A campaign with its progress, ETA and settings.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct CampaignDetail {
    id: Uuid,
    name: String,
    status: CampaignState,
    script_id: Uuid,
    total_calls: i64,
    progress: Progress,
    eta: Eta,
    settings: CampaignSettings,
    /// Why it is paused (`USER`, `BUDGET_EXCEEDED`…), when it is.
    pause_reason: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    scheduled_at: Option<String>,
    #[schema(format = DateTime)]
    started_at: Option<String>,
    #[schema(format = DateTime)]
    completed_at: Option<String>,
    #[schema(format = DateTime)]
    cancelled_at: Option<String>,
}

/// One call of a campaign.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct CallItem {
    id: Uuid,
    campaign_id: Uuid,
    name: Option<String>,
    /// E.164.
    #[schema(example = "+821012345678")]
    phone_number: String,
    /// The contact's values for the script's variables.
    context: Value,
    status: CallState,
    result: Option<CallOutcome>,
    /// Why it failed, was cancelled or waits.
    status_reason: Option<String>,
    attempts: i64,
    /// When the next attempt is due, while waiting for a retry.
    #[schema(format = DateTime)]
    next_attempt_at: Option<String>,
    /// Talk time in seconds.
    duration: Option<i64>,
    /// Provider cost in US dollars.
    cost: f64,
    #[schema(format = DateTime)]
    updated_at: String,
}

/// One call in full.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct CallDetail {
    #[serde(flatten)]
    call: CallItem,
    /// The latest attempt's conversation (the provider's transcript once reconciled).
    transcript: Option<Vec<TranscriptTurn>>,
    /// `BRIDGE` or `PROVIDER`.
    transcript_source: Option<String>,
    /// The voice agent's conversation id.
    conversation_id: Option<String>,
    /// The summary, in Korean.
    summary: Option<String>,
    /// The outcome the summary reads (never replaces `result`).
    suggested_result: Option<String>,
    follow_up_needed: Option<bool>,
    /// `LLM` or `OFFLINE`.
    summary_source: Option<String>,
    cost_breakdown: CostBreakdown,
    /// How the conversation with the agent ended, once the bridge said so.
    conversation_end: Option<ConversationEndDoc>,
}

/// One turn of a transcript.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct TranscriptTurn {
    /// `agent` or `user`.
    role: String,
    text: String,
    time_in_call_secs: Option<u32>,
}

/// The call's cost by provider, in USD.
#[derive(ToSchema)]
#[allow(dead_code)]
struct CostBreakdown {
    telephony: f64,
    voice: f64,
    llm: f64,
    total: f64,
    #[schema(example = "USD")]
    currency: String,
}

/// Why the conversation ended.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
#[schema(as = ConversationEnd)]
struct ConversationEndDoc {
    #[schema(example = "AGENT_CLOSED")]
    reason: String,
    /// The agent socket's close code.
    close_code: Option<i64>,
    detail: Option<String>,
}

/// A page of calls.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct CallPage {
    items: Vec<CallItem>,
    page: i64,
    page_size: i64,
    /// Calls matching the filter.
    total: i64,
}

/// What adding contacts did.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct ContactsAdded {
    added: u64,
    /// Numbers already in the campaign (or repeated), skipped.
    duplicates: Vec<String>,
    total_calls: i64,
}

/// What a CSV import did.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct ContactsImported {
    added: u64,
    /// Same as `added`.
    imported: u64,
    duplicates: Vec<String>,
    total_calls: i64,
    /// Each row not imported, with its row number, value and reason.
    rejected: Vec<Value>,
    /// How the file was read: `utf-8`, `utf-8-bom`, `cp949`…
    encoding: String,
}

/// A CSV upload as a form.
#[derive(ToSchema)]
#[allow(dead_code)]
struct CsvUpload {
    /// The CSV file.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A started or scheduled campaign.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct CampaignStarted {
    id: Uuid,
    status: CampaignState,
    #[schema(format = DateTime)]
    started_at: Option<String>,
    #[schema(format = DateTime)]
    scheduled_at: Option<String>,
}

/// A campaign after pause or resume.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct CampaignTransition {
    id: Uuid,
    status: CampaignState,
    pause_reason: Option<String>,
}

/// A cancelled campaign.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct CampaignCancelled {
    id: Uuid,
    status: CampaignState,
    /// Calls that had finished (any final status but cancelled).
    completed_calls: u64,
    cancelled_calls: u64,
    /// Calls still talking; they finish.
    in_progress_calls: u64,
}
