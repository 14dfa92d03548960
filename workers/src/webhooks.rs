//! Outbound webhooks as a worker. Each unit does two things:
//!
//! 1. **Fan-out**: reads the next batch of events after its checkpoint, turns those that make
//!    webhooks into one delivery per subscribed endpoint, and writes the deliveries and the new
//!    checkpoint in one transaction (under the lease's fence). A crash before the commit
//!    repeats the batch; after it, nothing is read twice — and a delivery is unique per endpoint
//!    and event anyway.
//! 2. **Sending**: attempts every due delivery (a bounded batch, concurrently), then records the
//!    outcome: delivered, retrying at the next pause of the schedule, or dead. A crash during an
//!    attempt leaves the delivery due, so it is sent again with the same `webhook-id`: at least
//!    once, never lost.
//!
//! Single-active (the supervisor holds the lock [`WEBHOOKS_LOCK`]), so two processes never send
//! the same delivery at once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use commands::leader::Fence;
use commands::metrics::names;
use commands::webhooks::DeliveryPolicy;
use commands::webhooks::deliveries::{self, Attempt, DueDelivery};
use commands::webhooks::events::EventMapper;
use commands::webhooks::sender::{SendError, Sender};
use commands::{CancellationToken, Clock, EventStore};
use tokio::sync::{Mutex, watch};

use crate::{FenceSlot, Progress, Worker, WorkerError};

/// The lock, and the checkpoint of the fan-out.
pub const WEBHOOKS_LOCK: &str = "webhooks";
/// Events read per fan-out.
const FAN_OUT_BATCH: i64 = 256;
/// Deliveries attempted per unit (concurrently).
const SEND_BATCH: i64 = 32;
/// How often the worker looks for due retries and appends by other processes.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Fans events out to deliveries and sends them.
pub struct WebhookWorker {
    store: EventStore,
    sender: Sender,
    policy: DeliveryPolicy,
    clock: Arc<dyn Clock>,
    mapper: Mutex<EventMapper>,
    head: Mutex<watch::Receiver<i64>>,
    fence: FenceSlot,
}

/// What one unit did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Events read past the checkpoint.
    pub events: usize,
    /// Deliveries written.
    pub queued: u64,
    /// Attempts made.
    pub attempts: usize,
}

impl WebhookWorker {
    /// A worker sending through `sender` under `policy`.
    pub fn new(
        store: EventStore,
        sender: Sender,
        policy: DeliveryPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            head: Mutex::new(store.watch_head()),
            store,
            sender,
            policy,
            clock,
            mapper: Mutex::default(),
            fence: FenceSlot::default(),
        }
    }

    /// One fan-out batch and one sending batch.
    pub async fn round(&self) -> Result<Round, WorkerError> {
        let (events, queued) = self.fan_out().await?;
        let attempts = self.send_due().await?;
        Ok(Round {
            events,
            queued,
            attempts,
        })
    }

    async fn fan_out(&self) -> Result<(usize, u64), WorkerError> {
        let fence = self.fence.get();
        let position = self.store.checkpoint(WEBHOOKS_LOCK).await?;
        let events = self.store.read_after(position, FAN_OUT_BATCH).await?;
        let Some(last) = events.last().map(|event| event.position) else {
            return Ok((0, 0));
        };
        let mut webhooks = Vec::new();
        // Without endpoints there is nobody to look owners up for (a first start on a long
        // history reads it once, cheaply).
        if deliveries::any_enabled(self.store.db().pool()).await? {
            let mut mapper = self.mapper.lock().await;
            for event in &events {
                if let Some(webhook) = mapper.map(&self.store, event).await? {
                    webhooks.push(webhook);
                }
            }
        }
        let now = self.clock.now();
        let mut tx = self.store.db().begin_write().await?;
        if let Some(fence) = &fence {
            fence.hold(&mut tx).await?;
        }
        // Guards against a second fan-out that read the same checkpoint (a lease handed over
        // mid-batch): only one of them moves it from `position`.
        let moved = commands::store::checkpoint(&mut *tx, WEBHOOKS_LOCK).await? == position;
        let mut queued = 0;
        if moved {
            for webhook in &webhooks {
                queued += deliveries::enqueue(&mut tx, webhook, now).await?;
            }
            commands::store::save_checkpoint(&mut tx, WEBHOOKS_LOCK, last).await?;
        }
        tx.commit().await?;
        Ok((events.len(), queued))
    }

    async fn send_due(&self) -> Result<usize, WorkerError> {
        let now = self.clock.now();
        let due = deliveries::due(self.store.db().pool(), now, SEND_BATCH).await?;
        let attempts = due.iter().map(|delivery| self.attempt(delivery));
        let outcomes = futures::future::join_all(attempts).await;
        for outcome in outcomes {
            outcome?;
        }
        Ok(due.len())
    }

    async fn attempt(&self, delivery: &DueDelivery) -> Result<(), WorkerError> {
        let started = self.clock.now();
        let result = self.sender.send(delivery, started.timestamp()).await;
        let at = self.clock.now();
        let attempts = usize::try_from(delivery.attempts).unwrap_or(0) + 1;
        let attempt = match &result {
            Ok(status) => Attempt {
                at,
                status: Some(*status),
                error: None,
                retry_at: None,
            },
            Err(error) => Attempt {
                at,
                status: error.status(),
                error: Some(error.to_string()),
                retry_at: self
                    .policy
                    .retry_after(attempts)
                    .and_then(|pause| chrono::Duration::from_std(pause).ok())
                    .map(|pause| at + pause),
            },
        };
        let disable_before = at
            - chrono::Duration::from_std(self.policy.disable_after)
                .unwrap_or(chrono::Duration::MAX);
        let disabled =
            deliveries::record_attempt(self.store.db().pool(), delivery, &attempt, disable_before)
                .await?;
        let outcome = match (&result, attempt.retry_at) {
            (Ok(_), _) => "delivered",
            (Err(_), Some(_)) => "retrying",
            (Err(_), None) => "dead",
        };
        metrics::counter!(names::WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
        match &result {
            Ok(_) => {
                let latency = (at - delivery.occurred_at).to_std().unwrap_or_default();
                metrics::histogram!(names::WEBHOOK_DELIVERY_LATENCY).record(latency.as_secs_f64());
            }
            Err(error) => log_failure(delivery, error, attempts, outcome),
        }
        if disabled {
            tracing::warn!(
                endpoint = %delivery.endpoint_id,
                failing_for = ?self.policy.disable_after,
                "webhook endpoint disabled: its deliveries kept failing"
            );
        }
        Ok(())
    }
}

fn log_failure(delivery: &DueDelivery, error: &SendError, attempts: usize, outcome: &str) {
    tracing::warn!(
        delivery = %delivery.delivery_id,
        endpoint = %delivery.endpoint_id,
        attempts,
        outcome,
        %error,
        "webhook delivery failed"
    );
}

#[async_trait]
impl Worker for WebhookWorker {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    async fn run_once(&self) -> Result<Progress, WorkerError> {
        let round = self.round().await?;
        Ok(Progress::worked_if(round.events > 0 || round.attempts > 0))
    }

    /// After every append, and every 200 ms for due retries and appends by other processes.
    async fn wait_for_work(&self, stop: &CancellationToken) {
        crate::wait_for_append(&self.head, POLL_INTERVAL, stop).await;
    }

    fn fenced_by(&self, fence: Fence) {
        self.fence.set(fence);
    }
}
