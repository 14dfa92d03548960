//! The outbox relay: follows the store in global order and publishes every committed event to
//! the bus, resuming from its checkpoint after a restart.
//!
//! Appends never wait for it. While the bus is unreachable it retries with backoff and the
//! backlog simply stays in the store; a crash between publishing and saving the checkpoint
//! republishes a few events, which JetStream drops by message id.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::bus::EventBus;
use crate::leader;
use crate::store::{EventStore, StoreError, StoredEvent};

/// The checkpoint name of the relay.
pub const RELAY_CHECKPOINT: &str = "outbox_relay";

/// How often the relay looks at the store when nothing woke it (appends by other processes).
const POLL_INTERVAL: Duration = Duration::from_millis(200);
const BATCH_SIZE: i64 = 256;

/// Why the relay stopped.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("stopped by shutdown")]
    Stopped,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Publishes committed events to the bus.
#[derive(Clone)]
pub struct Relay {
    store: EventStore,
    bus: EventBus,
}

impl Relay {
    /// A relay from `store` to `bus`.
    pub fn new(store: EventStore, bus: EventBus) -> Self {
        Self { store, bus }
    }

    /// Runs until `shutdown`: waits for new events, publishes them in order, saves its place.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), RelayError> {
        let _leader = match leader::acquire(self.store.db(), RELAY_CHECKPOINT, &shutdown).await {
            Some(lease) => lease,
            None => return Ok(()),
        };
        let mut head = self.store.watch_head();
        let mut position = self.store.checkpoint(RELAY_CHECKPOINT).await?;
        tracing::info!(position, bus = self.bus.name(), "outbox relay started");
        loop {
            let published = match self.publish_after(position, BATCH_SIZE, &shutdown).await {
                Ok(last) => last,
                Err(RelayError::Stopped) => return Ok(()),
                Err(RelayError::Store(err)) => {
                    tracing::warn!(error = %err, "relay cannot read the store; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = shutdown.cancelled() => return Ok(()),
                    }
                }
            };
            if published > position {
                self.store
                    .save_checkpoint(RELAY_CHECKPOINT, published)
                    .await?;
                self.store
                    .metrics()
                    .relay_published((published - position) as u64, published);
                position = published;
                continue;
            }
            tokio::select! {
                _ = head.changed() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = shutdown.cancelled() => return Ok(()),
            }
        }
    }

    /// Publishes up to `limit` events after `position`, each retried until the bus accepts it,
    /// and returns the position of the last one published (`position` when there were none).
    /// Saves no checkpoint: [`Relay::run`] does that.
    pub async fn publish_after(
        &self,
        position: i64,
        limit: i64,
        shutdown: &CancellationToken,
    ) -> Result<i64, RelayError> {
        let mut last = position;
        for event in self.store.read_after(position, limit).await? {
            let event = Arc::new(event);
            self.publish_until_accepted(&event, shutdown).await?;
            last = event.position;
        }
        Ok(last)
    }

    async fn publish_until_accepted(
        &self,
        event: &Arc<StoredEvent>,
        shutdown: &CancellationToken,
    ) -> Result<(), RelayError> {
        let mut delay = Duration::from_millis(50);
        loop {
            match self.bus.publish(event).await {
                Ok(()) => return Ok(()),
                Err(err) => {
                    tracing::warn!(error = %err, ?delay, "bus refused an event; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = shutdown.cancelled() => return Err(RelayError::Stopped),
                    }
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}
