//! `GET /api/v1/usage?from=YYYY-MM-DD&to=YYYY-MM-DD`: the signed-in account's costs by day
//! (Asia/Seoul), campaign and component, with its budget caps and alert threshold.

use commands::services::usage::{Usage, UsagePeriod, UsageService};
use openapi::{ErrorBody, Success, tags};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiQuery, Envelope, ok};
use crate::state::AppState;

/// Signed-in usage route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(usage))
}

/// The days to report, in Korean time.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Period {
    /// First day, `YYYY-MM-DD` (default: the first of this month).
    #[param(example = "2026-11-01")]
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today); at most 366 days after `from`.
    #[param(example = "2026-11-30")]
    to: Option<String>,
}

impl From<Period> for UsagePeriod {
    fn from(period: Period) -> Self {
        Self {
            from: period.from,
            to: period.to,
        }
    }
}

/// Costs by day, campaign and provider, with the budget caps and the alert threshold.
#[utoipa::path(
    get, path = "/usage", tag = tags::SETTINGS,
    params(Period),
    responses(
        (status = 200, description = "Costs in USD for the period", body = Success<Usage>),
        (status = 400, description = "`INVALID_INPUT`: a date that does not parse, `from` after `to`, a period over 366 days, or an unknown parameter", body = ErrorBody),
    ),
)]
async fn usage(
    SignedIn(state, user): SignedIn,
    ApiQuery(period): ApiQuery<Period>,
) -> Result<Envelope<Usage>, ApiError> {
    let service = UsageService::new(state.store.db().pool().clone(), state.clock.clone());
    Ok(ok(service.report(user.account_id, period.into()).await?))
}
