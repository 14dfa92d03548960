//! `/api/v1/webhooks`: the account's outbound webhook endpoints, their delivery logs and
//! redelivery from the dead-letter list.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use commands::services::webhooks::{self, Delivery, Webhook, WebhookCreated};
use commands::webhooks::deliveries::DeliveryStatus;
use openapi::{Deleted, ErrorBody, NotFound, Success, tags};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{SignedIn, UserPath};
use crate::error::{ApiError, ApiJson, ApiQuery, Envelope, created, ok};
use crate::state::AppState;

/// Signed-in webhook routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
}

/// An endpoint to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({
    "url": "https://hooks.example.com/callbot",
    "eventTypes": ["call.completed", "call.failed", "campaign.completed"]
}))]
struct NewWebhook {
    /// `https` (plain `http` and private or loopback hosts only in sandbox mode).
    url: String,
    /// `call.completed`, `call.failed`, `campaign.started`, `campaign.paused`,
    /// `campaign.completed`, `recording.stored`, `budget.alert`.
    event_types: Vec<String>,
}

impl From<NewWebhook> for webhooks::NewWebhook {
    fn from(body: NewWebhook) -> Self {
        Self {
            url: body.url,
            event_types: body.event_types,
        }
    }
}

fn endpoint_id(text: &str) -> Result<Uuid, ApiError> {
    text.parse().map_err(|_| ApiError::NotFound)
}

/// The account's webhook endpoints (never their secrets).
#[utoipa::path(
    get, path = "/webhooks", tag = tags::WEBHOOKS,
    responses((status = 200, description = "Endpoints, oldest first", body = Success<Vec<Webhook>>)),
)]
async fn list_webhooks(
    SignedIn(state, user): SignedIn,
) -> Result<Envelope<Vec<Webhook>>, ApiError> {
    Ok(ok(state.webhooks.list(user.account_id).await?))
}

/// Registers an endpoint. The answer shows its `whsec_` signing secret, once.
#[utoipa::path(
    post, path = "/webhooks", tag = tags::WEBHOOKS,
    request_body = NewWebhook,
    responses(
        (status = 201, description = "Registered; `secret` is shown only here", body = Success<WebhookCreated>),
        (status = 400, description = "`INVALID_INPUT`: not https, a private or loopback host, an unknown event type, or a limit (URL length, endpoints per account)", body = ErrorBody),
    ),
)]
#[tracing::instrument(skip_all, fields(account = %user.account_id))]
async fn create_webhook(
    SignedIn(state, user): SignedIn,
    ApiJson(body): ApiJson<NewWebhook>,
) -> Result<Envelope<WebhookCreated>, ApiError> {
    Ok(created(
        state.webhooks.create(user.account_id, body.into()).await?,
    ))
}

/// Deletes an endpoint and its delivery log.
#[utoipa::path(
    delete, path = "/webhooks/{id}", tag = tags::WEBHOOKS,
    params(("id" = Uuid, Path, description = "Endpoint id")),
    responses(
        Deleted,
        NotFound,
    ),
)]
async fn delete_webhook(
    State(state): State<AppState>,
    UserPath { user, id }: UserPath,
) -> Result<StatusCode, ApiError> {
    state
        .webhooks
        .delete(user.account_id, endpoint_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeliveryFilter {
    /// Only deliveries in this state (`dead` = the dead-letter list).
    #[serde(default)]
    #[param(inline)]
    status: Option<DeliveryStatus>,
}

/// The endpoint's delivery log, newest first (the latest 100).
#[utoipa::path(
    get, path = "/webhooks/{id}/deliveries", tag = tags::WEBHOOKS,
    params(("id" = Uuid, Path, description = "Endpoint id"), DeliveryFilter),
    responses(
        (status = 200, description = "Deliveries", body = Success<Vec<Delivery>>),
        (status = 400, description = "`INVALID_INPUT`: an unknown `status`", body = ErrorBody),
        NotFound,
    ),
)]
async fn list_deliveries(
    State(state): State<AppState>,
    UserPath { user, id }: UserPath,
    ApiQuery(filter): ApiQuery<DeliveryFilter>,
) -> Result<Envelope<Vec<Delivery>>, ApiError> {
    let deliveries = state
        .webhooks
        .deliveries(user.account_id, endpoint_id(&id)?, filter.status)
        .await?;
    Ok(ok(deliveries))
}

/// Sends a dead (or delivered) delivery again now, with the same `webhook-id` and a fresh
/// retry schedule.
#[utoipa::path(
    post, path = "/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = tags::WEBHOOKS,
    params(
        ("id" = Uuid, Path, description = "Endpoint id"),
        ("delivery_id" = String, Path, description = "Delivery id (its `webhook-id`)"),
    ),
    responses(
        (status = 200, description = "Queued again", body = Success<Delivery>),
        NotFound,
        (status = 409, description = "`CONFLICT`: the delivery is still waiting for an attempt", body = ErrorBody),
    ),
)]
async fn redeliver(
    SignedIn(state, user): SignedIn,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<Envelope<Delivery>, ApiError> {
    let delivery = state
        .webhooks
        .redeliver(user.account_id, endpoint_id(&id)?, &delivery_id)
        .await?;
    Ok(ok(delivery))
}
