//! `GET /api/v1/campaigns/{id}/events`: the auditor's view of a campaign, paged by position.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use openapi::{ErrorBody, Success, tags};
use projections::campaign_list::CampaignList;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiQuery, ok};
use crate::state::AppState;

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// The audit route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Page {
    /// Only events after this global position.
    #[serde(default)]
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Events per page (default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// The campaign's and its calls' events in global order, with who caused each (the audit trail).
#[utoipa::path(
    get, path = "/campaigns/{id}/events", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id"), Page),
    responses(
        (status = 200, description = "A page of events", body = Success<EventPage>),
        (status = 400, description = "`INVALID_INPUT`: `limit` out of range", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    ),
)]
#[tracing::instrument(skip(state, user, page), fields(campaign_id = %id))]
async fn events(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Response, ApiError> {
    let limit = page.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit: must be between 1 and {MAX_LIMIT}"
        )));
    }
    let after = page.after.unwrap_or(0).max(0);
    CampaignList::find(state.store.db().pool(), &user.account_id.to_string(), &id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let events = audit::campaign_events(&state.store, &id, after, limit)
        .await
        .map_err(ApiError::internal)?;
    let next_after = (events.len() as i64 == limit)
        .then(|| events.last().map(|e| e.position))
        .flatten();
    Ok(ok(json!({
        "events": events.iter().map(audit::entry_json).collect::<Vec<_>>(),
        "nextAfter": next_after,
    }))
    .into_response())
}

// ----- answers, for the document (the handlers build the same JSON; the contract run checks it) --

/// A page of the audit trail.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct EventPage {
    events: Vec<AuditEntry>,
    /// Pass as `after` for the next page; null on the last.
    next_after: Option<i64>,
}

/// One stored event with its metadata.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct AuditEntry {
    /// Global position: gap-free, the order of the whole history.
    position: i64,
    event_id: Uuid,
    #[schema(example = "Campaign")]
    aggregate_type: String,
    aggregate_id: String,
    /// Position within the aggregate.
    sequence: i64,
    #[serde(rename = "type")]
    #[schema(example = "CampaignStarted")]
    event_type: String,
    #[schema(example = "1.0")]
    version: String,
    /// A user id, or `system`, `twilio`, `elevenlabs`.
    actor: String,
    correlation_id: Option<String>,
    causation_id: Option<String>,
    #[schema(format = DateTime)]
    recorded_at: String,
    payload: Value,
}
