//! A campaign's calls, and one call.

use axum::extract::State;
use commands::services::calls::{self as service, CallDetail, CallPage};
use openapi::{ErrorBody, NotFound, Success, tags};

use super::dto::CallsQuery;
use crate::auth::UserPath;
use crate::error::{ApiError, ApiQuery, Envelope, ok};
use crate::state::AppState;

/// The campaign's calls in dialing order, filtered and paged.
#[utoipa::path(
    get, path = "/campaigns/{id}/calls", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id"), CallsQuery),
    responses(
        (status = 200, description = "A page of calls", body = Success<CallPage>),
        (status = 400, description = "`INVALID_INPUT`: page or pageSize out of range", body = ErrorBody),
        NotFound,
    ),
)]
pub(super) async fn calls(
    State(state): State<AppState>,
    path: UserPath,
    ApiQuery(query): ApiQuery<CallsQuery>,
) -> Result<Envelope<CallPage>, ApiError> {
    let page = service::list(&state.services, path.campaign(), query.into()).await?;
    Ok(ok(page))
}

/// One call.
#[utoipa::path(
    get, path = "/calls/{id}", tag = tags::CALLS,
    params(("id" = Uuid, Path, description = "Call id")),
    responses(
        (status = 200, description = "The call, with its transcript, summary, cost breakdown and how the conversation ended", body = Success<CallDetail>),
        NotFound,
    ),
)]
pub(super) async fn call(
    State(state): State<AppState>,
    path: UserPath,
) -> Result<Envelope<CallDetail>, ApiError> {
    Ok(ok(service::detail(
        &state.services,
        path.user.account_id,
        &path.id,
    )
    .await?))
}
