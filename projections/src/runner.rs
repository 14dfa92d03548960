//! Runs one projection: catch up from the store, then follow the bus live.
//!
//! Each batch of events is applied in one transaction together with the projection's
//! checkpoint, so a crash never applies an event twice or loses one. The bus only makes it fast:
//! whenever the next message is not the next position (a lagged channel, a NATS outage, events
//! appended by another process) the runner reads the gap from the store, and a slow timer does
//! the same in case a wake-up was lost.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use commands::store::{self, StoreError};
use commands::{BusMessage, CancellationToken, EventBus, EventStore, StoredEvent, leader};
use sqlx::AnyConnection;
use tokio::sync::watch;

const BATCH_SIZE: i64 = 500;
const SAFETY_POLL: Duration = Duration::from_secs(1);

/// Why a projection could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event {position} ({event_type}) is unreadable: {reason}")]
    BadEvent {
        position: i64,
        event_type: String,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ProjectionError {
    /// An event whose payload does not match what the projection expects.
    pub fn bad_event(event: &StoredEvent, reason: impl ToString) -> Self {
        Self::BadEvent {
            position: event.position,
            event_type: event.event_type.clone(),
            reason: reason.to_string(),
        }
    }
}

/// A read model built from the global event stream.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// The checkpoint name; also the name in metrics.
    fn name(&self) -> &'static str;

    /// Applies one event inside the runner's transaction. Events this projection does not care
    /// about are ignored. Must be idempotent per row, since a rebuild replays everything.
    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError>;
}

/// Lets callers wait until a projection has applied a given position (read-your-writes).
#[derive(Clone)]
pub struct ProjectionHandle {
    position: watch::Receiver<i64>,
}

impl ProjectionHandle {
    /// The last position applied.
    pub fn position(&self) -> i64 {
        *self.position.borrow()
    }

    /// Waits until the projection has applied `position`; false if that took longer than
    /// `timeout` or the runner stopped.
    pub async fn wait_for(&self, position: i64, timeout: Duration) -> bool {
        let mut receiver = self.position.clone();
        tokio::time::timeout(timeout, receiver.wait_for(|applied| *applied >= position))
            .await
            .is_ok_and(|result| result.is_ok())
    }
}

/// Drives one projection.
pub struct ProjectionRunner {
    store: EventStore,
    bus: EventBus,
    projection: Arc<dyn Projection>,
    position: watch::Sender<i64>,
}

impl ProjectionRunner {
    /// A runner for `projection`.
    pub fn new(store: EventStore, bus: EventBus, projection: Arc<dyn Projection>) -> Self {
        Self {
            store,
            bus,
            projection,
            position: watch::channel(0).0,
        }
    }

    /// A handle to wait on this runner's progress.
    pub fn handle(&self) -> ProjectionHandle {
        ProjectionHandle {
            position: self.position.subscribe(),
        }
    }

    /// Catches up, then follows the bus until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ProjectionError> {
        let name = self.projection.name();
        let Some(_lease) = leader::acquire(self.store.db(), name, &shutdown).await else {
            return Ok(());
        };
        // Subscribe before catching up so nothing published meanwhile is missed.
        let mut subscription = self.bus.subscribe().await.ok();
        let mut position = self.store.checkpoint(name).await?;
        self.publish_position(position);
        let mut poll = tokio::time::interval(SAFETY_POLL);
        loop {
            position = match self.catch_up(position).await {
                Ok(position) => position,
                Err(err) => {
                    tracing::error!(projection = name, error = %err, "projection is stuck; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = shutdown.cancelled() => return Ok(()),
                    }
                }
            };
            // Follow the bus for as long as messages arrive in order.
            loop {
                let message = tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    _ = poll.tick() => {
                        if subscription.is_none() {
                            subscription = self.bus.subscribe().await.ok();
                        }
                        break;
                    }
                    message = next_message(&mut subscription) => message,
                };
                match message {
                    Some(BusMessage::Event(event)) if event.position <= position => {}
                    Some(BusMessage::Event(event)) if event.position == position + 1 => {
                        match self.apply_batch(&[&*event]).await {
                            Ok(()) => position = event.position,
                            Err(_) => break,
                        }
                    }
                    Some(_) => break,
                    None => {
                        subscription = self.bus.subscribe().await.ok();
                        break;
                    }
                }
            }
        }
    }

    /// Applies everything after `position` from the store and returns the new position.
    async fn catch_up(&self, mut position: i64) -> Result<i64, ProjectionError> {
        loop {
            let events = self.store.read_after(position, BATCH_SIZE).await?;
            let Some(last) = events.last() else {
                return Ok(position);
            };
            let last = last.position;
            self.apply_batch(&events.iter().collect::<Vec<_>>()).await?;
            position = last;
        }
    }

    async fn apply_batch(&self, events: &[&StoredEvent]) -> Result<(), ProjectionError> {
        let Some(last) = events.last().map(|event| event.position) else {
            return Ok(());
        };
        let name = self.projection.name();
        let mut tx = self.store.db().pool().begin().await?;
        for event in events {
            self.projection.apply(&mut tx, event).await?;
        }
        store::save_checkpoint(&mut tx, name, last).await?;
        tx.commit().await?;
        self.publish_position(last);
        Ok(())
    }

    fn publish_position(&self, position: i64) {
        self.position.send_replace(position);
        self.store
            .metrics()
            .projection_position(self.projection.name(), position);
    }
}

async fn next_message(subscription: &mut Option<commands::BusSubscription>) -> Option<BusMessage> {
    match subscription {
        Some(subscription) => subscription.next().await,
        None => std::future::pending().await,
    }
}
