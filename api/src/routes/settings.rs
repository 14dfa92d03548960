//! `/api/v1/settings` (account defaults and budgets) and `/api/v1/suppressions` (do-not-call).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Router};
use commands::accounts::{AccountSettings, Suppressions};
use domain::PhoneNumber;
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiJson, created, ok};

/// Signed-in settings routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(read_settings).put(write_settings))
        .route(
            "/suppressions",
            get(list_suppressions).post(add_suppression),
        )
        .route("/suppressions/{phone}", delete(remove_suppression))
}

async fn read_settings(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, ApiError> {
    let settings = AccountSettings::load(state.store.db().pool(), &user.account_id.to_string())
        .await
        .map_err(ApiError::internal)?;
    Ok(ok(settings).into_response())
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewSuppression {
    phone_number: String,
    #[serde(default)]
    reason: Option<String>,
}

fn phone(input: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse(input, &["KR"]).map_err(|e| ApiError::InvalidPhone {
        message: format!("phoneNumber: {e}"),
        details: json!({ "value": input, "reason": e.to_string() }),
    })
}

async fn list_suppressions(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, ApiError> {
    let list = Suppressions::list(state.store.db().pool(), &user.account_id.to_string())
        .await
        .map_err(ApiError::internal)?;
    Ok(ok(list).into_response())
}

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
