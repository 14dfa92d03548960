//! `/api/v1/settings` (account defaults and budgets) and `/api/v1/suppressions` (do-not-call).

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use commands::accounts::{AccountSettings, Suppression, Suppressions};
use domain::PhoneNumber;
use openapi::{ErrorBody, Success, tags};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiJson, created, ok};
use crate::state::AppState;

/// Signed-in settings routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read_settings, write_settings))
        .routes(routes!(list_suppressions, add_suppression))
        .routes(routes!(remove_suppression))
}

/// The account's settings.
#[utoipa::path(
    get, path = "/settings", tag = tags::SETTINGS,
    responses((status = 200, description = "Current settings (defaults until first written)", body = Success<AccountSettings>)),
)]
async fn read_settings(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, ApiError> {
    let settings = AccountSettings::load(state.store.db().pool(), &user.account_id.to_string())
        .await
        .map_err(ApiError::internal)?;
    Ok(ok(settings).into_response())
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
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiJson(mut settings): ApiJson<AccountSettings>,
) -> Result<Response, ApiError> {
    settings
        .validate()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    // Stored (and asked of Twilio) in E.164, however it was typed.
    settings.caller_id = settings.caller_id.map(|id| {
        PhoneNumber::parse(&id, &["KR", "US"]).map_or(id, |number| number.as_str().to_owned())
    });
    let pool = state.store.db().pool();
    let account = user.account_id.to_string();
    if let (Some(caller_id), Some(preflight)) = (&settings.caller_id, &state.preflight) {
        let current = AccountSettings::load(pool, &account)
            .await
            .map_err(ApiError::internal)?;
        // Only a new caller id is checked, so budgets can change while Twilio is away.
        if current.caller_id.as_deref() != Some(caller_id.as_str()) {
            preflight.check_caller_id(caller_id).await?;
        }
    }
    settings
        .save(
            state.store.db().pool(),
            &user.account_id.to_string(),
            state.clock.now(),
        )
        .await
        .map_err(ApiError::internal)?;
    Ok(ok(settings).into_response())
}

/// A number never to call.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({ "phoneNumber": "010-1234-5678", "reason": "asked not to be called" }))]
struct NewSuppression {
    /// E.164 or a domestic Korean form.
    phone_number: String,
    /// Why (at most 200 characters are kept).
    #[serde(default)]
    reason: Option<String>,
}

/// The do-not-call list after an addition.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct SuppressionAdded {
    /// The number in E.164.
    #[schema(example = "+821012345678")]
    phone_number: String,
    reason: String,
    /// False when the number was already listed.
    added: bool,
}

fn phone(input: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse(input, &["KR"]).map_err(|e| ApiError::InvalidPhone {
        message: format!("phoneNumber: {e}"),
        details: json!({ "value": input, "reason": e.to_string() }),
    })
}

/// The do-not-call list.
#[utoipa::path(
    get, path = "/suppressions", tag = tags::SETTINGS,
    responses((status = 200, description = "Listed numbers", body = Success<Vec<Suppression>>)),
)]
async fn list_suppressions(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, ApiError> {
    let list = Suppressions::list(state.store.db().pool(), &user.account_id.to_string())
        .await
        .map_err(ApiError::internal)?;
    Ok(ok(list).into_response())
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
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiJson(body): ApiJson<NewSuppression>,
) -> Result<Response, ApiError> {
    let number = phone(&body.phone_number)?;
    let reason = body.reason.unwrap_or_else(|| "added by the account".into());
    let reason: String = reason.chars().take(200).collect();
    let added = Suppressions::add(
        state.store.db().pool(),
        &user.account_id.to_string(),
        &number,
        &reason,
        state.clock.now(),
    )
    .await
    .map_err(ApiError::internal)?;
    let body = json!({ "phoneNumber": number.as_str(), "reason": reason, "added": added });
    Ok(if added {
        created(body).into_response()
    } else {
        ok(body).into_response()
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
    Extension(user): Extension<CurrentUser>,
    Path(input): Path<String>,
) -> Result<Response, ApiError> {
    let number = phone(&input)?;
    let removed = Suppressions::remove(
        state.store.db().pool(),
        &user.account_id.to_string(),
        &number,
    )
    .await
    .map_err(ApiError::internal)?;
    if removed {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound)
    }
}
