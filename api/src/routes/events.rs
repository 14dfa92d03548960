//! `GET /api/v1/campaigns/{id}/events`: the auditor's view of a campaign, paged by position.

use axum::extract::State;
use commands::services::campaigns::{self, EventPage};
use openapi::{ErrorBody, NotFound, Success, tags};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::UserPath;
use crate::error::{ApiError, ApiQuery, Envelope, ok};
use crate::state::AppState;

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
        NotFound,
    ),
)]
#[tracing::instrument(skip_all, fields(campaign_id = %path.id))]
async fn events(
    State(state): State<AppState>,
    path: UserPath,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Envelope<EventPage>, ApiError> {
    let campaign = path.campaign();
    Ok(ok(campaigns::events(
        &state.services,
        campaign,
        page.after,
        page.limit,
    )
    .await?))
}
