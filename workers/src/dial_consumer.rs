//! The dial consumers: they take each `DialRequested` and hand it to the
//! [`DialPlacer`], which places the call once (see [`commands::dial_queue`]).
//!
//! - **NATS** ([`NatsDialQueue`]): a durable pull consumer on the event stream shared by every
//!   dialer/bridge process, so JetStream hands each request to exactly one of them; the
//!   acknowledgement goes out only after the outcome is in the store.
//! - **Embedded** ([`StoreDialQueue`]): one process follows the store from its own checkpoint,
//!   woken by every append. Single-active (the supervisor holds the lock [`DIAL_CHECKPOINT`]).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull};
use async_trait::async_trait;
use commands::bus::NatsBus;
use commands::dial_queue::{DIAL_CHECKPOINT, DURABLE_NAME, DialPlacer, Placement, PlacementError};
use commands::{CancellationToken, EventStore, StoredEvent};
use cqrs_es::Aggregate;
use domain::call::Call;
use futures::stream::Peekable;
use futures::{FutureExt, StreamExt};
use tokio::sync::Mutex;

use crate::follower::{Follow, Follower};
use crate::{Progress, Worker, WorkerError};

/// The embedded dial consumer: follows the store from its checkpoint.
pub type StoreDialQueue = Follower<DialPlacer>;

impl StoreDialQueue {
    /// A consumer of the dial requests in `store`.
    pub fn new(placer: DialPlacer, store: EventStore) -> Self {
        Self::following("dial_consumer", DIAL_CHECKPOINT, placer, store)
    }
}

#[async_trait]
impl Follow for DialPlacer {
    type Outcome = Placement;
    type Error = PlacementError;

    async fn handle(&self, event: &StoredEvent) -> Result<Option<Placement>, PlacementError> {
        DialPlacer::handle(self, event).await
    }
}

/// How the NATS dial consumer is set up.
#[derive(Debug, Clone)]
pub struct DialQueueConfig {
    /// The durable consumer's name (shared by every process).
    pub durable: String,
    /// How long a request may go without word from the process placing it before JetStream
    /// hands it to another process: a live placement reports progress every third of it (so
    /// it may take longer than this), a dead process's requests are placed elsewhere after it.
    pub ack_wait: Duration,
    /// How many requests one process takes at a time.
    pub batch: usize,
}

impl Default for DialQueueConfig {
    fn default() -> Self {
        Self {
            durable: DURABLE_NAME.to_owned(),
            ack_wait: Duration::from_secs(10),
            batch: 4,
        }
    }
}

type Messages = Peekable<pull::Stream>;

/// The dial consumer on NATS JetStream: one durable pull consumer shared by every process.
/// Any number of processes run it at once.
pub struct NatsDialQueue {
    placer: DialPlacer,
    bus: Arc<NatsBus>,
    config: DialQueueConfig,
    /// The open message stream; `None` until the first unit and after a failure (the next unit
    /// reconnects).
    messages: Mutex<Option<Messages>>,
}

fn nats(error: impl std::fmt::Display) -> WorkerError {
    WorkerError::Nats(error.to_string())
}

impl NatsDialQueue {
    /// A consumer of the dial requests on `bus`.
    pub fn new(placer: DialPlacer, bus: Arc<NatsBus>, config: DialQueueConfig) -> Self {
        Self {
            placer,
            bus,
            config,
            messages: Mutex::new(None),
        }
    }

    async fn open(&self) -> Result<Messages, WorkerError> {
        self.bus.ensure_stream().await.map_err(nats)?;
        let names = self.bus.config();
        let stream = self
            .bus
            .jetstream()
            .get_stream(&names.stream)
            .await
            .map_err(nats)?;
        let consumer = stream
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
            .map_err(nats)?;
        let messages = consumer
            .stream()
            .max_messages_per_batch(self.config.batch)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .map_err(nats)?;
        Ok(messages.peekable())
    }

    /// Places the request while telling JetStream, every third of the ack wait, that it is still
    /// being worked on: a placement slower than the ack wait (a slow Twilio, the lookup after an
    /// ambiguous create) keeps its request, so no other process places it meanwhile. A process
    /// that dies stops telling, and the request is redelivered after one ack wait.
    async fn place_keeping(
        &self,
        message: &jetstream::Message,
        event: &StoredEvent,
    ) -> Result<Option<Placement>, PlacementError> {
        let placing = self.placer.handle(event);
        tokio::pin!(placing);
        let mut keepalive = tokio::time::interval(self.config.ack_wait / 3);
        keepalive.tick().await;
        loop {
            tokio::select! {
                placed = &mut placing => return placed,
                _ = keepalive.tick() => {
                    if let Err(error) = message.ack_with(AckKind::Progress).await {
                        tracing::debug!(%error, "cannot extend a dial request's ack wait");
                    }
                }
            }
        }
    }

    async fn handle(&self, message: jetstream::Message) {
        let Ok(event) = serde_json::from_slice::<StoredEvent>(&message.payload) else {
            // Not one of ours: nothing to place, ever.
            if let Err(error) = message.ack().await {
                tracing::debug!(%error, "cannot acknowledge a foreign message");
            }
            return;
        };
        match self.place_keeping(&message, &event).await {
            Ok(_) => {
                if let Err(err) = message.ack().await {
                    // Redelivered later; the aggregate check makes that harmless.
                    tracing::warn!(error = %err, "cannot acknowledge a dial request");
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, position = event.position, "dial request not handled; it will be redelivered");
                if let Err(error) = message
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                    .await
                {
                    // The ack wait redelivers it anyway.
                    tracing::debug!(%error, "cannot refuse a dial request");
                }
            }
        }
    }
}

#[async_trait]
impl Worker for NatsDialQueue {
    fn name(&self) -> &'static str {
        "dial_consumer"
    }

    /// Handles the requests already delivered (never waits for more).
    async fn run_once(&self) -> Result<Progress, WorkerError> {
        let mut slot = self.messages.lock().await;
        if slot.is_none() {
            *slot = Some(self.open().await?);
        }
        let messages = slot.as_mut().expect("just opened");
        let mut progress = Progress::Idle;
        loop {
            match messages.next().now_or_never() {
                None => return Ok(progress),
                Some(Some(Ok(message))) => {
                    self.handle(message).await;
                    progress = Progress::Worked;
                }
                Some(Some(Err(error))) => {
                    *slot = None;
                    return Err(nats(error));
                }
                Some(None) => {
                    *slot = None;
                    return Err(nats("the consumer's message stream ended"));
                }
            }
        }
    }

    /// Until a request is delivered (without taking it).
    async fn wait_for_work(&self, stop: &CancellationToken) {
        let mut slot = self.messages.lock().await;
        match slot.as_mut() {
            Some(messages) => {
                tokio::select! {
                    _ = std::pin::Pin::new(messages).peek() => {}
                    _ = stop.cancelled() => {}
                }
            }
            None => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    _ = stop.cancelled() => {}
                }
            }
        }
    }
}
