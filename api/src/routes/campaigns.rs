//! `/api/v1/campaigns`: create, list, read, add and import contacts, start (now or scheduled),
//! pause, resume, cancel, delete, and the call list with progress and ETA.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use commands::accounts::AccountSettings;
use commands::dialer::{ACCOUNT_CONCURRENCY, in_window, over_budget};
use commands::{CommandContext, CommandError, cqrs};
use domain::PhoneNumber;
use domain::call::{CallCommand, CancelReason};
use domain::campaign::{CampaignCommand, CampaignError, Contact};
use domain::policy::CampaignSettings;
use domain::script::Script;
use projections::call_list::{CallFilter, CallList, CallRow};
use projections::campaign_list::{CampaignList, CampaignSummary};
use projections::dialer_view::ReadModelView;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::contacts_import::{self, ImportLimits};
use crate::error::{ApiError, ApiJson, created, ok, timestamp};
use crate::rate_limit;

/// Countries whose numbers campaigns may call (PRD §10: Korea only for now).
const ALLOWED_REGIONS: &[&str] = &["KR"];
/// Average call length assumed for the ETA before any call has finished.
const DEFAULT_CALL_SECS: f64 = 60.0;

/// Signed-in campaign routes.
pub fn router(state: &AppState) -> Router<AppState> {
    let start_limit = middleware::from_fn_with_state(
        (state.limiter.clone(), rate_limit::START),
        rate_limit::per_user,
    );
    Router::new()
        .route("/campaigns", post(create).get(list))
        .route("/campaigns/{id}", get(read).delete(delete))
        .route("/campaigns/{id}/calls", get(calls))
        .route("/campaigns/{id}/contacts", post(add_contacts))
        .route("/campaigns/{id}/contacts/import", post(import_contacts))
        .route(
            "/campaigns/{id}/start",
            post(start).route_layer(start_limit),
        )
        .route("/campaigns/{id}/pause", post(pause))
        .route("/campaigns/{id}/resume", post(resume))
        .route("/campaigns/{id}/cancel", post(cancel))
        .route("/calls/{id}", get(call))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ContactInput {
    phone_number: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    context: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateCampaign {
    name: String,
    script_id: String,
    #[serde(default)]
    contacts: Vec<ContactInput>,
    #[serde(default)]
    settings: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddContacts {
    contacts: Vec<ContactInput>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StartCampaign {
    #[serde(default)]
    scheduled_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CallsQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    page: Option<i64>,
    #[serde(default)]
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

async fn calls(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Query(query): Query<CallsQuery>,
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

async fn start(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (id, summary) = state.owned_campaign(&user, &id).await?;
    // The body is optional: nothing (start now) or {"scheduledAt": …}.
    let body: StartCampaign = if body.iter().all(u8::is_ascii_whitespace) {
        StartCampaign::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))?
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

async fn resume(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    simple_transition(state, user, id, |at| CampaignCommand::ResumeCampaign { at }).await
}

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
