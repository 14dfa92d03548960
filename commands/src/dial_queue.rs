//! The dial work queue: the dialer only records `DialRequested`; a dial consumer takes each
//! request and places the call through the [`Telephony`] port, recording what came of it exactly
//! as the dialer used to (`ProviderCallCreated`, or the attempt ended as a failure).
//!
//! Two transports, one placer:
//! - **NATS** ([`NatsDialQueue`]): a durable pull consumer on the event stream, filtered to call
//!   events and shared by every dialer/bridge process, so JetStream hands each request to exactly
//!   one of them. Acknowledgement is explicit and sent only after the placement's outcome is in
//!   the store; a process that dies holding requests has them redelivered to another after the
//!   (bounded) ack wait.
//! - **Embedded** ([`StoreDialQueue`]): one process follows the store from its own checkpoint
//!   (woken by every append, like the relay), which survives restarts where the in-process
//!   broadcast channel would drop requests when it lags.
//!
//! Either way a request can arrive twice (redelivery, a checkpoint saved late), so the placer
//! checks the Call aggregate first: only a call still CALLING on that very attempt, with no
//! provider call yet and requested less than [`PLACEMENT_TIMEOUT`] ago, is dialed.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull};
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::call::{AttemptEnd, Call, CallCommand, CallEvent, CallStatus};
use domain::campaign::Campaign;
use domain::policy::CampaignSettings;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Clock;
use crate::accounts::AccountSettings;
use crate::bus::NatsBus;
use crate::cqrs::{self, CommandContext, CommandError, Commands};
use crate::dialer::{DialOrder, PLACEMENT_TIMEOUT, Telephony, TelephonyError};
use crate::leader;
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
    pub async fn place(
        &self,
        call_id: Uuid,
        attempt: u32,
        requested_at: DateTime<Utc>,
        context: &CommandContext,
    ) -> Result<Placement, PlacementError> {
        let Some(call) = cqrs::load::<Call>(&self.store, &call_id.to_string()).await? else {
            return Ok(Placement::Skipped);
        };
        let waiting = call.status() == Some(CallStatus::Calling)
            && call.attempts() == attempt
            && call.provider_call_sid().is_none();
        // The dialer gives up on a request this old; placing it now would race that.
        let stale = self.clock.now() - requested_at >= PLACEMENT_TIMEOUT;
        let Some(to) = call.phone().cloned() else {
            return Ok(Placement::Skipped);
        };
        if !waiting || stale {
            tracing::debug!(call = %call_id, attempt, stale, "dial request needs no placement");
            return Ok(Placement::Skipped);
        }
        let campaign = cqrs::load::<Campaign>(&self.store, &call.campaign_id().to_string())
            .await?
            .map(|c| c.settings().clone())
            .unwrap_or_else(CampaignSettings::default);
        let caller_id = match campaign.caller_id.clone() {
            Some(id) => Some(id),
            None => {
                AccountSettings::load(self.store.db().pool(), &call.owner_id().to_string())
                    .await?
                    .caller_id
            }
        };
        let order = DialOrder {
            call_id,
            campaign_id: call.campaign_id(),
            owner_id: call.owner_id(),
            attempt,
            to,
            caller_id,
            recording: campaign.recording,
        };
        let (command, placement) = match self.telephony.place_call(&order).await {
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

/// The embedded dial consumer: follows the store from its checkpoint.
pub struct StoreDialQueue {
    placer: DialPlacer,
    store: EventStore,
}

impl StoreDialQueue {
    /// A consumer of the dial requests in `store`.
    pub fn new(placer: DialPlacer, store: EventStore) -> Self {
        Self { placer, store }
    }

    /// Handles every event committed so far after the checkpoint and returns what the dial
    /// requests among them became. Tests drive it directly; [`StoreDialQueue::run`] calls it.
    pub async fn drain(&self) -> Result<Vec<Placement>, PlacementError> {
        let mut position = self.store.checkpoint(DIAL_CHECKPOINT).await?;
        let mut placements = Vec::new();
        loop {
            let events = self.store.read_after(position, 256).await?;
            if events.is_empty() {
                return Ok(placements);
            }
            for event in events {
                if let Some(placement) = self.placer.handle(&event).await? {
                    placements.push(placement);
                    self.store
                        .save_checkpoint(DIAL_CHECKPOINT, event.position)
                        .await?;
                }
                position = event.position;
            }
            self.store
                .save_checkpoint(DIAL_CHECKPOINT, position)
                .await?;
        }
    }

    /// Runs until `shutdown`: drains after every append and every 200 ms (appends by other
    /// processes). One active per cluster.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), PlacementError> {
        let Some(_lease) = leader::acquire(self.store.db(), DIAL_CHECKPOINT, &shutdown).await
        else {
            return Ok(());
        };
        let mut head = self.store.watch_head();
        loop {
            if let Err(err) = self.drain().await {
                tracing::warn!(error = %err, "dial consumer failed; retrying");
            }
            tokio::select! {
                _ = head.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = shutdown.cancelled() => return Ok(()),
            }
        }
    }
}

/// How the NATS dial consumer is set up.
#[derive(Debug, Clone)]
pub struct DialQueueConfig {
    /// The durable consumer's name (shared by every process).
    pub durable: String,
    /// How long a request may stay unacknowledged before JetStream hands it to another process.
    /// Longer than the slowest placement (the Twilio client gives up after 15 s).
    pub ack_wait: Duration,
    /// How many requests one process takes at a time.
    pub batch: usize,
}

impl Default for DialQueueConfig {
    fn default() -> Self {
        Self {
            durable: DURABLE_NAME.to_owned(),
            ack_wait: Duration::from_secs(30),
            batch: 4,
        }
    }
}

/// The dial consumer on NATS JetStream: one durable pull consumer shared by every process.
pub struct NatsDialQueue {
    placer: DialPlacer,
    bus: Arc<NatsBus>,
    config: DialQueueConfig,
}

impl NatsDialQueue {
    /// A consumer of the dial requests on `bus`.
    pub fn new(placer: DialPlacer, bus: Arc<NatsBus>, config: DialQueueConfig) -> Self {
        Self {
            placer,
            bus,
            config,
        }
    }

    async fn consumer(&self) -> Result<jetstream::consumer::Consumer<pull::Config>, String> {
        self.bus.ensure_stream().await.map_err(|e| e.to_string())?;
        let names = self.bus.config();
        let stream = self
            .bus
            .jetstream()
            .get_stream(&names.stream)
            .await
            .map_err(|e| e.to_string())?;
        stream
            .get_or_create_consumer(
                &self.config.durable,
                pull::Config {
                    durable_name: Some(self.config.durable.clone()),
                    description: Some("dial requests: each placed by one process".to_owned()),
                    filter_subject: format!("{}.{}.>", names.subject_prefix, Call::TYPE),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: self.config.ack_wait,
                    deliver_policy: jetstream::consumer::DeliverPolicy::All,
                    max_ack_pending: 1_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| e.to_string())
    }

    /// Runs until `shutdown`, reconnecting with backoff when NATS goes away.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), PlacementError> {
        let mut delay = Duration::from_millis(100);
        loop {
            match self.consume(&shutdown).await {
                Ok(()) => return Ok(()),
                Err(reason) => {
                    tracing::warn!(%reason, ?delay, "dial consumer lost NATS; retrying");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.cancelled() => return Ok(()),
            }
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    async fn consume(&self, shutdown: &CancellationToken) -> Result<(), String> {
        let consumer = self.consumer().await?;
        let mut messages = consumer
            .stream()
            .max_messages_per_batch(self.config.batch)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .map_err(|e| e.to_string())?;
        loop {
            let message = tokio::select! {
                next = messages.next() => next,
                _ = shutdown.cancelled() => return Ok(()),
            };
            let message = match message {
                Some(Ok(message)) => message,
                Some(Err(err)) => return Err(err.to_string()),
                None => return Err("the consumer's message stream ended".to_owned()),
            };
            let Ok(event) = serde_json::from_slice::<StoredEvent>(&message.payload) else {
                // Not one of ours: nothing to place, ever.
                let _ = message.ack().await;
                continue;
            };
            match self.placer.handle(&event).await {
                Ok(_) => {
                    if let Err(err) = message.ack().await {
                        // Redelivered later; the aggregate check makes that harmless.
                        tracing::warn!(error = %err, "cannot acknowledge a dial request");
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, position = event.position, "dial request not handled; it will be redelivered");
                    let _ = message
                        .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                        .await;
                }
            }
        }
    }
}
