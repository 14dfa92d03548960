//! The outbox relay as a worker: follows the store in global order and publishes every
//! committed event to the bus, resuming from its checkpoint after a restart. Single-active (the
//! supervisor holds the lease [`RELAY_CHECKPOINT`]); its checkpoint carries the lease's fence, so
//! a relay that lost its lease cannot move the checkpoint its successor keeps.
//!
//! Appends never wait for it. While the bus refuses events the relay retries with backoff and
//! the backlog stays in the store; a store error ends the unit and the supervisor restarts the
//! worker from its checkpoint. A crash between publishing and saving the checkpoint republishes
//! a few events, which JetStream drops by message id.

use std::time::Duration;

use async_trait::async_trait;
use commands::leader::Fence;
use commands::relay::{RELAY_CHECKPOINT, RelayError};
use commands::{CancellationToken, Relay};
use tokio::sync::{Mutex, watch};

use crate::{FenceSlot, Progress, Worker, WorkerError};

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
    position: Mutex<Option<Cursor>>,
    /// The lease the supervisor holds for it (none when driven by hand).
    fence: FenceSlot,
}

/// Where the relay got to, and under which lease epoch it read that.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    position: i64,
    epoch: Option<i64>,
}

impl RelayWorker {
    /// The loop of `relay`; `stop` interrupts a publish the bus keeps refusing.
    pub fn new(relay: Relay, stop: CancellationToken) -> Self {
        Self {
            head: Mutex::new(relay.store().watch_head()),
            relay,
            stop,
            position: Mutex::new(None),
            fence: FenceSlot::default(),
        }
    }
}

#[async_trait]
impl Worker for RelayWorker {
    fn name(&self) -> &'static str {
        "outbox_relay"
    }

    /// Publishes the next batch and saves the checkpoint (refused once the lease moved on).
    async fn run_once(&self) -> Result<Progress, WorkerError> {
        let fence = self.fence.get();
        let epoch = fence.as_ref().map(Fence::epoch);
        let mut slot = self.position.lock().await;
        let store = self.relay.store();
        let position = match *slot {
            // A position from an earlier lease is stale: another process may have moved on.
            Some(cursor) if cursor.epoch == epoch => cursor.position,
            _ => {
                let position = store.checkpoint(RELAY_CHECKPOINT).await?;
                tracing::info!(
                    position,
                    epoch,
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
            *slot = Some(Cursor { position, epoch });
            return Ok(Progress::Idle);
        }
        store
            .save_fenced_checkpoint(RELAY_CHECKPOINT, published, fence.as_ref())
            .await?;
        store
            .metrics()
            .relay_published((published - position) as u64, published);
        *slot = Some(Cursor {
            position: published,
            epoch,
        });
        Ok(Progress::Worked)
    }

    async fn wait_for_work(&self, stop: &CancellationToken) {
        crate::wait_for_append(&self.head, POLL_INTERVAL, stop).await;
    }

    fn fenced_by(&self, fence: Fence) {
        self.fence.set(fence);
    }
}

/// Runs `relay`'s loop (restarted after failures) until `stop`, outside any supervisor of the
/// process: for tests and benchmarks.
pub async fn run(relay: Relay, stop: CancellationToken) {
    let worker = RelayWorker::new(relay, stop.clone());
    crate::run_supervised(std::sync::Arc::new(worker), stop).await;
}
