//! Where committed events go after the store: NATS JetStream in production, an in-process
//! broadcast channel in the embedded default.
//!
//! The bus carries events for low latency only; the store stays the truth. Followers that see a
//! gap (a lagged channel, a NATS outage) read what they missed from the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::context::{PublishAckFuture, PublishError, PublishErrorKind};
use async_nats::jetstream::{self, message::PublishMessage, stream};
use futures::StreamExt;
use tokio::sync::broadcast;

use crate::store::StoredEvent;

/// Header carrying the global position of the event in a NATS message.
pub const POSITION_HEADER: &str = "Callbot-Position";

/// How long JetStream remembers message ids to drop duplicates (a relay restart republishes at
/// most its last unsaved batch, well within this).
const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);

/// Events a subscriber of this process may fall behind the bus before it is told it lagged
/// (and reads the store): the in-process bus's size and the NATS fan-out's.
const FAN_OUT_CAPACITY: usize = 4096;

/// What a subscriber receives: an event, or `None` for a NATS message that did not decode.
type Delivered = Option<Arc<StoredEvent>>;

/// The shared NATS subscription's channel.
type FanOut = broadcast::WeakSender<Delivered>;

/// Where the NATS bus lives and which names it uses (tests use their own).
#[derive(Debug, Clone)]
pub struct NatsConfig {
    pub url: String,
    pub stream: String,
    pub subject_prefix: String,
}

impl NatsConfig {
    /// The default stream and subject names for a server URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            stream: "CALLBOT_EVENTS".to_owned(),
            subject_prefix: "callbot.events".to_owned(),
        }
    }

    /// The subject of one aggregate's events: `<prefix>.<aggregate type>.<aggregate id>`.
    pub fn subject(&self, event: &StoredEvent) -> String {
        format!(
            "{}.{}.{}",
            self.subject_prefix, event.aggregate_type, event.aggregate_id
        )
    }
}

/// Errors talking to the bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot reach NATS: {0}")]
    Connect(String),
    #[error("cannot set up the JetStream stream: {0}")]
    Stream(String),
    #[error("JetStream did not accept event {position}: {reason}")]
    Publish { position: i64, reason: String },
    #[error("cannot subscribe: {0}")]
    Subscribe(String),
}

/// A bus for committed events.
#[derive(Clone)]
pub enum EventBus {
    InProcess(broadcast::Sender<Delivered>),
    Nats(Arc<NatsBus>),
}

/// The JetStream side of the bus.
#[derive(Clone)]
pub struct NatsBus {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    config: NatsConfig,
    stream_ready: Arc<AtomicBool>,
    /// The process's one core subscription to every event subject, shared by all of its
    /// subscribers (a status stream each, the projection runner): NATS sends and this process
    /// decodes each event once, however many follow it. Empty until the first subscriber, and
    /// again once the subscription ended (the client closed).
    fan_out: Arc<tokio::sync::Mutex<Option<FanOut>>>,
}

impl EventBus {
    /// A bus inside this process.
    pub fn in_process() -> Self {
        Self::InProcess(broadcast::channel(FAN_OUT_CAPACITY).0)
    }

    /// A bus on NATS JetStream. Connecting does not wait for the server: while it is down the
    /// client keeps reconnecting and the relay keeps its backlog in the store.
    pub async fn nats(config: NatsConfig) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(2))
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((100 * attempts as u64).min(2_000))
            })
            .connect(config.url.as_str())
            .await
            .map_err(|e| BusError::Connect(e.to_string()))?;
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(Duration::from_secs(3));
        Ok(Self::Nats(Arc::new(NatsBus {
            client,
            jetstream,
            config,
            stream_ready: Arc::new(AtomicBool::new(false)),
            fan_out: Arc::default(),
        })))
    }

    /// Publishes one event; on NATS, waits for JetStream's acknowledgement. The event id is the
    /// message id, so JetStream drops a republished event.
    pub async fn publish(&self, event: &Arc<StoredEvent>) -> Result<(), BusError> {
        match self.publish_all(std::slice::from_ref(event)).await {
            (_, Some(error)) => Err(error),
            (_, None) => Ok(()),
        }
    }

    /// Publishes `events` in order and answers how many of them, from the first, the bus
    /// accepted, with the error that stopped it there. On NATS the whole batch is in flight at
    /// once; an event published again after a failure is dropped by JetStream by its id.
    pub async fn publish_all(&self, events: &[Arc<StoredEvent>]) -> (usize, Option<BusError>) {
        match self {
            Self::InProcess(sender) => {
                for event in events {
                    // Nobody listening is fine: followers catch up from the store.
                    let _ = sender.send(Some(event.clone()));
                }
                (events.len(), None)
            }
            Self::Nats(bus) => bus.publish_all(events).await,
        }
    }

    /// Starts receiving events published from now on.
    pub async fn subscribe(&self) -> Result<BusSubscription, BusError> {
        match self {
            Self::InProcess(sender) => Ok(BusSubscription(sender.subscribe())),
            Self::Nats(bus) => Ok(BusSubscription(bus.subscribe().await?)),
        }
    }

    /// True when events can be published right now.
    pub fn is_ready(&self) -> bool {
        match self {
            Self::InProcess(_) => true,
            Self::Nats(bus) => {
                bus.client.connection_state() == async_nats::connection::State::Connected
            }
        }
    }

    /// A short name for logs and health checks.
    pub fn name(&self) -> &'static str {
        match self {
            Self::InProcess(_) => "in-process",
            Self::Nats(_) => "nats",
        }
    }
}

impl NatsBus {
    /// A receiver of the shared subscription, starting it when it is not running.
    async fn subscribe(&self) -> Result<broadcast::Receiver<Delivered>, BusError> {
        let mut fan_out = self.fan_out.lock().await;
        if let Some(sender) = fan_out.as_ref().and_then(broadcast::WeakSender::upgrade) {
            return Ok(sender.subscribe());
        }
        let subject = format!("{}.>", self.config.subject_prefix);
        let mut subscriber = self
            .client
            .subscribe(subject)
            .await
            .map_err(|e| BusError::Subscribe(e.to_string()))?;
        let (sender, receiver) = broadcast::channel(FAN_OUT_CAPACITY);
        *fan_out = Some(sender.downgrade());
        tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                // Not one of ours (or damaged): `None` sends every follower to the store, which
                // has the real thing. Nobody listening is fine too.
                let event = serde_json::from_slice(&message.payload).ok().map(Arc::new);
                let _ = sender.send(event);
            }
        });
        Ok(receiver)
    }

    /// The JetStream context (for consumers of the stream).
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    /// The names this bus uses.
    pub fn config(&self) -> &NatsConfig {
        &self.config
    }

    /// Creates the stream if it does not exist yet.
    pub async fn ensure_stream(&self) -> Result<(), BusError> {
        if self.stream_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        self.jetstream
            .get_or_create_stream(stream::Config {
                name: self.config.stream.clone(),
                subjects: vec![format!("{}.>", self.config.subject_prefix)],
                storage: stream::StorageType::File,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| BusError::Stream(e.to_string()))?;
        self.stream_ready.store(true, Ordering::Release);
        Ok(())
    }

    /// Sends every message before awaiting the first acknowledgement, so a batch costs one
    /// round trip to JetStream rather than one per event.
    async fn publish_all(&self, events: &[Arc<StoredEvent>]) -> (usize, Option<BusError>) {
        if let Err(error) = self.ensure_stream().await {
            return (0, Some(error));
        }
        let mut acks = Vec::with_capacity(events.len());
        let mut stopped = None;
        for event in events {
            match self.send(event).await {
                Ok(ack) => acks.push((event.position, ack)),
                Err(error) => {
                    stopped = Some(error);
                    break;
                }
            }
        }
        let mut accepted = 0;
        for (position, ack) in acks {
            if let Err(error) = ack.await {
                return (accepted, Some(self.refused(position, error)));
            }
            accepted += 1;
        }
        (accepted, stopped)
    }

    async fn send(&self, event: &StoredEvent) -> Result<PublishAckFuture, BusError> {
        let payload = serde_json::to_vec(event).map_err(|e| BusError::Publish {
            position: event.position,
            reason: e.to_string(),
        })?;
        let message = PublishMessage::build()
            .payload(payload.into())
            .message_id(event.event_id.to_string())
            .header(POSITION_HEADER, event.position.to_string().as_str());
        self.jetstream
            .send_publish(self.config.subject(event), message)
            .await
            .map_err(|error| self.refused(event.position, error))
    }

    fn refused(&self, position: i64, error: PublishError) -> BusError {
        if matches!(error.kind(), PublishErrorKind::StreamNotFound) {
            self.stream_ready.store(false, Ordering::Release);
        }
        BusError::Publish {
            position,
            reason: error.to_string(),
        }
    }
}

/// What a subscriber receives.
#[derive(Debug)]
pub enum BusMessage {
    Event(Arc<StoredEvent>),
    /// Some events were dropped on the way; read the store to catch up.
    Lagged,
}

/// A live subscription to the bus (in process, or this process's share of the NATS one).
pub struct BusSubscription(broadcast::Receiver<Delivered>);

impl BusSubscription {
    /// The next message, or `None` when the bus is gone.
    pub async fn next(&mut self) -> Option<BusMessage> {
        match self.0.recv().await {
            Ok(Some(event)) => Some(BusMessage::Event(event)),
            Ok(None) | Err(broadcast::error::RecvError::Lagged(_)) => Some(BusMessage::Lagged),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}
