//! The dial work queue: the dialer only records `DialRequested`; a dial consumer (the `workers`
//! crate's `dial_consumer`) takes each request and the [`DialPlacer`] places the call through the
//! [`Telephony`] port, recording what came of it exactly as the dialer used to
//! (`ProviderCallCreated`, or the attempt ended as a failure).
//!
//! Two transports, one placer:
//! - **NATS** (`NatsDialQueue`): a durable pull consumer on the event stream, filtered to call
//!   events and shared by every dialer/bridge process, so JetStream hands each request to exactly
//!   one of them. Acknowledgement is explicit and sent only after the placement's outcome is in
//!   the store; a process that dies holding requests has them redelivered to another after the
//!   (bounded) ack wait.
//! - **Embedded** (`StoreDialQueue`): one process follows the store from its own checkpoint
//!   (woken by every append, like the relay), which survives restarts where the in-process
//!   broadcast channel would drop requests when it lags.
//!
//! Either way a request can arrive twice (redelivery, a checkpoint saved late), so the placer
//! checks the Call aggregate first: only a call still CALLING on that very attempt, with no
//! provider call yet and requested less than [`PLACEMENT_TIMEOUT`] ago, is dialed.
//!
//! Placements are not fenced by a lease epoch (see [`crate::leader`]), by decision: a fence
//! guards a write, and the write a placement makes — its outcome, through the Call aggregate — is
//! already refused the second time by the aggregate's optimistic lock and state checks. The act
//! that must not happen twice is the provider's call, which comes before any write a fence could
//! refuse. On NATS the consumers are not single-active at all (JetStream hands each request to
//! one process); the embedded consumer is kept from placing under a lost lease by the
//! supervisor's lease check before each unit, and its checkpoint is what a fence would guard.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::call::{AttemptEnd, Call, CallCommand, CallEvent, CallStatus};
use uuid::Uuid;

use crate::Clock;
use crate::accounts::AccountSettings;
use crate::cqrs::{self, CommandContext, CommandError, Commands};
use crate::dialer::{DialOrder, PLACEMENT_TIMEOUT, Telephony, TelephonyError};
use crate::metrics::names;
use crate::store::{EventStore, StoreError, StoredEvent};

/// The checkpoint (and worker lock) of the embedded dial consumer.
pub const DIAL_CHECKPOINT: &str = "dial_consumer";
/// The durable consumer every dialer process shares on NATS.
pub const DURABLE_NAME: &str = "callbot-dialer";

/// What became of one dial request.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// The provider created its call.
    Placed { provider_call_sid: String },
    /// The provider refused the call; the attempt failed for good.
    Rejected,
    /// The provider was unavailable; the attempt failed and may be retried.
    Unavailable,
    /// Nothing to do: the request was already handled, superseded, or is too old.
    Skipped,
}

/// Why a request could not be handled (it stays in the queue).
#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot record the placement: {0}")]
    Record(String),
}

/// Places the calls of dial requests, once each.
pub struct DialPlacer {
    store: EventStore,
    telephony: Arc<dyn Telephony>,
    clock: Arc<dyn Clock>,
    calls: Commands<Call>,
}

impl DialPlacer {
    /// A placer over `store` dialing through `telephony`.
    pub fn new(store: EventStore, telephony: Arc<dyn Telephony>, clock: Arc<dyn Clock>) -> Self {
        Self {
            calls: Commands::new(store.clone(), ()),
            store,
            telephony,
            clock,
        }
    }

    /// Handles one committed event: a `DialRequested` is placed (if still due); anything else
    /// is `None`.
    pub async fn handle(&self, event: &StoredEvent) -> Result<Option<Placement>, PlacementError> {
        if event.aggregate_type != Call::TYPE || event.event_type != "DialRequested" {
            return Ok(None);
        }
        let Ok(CallEvent::DialRequested {
            attempt,
            requested_at,
        }) = serde_json::from_value::<CallEvent>(event.payload.clone())
        else {
            tracing::warn!(position = event.position, "unreadable dial request skipped");
            return Ok(Some(Placement::Skipped));
        };
        let Ok(call_id) = event.aggregate_id.parse::<Uuid>() else {
            return Ok(Some(Placement::Skipped));
        };
        let context = CommandContext::new("system").caused_by(event.event_id.to_string());
        self.place(call_id, attempt, requested_at, &context)
            .await
            .map(Some)
    }

    /// Places attempt `attempt` of call `call_id` unless the aggregate shows it was already
    /// placed, superseded or given up, and records the outcome.
    ///
    /// A call it dials is timed (`callbot_dial_placement_seconds`, by outcome) from taking the
    /// request to the outcome being in the store: loading the call and its settings, Twilio's
    /// answer to the create request, recording the answer. Skipped requests are not timed.
    pub async fn place(
        &self,
        call_id: Uuid,
        attempt: u32,
        requested_at: DateTime<Utc>,
        context: &CommandContext,
    ) -> Result<Placement, PlacementError> {
        let started = Instant::now();
        let Some(order) = self.order(call_id, attempt, requested_at).await? else {
            return Ok(Placement::Skipped);
        };
        let placement = self.dial(&order, context).await?;
        let outcome = match placement {
            Placement::Placed { .. } => "placed",
            Placement::Rejected => "rejected",
            Placement::Unavailable => "unavailable",
            Placement::Skipped => return Ok(placement),
        };
        metrics::histogram!(names::DIAL_PLACEMENT, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        Ok(placement)
    }

    /// What to dial for attempt `attempt` of call `call_id`; `None` when it was already placed,
    /// superseded, given up, or the request is too old.
    async fn order(
        &self,
        call_id: Uuid,
        attempt: u32,
        requested_at: DateTime<Utc>,
    ) -> Result<Option<DialOrder>, PlacementError> {
        let Some(call) = cqrs::load::<Call>(&self.store, &call_id.to_string()).await? else {
            return Ok(None);
        };
        let waiting = call.status() == Some(CallStatus::Calling)
            && call.attempts() == attempt
            && call.provider_call_sid().is_none();
        // The dialer gives up on a request this old; placing it now would race that.
        let stale = self.clock.now() - requested_at >= PLACEMENT_TIMEOUT;
        let Some(to) = call.phone().cloned() else {
            return Ok(None);
        };
        if !waiting || stale {
            tracing::debug!(call = %call_id, attempt, stale, "dial request needs no placement");
            return Ok(None);
        }
        let campaign = cqrs::load_terms(&self.store, &call.campaign_id().to_string())
            .await?
            .map(|terms| terms.settings)
            .unwrap_or_default();
        let caller_id = match campaign.caller_id.clone() {
            Some(id) => Some(id),
            None => {
                AccountSettings::load(self.store.db().pool(), &call.owner_id().to_string())
                    .await?
                    .caller_id
            }
        };
        Ok(Some(DialOrder {
            call_id,
            campaign_id: call.campaign_id(),
            owner_id: call.owner_id(),
            attempt,
            to,
            caller_id,
            recording: campaign.recording,
        }))
    }

    /// Places `order` with the provider and records the outcome on the call.
    async fn dial(
        &self,
        order: &DialOrder,
        context: &CommandContext,
    ) -> Result<Placement, PlacementError> {
        let call_id = order.call_id;
        let (command, placement) = match self.telephony.place_call(order).await {
            Ok(sid) => (
                CallCommand::RecordProviderCall {
                    provider_call_sid: sid.clone(),
                    at: self.clock.now(),
                },
                Placement::Placed {
                    provider_call_sid: sid,
                },
            ),
            Err(TelephonyError::Rejected { code, message }) => {
                tracing::info!(call = %call_id, %code, "provider rejected the call");
                (
                    failed(format!("{code}: {message}"), false, self.clock.now()),
                    Placement::Rejected,
                )
            }
            Err(TelephonyError::Unavailable(reason)) => {
                tracing::warn!(call = %call_id, %reason, "provider unavailable; the attempt will be retried");
                (
                    failed(reason, true, self.clock.now()),
                    Placement::Unavailable,
                )
            }
        };
        match self
            .calls
            .execute(&call_id.to_string(), command, context)
            .await
        {
            Ok(()) => Ok(placement),
            // A business rule said no (a webhook ended the attempt first): the outcome is moot.
            Err(CommandError::Rejected(err)) => {
                tracing::debug!(call = %call_id, error = %err, "placement outcome not applied");
                Ok(placement)
            }
            Err(err) => Err(PlacementError::Record(err.to_string())),
        }
    }
}

fn failed(reason: String, retryable: bool, at: DateTime<Utc>) -> CallCommand {
    CallCommand::RecordAttemptEnded {
        end: AttemptEnd::Failed {
            code: Some(reason),
            retryable,
        },
        duration_secs: 0,
        at,
    }
}
