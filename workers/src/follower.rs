//! A single-active worker that follows the store from its own checkpoint, woken by every
//! append. The checkpoint moves past each event it acted on at once (a crash does not act on it
//! again) and past the rest at the end of each batch; it is saved under the lease's fence, so a
//! process that lost the lease cannot move the checkpoint its successor keeps.

use std::time::Duration;

use async_trait::async_trait;
use commands::leader::Fence;
use commands::{CancellationToken, EventStore, StoreError, StoredEvent};
use tokio::sync::{Mutex, watch};

use crate::{FenceSlot, Progress, Worker, WorkerError};

/// What a [`Follower`] does with each committed event.
#[async_trait]
pub trait Follow: Send + Sync + 'static {
    /// What became of an event it acted on.
    type Outcome: Send;
    /// Why an event could not be handled (the checkpoint stays before it).
    type Error: From<StoreError> + Into<WorkerError> + Send;

    /// Acts on `event`; `None` for events that are none of its business.
    async fn handle(&self, event: &StoredEvent) -> Result<Option<Self::Outcome>, Self::Error>;
}

/// Follows the store from `F`'s checkpoint, handing each event to `F`.
pub struct Follower<F> {
    /// The worker's name in logs, `/readyz` and `/metrics`.
    name: &'static str,
    /// The checkpoint it keeps, also the lease the supervisor holds for it.
    checkpoint: &'static str,
    follow: F,
    store: EventStore,
    head: Mutex<watch::Receiver<i64>>,
    /// The lease's fence once the supervisor holds it: a stale holder's checkpoint is refused.
    fence: FenceSlot,
}

impl<F: Follow> Follower<F> {
    pub(crate) fn following(
        name: &'static str,
        checkpoint: &'static str,
        follow: F,
        store: EventStore,
    ) -> Self {
        Self {
            name,
            checkpoint,
            follow,
            head: Mutex::new(store.watch_head()),
            fence: FenceSlot::default(),
            store,
        }
    }

    /// Handles every event committed so far after the checkpoint and returns what became of
    /// those it acted on.
    pub async fn drain(&self) -> Result<Vec<F::Outcome>, F::Error> {
        let fence = self.fence.get();
        let mut position = self.store.checkpoint(self.checkpoint).await?;
        let mut outcomes = Vec::new();
        loop {
            let events = self.store.read_after(position, 256).await?;
            if events.is_empty() {
                return Ok(outcomes);
            }
            for event in events {
                if let Some(outcome) = self.follow.handle(&event).await? {
                    outcomes.push(outcome);
                    // Acted on: not again after a crash.
                    self.store
                        .save_fenced_checkpoint(self.checkpoint, event.position, fence.as_ref())
                        .await?;
                }
                position = event.position;
            }
            self.store
                .save_fenced_checkpoint(self.checkpoint, position, fence.as_ref())
                .await?;
        }
    }
}

#[async_trait]
impl<F: Follow> Worker for Follower<F> {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn run_once(&self) -> Result<Progress, WorkerError> {
        let outcomes = self.drain().await.map_err(Into::into)?;
        Ok(Progress::worked_if(!outcomes.is_empty()))
    }

    /// After every append, and every 200 ms for appends by other processes.
    async fn wait_for_work(&self, stop: &CancellationToken) {
        crate::wait_for_append(&self.head, Duration::from_millis(200), stop).await;
    }

    fn fenced_by(&self, fence: Fence) {
        self.fence.set(fence);
    }
}
