//! `/api/v1/settings` (account defaults and budgets) and `/api/v1/suppressions` (do-not-call).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use commands::accounts::{AccountSettings, Suppression};
use commands::services::settings::SettingsService;
use commands::services::suppressions::{NewSuppression, SuppressionAdded, SuppressionService};
use openapi::{ErrorBody, Success, tags};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{SignedIn, UserPath};
use crate::error::{ApiError, ApiJson, Envelope, created, ok};
use crate::state::AppState;

/// Signed-in settings routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read_settings, write_settings))
        .routes(routes!(list_suppressions, add_suppression))
        .routes(routes!(remove_suppression))
}

impl AppState {
    /// The settings use cases; a new caller id is checked with the provider accounts.
    pub fn settings_service(&self) -> SettingsService {
        SettingsService::new(
            self.store.db().pool().clone(),
            self.clock.clone(),
            self.caller_ids.clone(),
        )
    }

    /// The do-not-call use cases.
    pub fn suppression_service(&self) -> SuppressionService {
        SuppressionService::new(self.store.db().pool().clone(), self.clock.clone())
    }
}

/// The account's settings.
#[utoipa::path(
    get, path = "/settings", tag = tags::SETTINGS,
    responses((status = 200, description = "Current settings (defaults until first written)", body = Success<AccountSettings>)),
)]
async fn read_settings(
    SignedIn(state, user): SignedIn,
) -> Result<Envelope<AccountSettings>, ApiError> {
    Ok(ok(state.settings_service().get(user.account_id).await?))
}

/// Replaces the account's settings (absent fields take their defaults).
#[utoipa::path(
    put, path = "/settings", tag = tags::SETTINGS,
    request_body = AccountSettings,
    responses(
        (status = 200, description = "The settings as saved", body = Success<AccountSettings>),
        (status = 400, description = "`INVALID_INPUT`: a field out of range or unknown, or a caller id that is neither a number of the Twilio account nor a verified caller id (`details.reason` = `CALLER_ID_NOT_VERIFIED`)", body = ErrorBody),
        (status = 503, description = "`PROVIDER_UNAVAILABLE`: Twilio could not be asked about a new caller id", body = ErrorBody),
    ),
)]
async fn write_settings(
    SignedIn(state, user): SignedIn,
    ApiJson(settings): ApiJson<AccountSettings>,
) -> Result<Envelope<AccountSettings>, ApiError> {
    let saved = state
        .settings_service()
        .update(user.account_id, settings)
        .await?;
    Ok(ok(saved))
}

/// The do-not-call list.
#[utoipa::path(
    get, path = "/suppressions", tag = tags::SETTINGS,
    responses((status = 200, description = "Listed numbers", body = Success<Vec<Suppression>>)),
)]
async fn list_suppressions(
    SignedIn(state, user): SignedIn,
) -> Result<Envelope<Vec<Suppression>>, ApiError> {
    Ok(ok(state
        .suppression_service()
        .list(user.account_id)
        .await?))
}

/// Adds a number to the do-not-call list.
#[utoipa::path(
    post, path = "/suppressions", tag = tags::SETTINGS,
    request_body = NewSuppression,
    responses(
        (status = 201, description = "Added", body = Success<SuppressionAdded>),
        (status = 200, description = "Already listed", body = Success<SuppressionAdded>),
        (status = 400, description = "`INVALID_PHONE`", body = ErrorBody),
    ),
)]
async fn add_suppression(
    SignedIn(state, user): SignedIn,
    ApiJson(body): ApiJson<NewSuppression>,
) -> Result<Response, ApiError> {
    let added = state
        .suppression_service()
        .add(user.account_id, body)
        .await?;
    Ok(if added.added {
        created(added).into_response()
    } else {
        ok(added).into_response()
    })
}

/// Removes a number from the do-not-call list.
#[utoipa::path(
    delete, path = "/suppressions/{phone}", tag = tags::SETTINGS,
    params(("phone" = String, Path, description = "The number, E.164 or domestic", example = "+821012345678")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "`INVALID_PHONE`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: the number is not listed", body = ErrorBody),
    ),
)]
async fn remove_suppression(
    State(state): State<AppState>,
    UserPath { user, id: input }: UserPath,
) -> Result<StatusCode, ApiError> {
    state
        .suppression_service()
        .remove(user.account_id, &input)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
