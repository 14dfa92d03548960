//! The outbox relay's mechanism: publishing committed events to the bus in global order. The
//! loop that follows the store and saves the checkpoint is a worker (`workers::relay`).
//!
//! Appends never wait for it. While the bus is unreachable it retries with backoff and the
//! backlog simply stays in the store; a crash between publishing and saving the checkpoint
//! republishes a few events, which JetStream drops by message id.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::bus::EventBus;
use crate::store::{EventStore, StoreError, StoredEvent};

/// The checkpoint name of the relay.
pub const RELAY_CHECKPOINT: &str = "outbox_relay";

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
    /// The store it reads.
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// The bus it publishes to.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// A relay from `store` to `bus`.
    pub fn new(store: EventStore, bus: EventBus) -> Self {
        Self { store, bus }
    }

    /// Publishes up to `limit` events after `position` in order, all in flight at once, and
    /// what the bus refuses again (from the first refused) until it accepts; returns the
    /// position of the last one (`position` when there were none). Saves no checkpoint: the
    /// relay worker (the `workers` crate) does that.
    pub async fn publish_after(
        &self,
        position: i64,
        limit: i64,
        shutdown: &CancellationToken,
    ) -> Result<i64, RelayError> {
        let events: Vec<Arc<StoredEvent>> = self
            .store
            .read_after(position, limit)
            .await?
            .into_iter()
            .map(Arc::new)
            .collect();
        let mut published = 0;
        let mut delay = Duration::from_millis(50);
        while published < events.len() {
            let (accepted, refused) = self.bus.publish_all(&events[published..]).await;
            published += accepted;
            let Some(error) = refused else { continue };
            tracing::warn!(%error, ?delay, "bus refused an event; retrying");
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.cancelled() => return Err(RelayError::Stopped),
            }
            delay = (delay * 2).min(Duration::from_secs(2));
        }
        Ok(events.last().map_or(position, |event| event.position))
    }
}
