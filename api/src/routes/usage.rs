//! `GET /api/v1/usage?from=YYYY-MM-DD&to=YYYY-MM-DD`: the signed-in account's costs by day
//! (Asia/Seoul), campaign and component, with its budget caps and alert threshold.

use commands::services::usage::{Usage, UsagePeriod, UsageService};
use openapi::{ErrorBody, Success, tags};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiQuery, Envelope, ok};
use crate::state::AppState;

/// Signed-in usage route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(usage))
}

/// Costs by day, campaign and provider, with the budget caps and the alert threshold.
#[utoipa::path(
    get, path = "/usage", tag = tags::SETTINGS,
    params(UsagePeriod),
    responses(
        (status = 200, description = "Costs in USD for the period", body = Success<Usage>),
        (status = 400, description = "`INVALID_INPUT`: a date that does not parse, `from` after `to`, a period over 366 days, or an unknown parameter", body = ErrorBody),
    ),
)]
async fn usage(
    SignedIn(state, user): SignedIn,
    ApiQuery(period): ApiQuery<UsagePeriod>,
) -> Result<Envelope<Usage>, ApiError> {
    let service = UsageService::new(state.store.db().pool().clone(), state.clock.clone());
    Ok(ok(service.report(user.account_id, period).await?))
}
