//! `GET /api/v1/campaigns/{id}/events`: the auditor's view of a campaign, paged by position.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use projections::campaign_list::CampaignList;
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::audit;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ok};

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// The audit route.
pub fn router() -> Router<AppState> {
    Router::new().route("/campaigns/{id}/events", get(events))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    /// Only events after this global position.
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

#[tracing::instrument(skip(state, user, page), fields(campaign_id = %id))]
async fn events(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Query(page): Query<Page>,
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
