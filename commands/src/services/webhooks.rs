//! An account's outbound webhooks: register an endpoint (its `whsec_` secret shown once), list
//! and delete them, read an endpoint's delivery log and redeliver from it. The deliveries
//! themselves are the webhooks worker's (`workers::webhooks`).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Serialize;
use sqlx::AnyPool;
use uuid::Uuid;

use crate::Clock;
use crate::recordings::RecordingCipher;
pub use crate::webhooks::deliveries::Delivery;
use crate::webhooks::deliveries::{self, DeliveryStatus, EndpointRow};
use crate::webhooks::guard::{Guard, GuardError};
use crate::webhooks::sender::seal;
use crate::webhooks::{WebhookEventType, generate_secret};

/// Deliveries one log answer lists at most.
pub const DELIVERY_LOG_PAGE: i64 = 100;

/// Why a webhook request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhooksError {
    /// The URL is malformed, not https, or points at a private address.
    #[error(transparent)]
    Url(#[from] GuardError),
    /// A value over its limit (URL length, event types, endpoints per account).
    #[error(transparent)]
    TooLarge(#[from] domain::limits::TooLarge),
    /// No event types given.
    #[error("eventTypes: name at least one event type")]
    NoEventTypes,
    /// An event type we do not send.
    #[error("eventTypes: `{0}` is not an event type")]
    UnknownEventType(String),
    /// No such endpoint (or delivery) on this account.
    #[error("not found")]
    NotFound,
    /// The delivery is still queued; it is not on the dead-letter list.
    #[error("the delivery is still waiting for an attempt")]
    StillQueued,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// An endpoint to register, as typed.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    /// Event type names (`call.completed`…).
    pub event_types: Vec<String>,
}

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: Uuid,
    #[cfg_attr(
        feature = "utoipa",
        schema(example = "https://hooks.example.com/callbot")
    )]
    pub url: String,
    pub event_types: Vec<WebhookEventType>,
    pub created_at: DateTime<Utc>,
    /// True once its deliveries failed for too long (`WEBHOOK_DISABLE_AFTER_HOURS`): nothing
    /// is sent to it any more; register it again to resume.
    pub disabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    /// The first failed attempt since its last success.
    pub failing_since: Option<DateTime<Utc>>,
}

impl From<EndpointRow> for Webhook {
    fn from(row: EndpointRow) -> Self {
        Self {
            id: row.endpoint_id,
            url: row.url,
            event_types: row.event_types,
            created_at: row.created_at,
            disabled: row.disabled_at.is_some(),
            disabled_at: row.disabled_at,
            failing_since: row.failing_since,
        }
    }
}

/// A new endpoint with its signing secret: the only answer that shows the secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_` and base64 of 32 random bytes; verify `webhook-signature` with it. Shown once.
    #[cfg_attr(
        feature = "utoipa",
        schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    )]
    pub secret: String,
}

/// The webhook use cases.
#[derive(Clone)]
pub struct WebhookService {
    pool: AnyPool,
    clock: Arc<dyn Clock>,
    cipher: RecordingCipher,
    guard: Guard,
}

impl WebhookService {
    /// The service; `guard` says whether private receivers are allowed (sandbox mode).
    pub fn new(
        pool: AnyPool,
        clock: Arc<dyn Clock>,
        cipher: RecordingCipher,
        guard: Guard,
    ) -> Self {
        Self {
            pool,
            clock,
            cipher,
            guard,
        }
    }

    /// Registers an endpoint; the answer carries its secret, never shown again.
    pub async fn create(
        &self,
        account_id: Uuid,
        input: NewWebhook,
    ) -> Result<WebhookCreated, WebhooksError> {
        domain::limits::WEBHOOK_URL.check_text(&input.url)?;
        let url = self.guard.check_url(&input.url)?;
        domain::limits::WEBHOOK_EVENT_TYPES.check(input.event_types.len())?;
        let mut event_types = BTreeSet::new();
        for name in &input.event_types {
            let kind = WebhookEventType::parse(name)
                .ok_or_else(|| WebhooksError::UnknownEventType(name.clone()))?;
            event_types.insert(kind);
        }
        if event_types.is_empty() {
            return Err(WebhooksError::NoEventTypes);
        }
        let existing = deliveries::count_endpoints(&self.pool, account_id).await?;
        domain::limits::WEBHOOKS_PER_ACCOUNT.check(usize::try_from(existing).unwrap_or(0) + 1)?;
        let secret = generate_secret();
        let row = EndpointRow {
            endpoint_id: Uuid::now_v7(),
            account_id,
            url: url.to_string(),
            event_types: event_types.into_iter().collect(),
            created_at: self.clock.now(),
            failing_since: None,
            disabled_at: None,
        };
        deliveries::insert_endpoint(&self.pool, &row, &seal(&self.cipher, &secret)).await?;
        tracing::info!(endpoint = %row.endpoint_id, account = %account_id, "webhook endpoint registered");
        Ok(WebhookCreated {
            webhook: row.into(),
            secret: secret.expose_secret().to_owned(),
        })
    }

    /// The account's endpoints, oldest first (without secrets).
    pub async fn list(&self, account_id: Uuid) -> Result<Vec<Webhook>, WebhooksError> {
        let rows = deliveries::list_endpoints(&self.pool, account_id).await?;
        Ok(rows.into_iter().map(Webhook::from).collect())
    }

    /// Deletes an endpoint with its delivery log.
    pub async fn delete(&self, account_id: Uuid, endpoint_id: Uuid) -> Result<(), WebhooksError> {
        if deliveries::delete_endpoint(&self.pool, account_id, endpoint_id).await? {
            Ok(())
        } else {
            Err(WebhooksError::NotFound)
        }
    }

    /// An endpoint's deliveries, newest first ([`DELIVERY_LOG_PAGE`] at most); only those in
    /// `status` when given (`dead` is the dead-letter list).
    pub async fn deliveries(
        &self,
        account_id: Uuid,
        endpoint_id: Uuid,
        status: Option<DeliveryStatus>,
    ) -> Result<Vec<Delivery>, WebhooksError> {
        self.endpoint(account_id, endpoint_id).await?;
        Ok(deliveries::list_deliveries(&self.pool, endpoint_id, status, DELIVERY_LOG_PAGE).await?)
    }

    /// Queues a dead (or delivered) delivery again, due now, with a fresh retry schedule and
    /// its id kept.
    pub async fn redeliver(
        &self,
        account_id: Uuid,
        endpoint_id: Uuid,
        delivery_id: &str,
    ) -> Result<Delivery, WebhooksError> {
        self.endpoint(account_id, endpoint_id).await?;
        if deliveries::find_delivery(&self.pool, endpoint_id, delivery_id)
            .await?
            .is_none()
        {
            return Err(WebhooksError::NotFound);
        }
        if !deliveries::redeliver(&self.pool, delivery_id, self.clock.now()).await? {
            return Err(WebhooksError::StillQueued);
        }
        deliveries::find_delivery(&self.pool, endpoint_id, delivery_id)
            .await?
            .ok_or(WebhooksError::NotFound)
    }

    async fn endpoint(
        &self,
        account_id: Uuid,
        endpoint_id: Uuid,
    ) -> Result<EndpointRow, WebhooksError> {
        deliveries::find_endpoint(&self.pool, account_id, endpoint_id)
            .await?
            .ok_or(WebhooksError::NotFound)
    }
}
