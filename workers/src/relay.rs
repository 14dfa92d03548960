//! The outbox relay as a worker: follows the store in global order and publishes every
//! committed event to the bus, resuming from its checkpoint after a restart. Single-active (the
//! supervisor holds the lock [`RELAY_CHECKPOINT`]).
//!
//! Appends never wait for it. While the bus refuses events the relay retries with backoff and
//! the backlog stays in the store; a store error ends the unit and the supervisor restarts the
//! worker from its checkpoint. A crash between publishing and saving the checkpoint republishes
//! a few events, which JetStream drops by message id.

use std::time::Duration;

use async_trait::async_trait;
use commands::relay::{RELAY_CHECKPOINT, RelayError};
use commands::{CancellationToken, Relay};
use tokio::sync::{Mutex, watch};

use crate::{Progress, Worker, WorkerError};

/// How often the relay looks at the store when nothing woke it (appends by other processes).
const POLL_INTERVAL: Duration = Duration::from_millis(200);
const BATCH_SIZE: i64 = 256;

/// The relay's loop.
pub struct RelayWorker {
    relay: Relay,
    /// Ends a publish retry loop at shutdown.
    stop: CancellationToken,
    head: Mutex<watch::Receiver<i64>>,
    /// Published up to here; read from the checkpoint on the first unit after a (re)start.
    position: Mutex<Option<i64>>,
}

impl RelayWorker {
    /// The loop of `relay`; `stop` interrupts a publish the bus keeps refusing.
    pub fn new(relay: Relay, stop: CancellationToken) -> Self {
        Self {
            head: Mutex::new(relay.store().watch_head()),
            relay,
            stop,
            position: Mutex::new(None),
        }
    }
}

#[async_trait]
impl Worker for RelayWorker {
    fn name(&self) -> &'static str {
        "outbox_relay"
    }

    /// Publishes the next batch and saves the checkpoint.
    async fn run_once(&self) -> Result<Progress, WorkerError> {
        let mut slot = self.position.lock().await;
        let store = self.relay.store();
        let position = match *slot {
            Some(position) => position,
            None => {
                let position = store.checkpoint(RELAY_CHECKPOINT).await?;
                tracing::info!(
                    position,
                    bus = self.relay.bus().name(),
                    "outbox relay started"
                );
                position
            }
        };
        // Forget the position on failure: the next start reads the checkpoint.
        *slot = None;
        let published = match self
            .relay
            .publish_after(position, BATCH_SIZE, &self.stop)
            .await
        {
            Ok(published) => published,
            Err(RelayError::Stopped) => return Ok(Progress::Idle),
            Err(error) => return Err(error.into()),
        };
        if published <= position {
            *slot = Some(position);
            return Ok(Progress::Idle);
        }
        store.save_checkpoint(RELAY_CHECKPOINT, published).await?;
        store
            .metrics()
            .relay_published((published - position) as u64, published);
        *slot = Some(published);
        Ok(Progress::Worked)
    }

    async fn wait_for_work(&self, stop: &CancellationToken) {
        crate::wait_for_append(&self.head, POLL_INTERVAL, stop).await;
    }
}

/// Runs `relay`'s loop (restarted after failures) until `stop`, outside any supervisor of the
/// process: for tests and benchmarks.
pub async fn run(relay: Relay, stop: CancellationToken) {
    let worker = RelayWorker::new(relay, stop.clone());
    crate::run_supervised(std::sync::Arc::new(worker), stop).await;
}
