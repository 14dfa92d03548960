//! Runs one projection: each unit applies the next batch of events after its checkpoint.
//!
//! Each batch is applied in one transaction together with the projection's checkpoint, which
//! moves only from the position the batch was read after (compare-and-set), so a crash never
//! applies an event twice or loses one, and two runners racing (a test draining while the
//! supervisor runs it, or two processes) never apply a batch twice. Under a lease the same
//! transaction holds the lease's fence, so a runner whose lease moved on to another process
//! applies nothing ([`commands::leader::LeaseLost`]). Between batches the runner
//! waits for a store append in this process, a bus message (appends by other processes), or a
//! slow timer in case a wake-up was lost. The supervisor in `workers` runs it as a worker and
//! restarts it after a failure; [`ProjectionRunner::run`] runs it alone (tests, benchmarks).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use commands::leader::{self, Fence};
use commands::store::{self, StoreError};
use commands::{BusMessage, BusSubscription, CancellationToken, EventBus, EventStore, StoredEvent};
use sqlx::AnyConnection;
use tokio::sync::{Mutex, watch};

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
    /// Applied up to here; `None` until read from the checkpoint (at the first unit, and again
    /// after a failure or a lost race).
    applied: Mutex<Option<i64>>,
    head: Mutex<watch::Receiver<i64>>,
    /// Wakes the runner for appends by other processes; opened on the first wait.
    subscription: Mutex<Option<BusSubscription>>,
    /// The lease its batches are applied under (none when driven without one).
    fence: std::sync::Mutex<Option<Fence>>,
}

impl ProjectionRunner {
    /// A runner for `projection`.
    pub fn new(store: EventStore, bus: EventBus, projection: Arc<dyn Projection>) -> Self {
        Self {
            head: Mutex::new(store.watch_head()),
            store,
            bus,
            projection,
            position: watch::channel(0).0,
            applied: Mutex::new(None),
            subscription: Mutex::new(None),
            fence: std::sync::Mutex::new(None),
        }
    }

    /// From now on every batch is applied under `fence`: refused once its lease has moved on.
    pub fn fence_with(&self, fence: Fence) {
        *self.fence.lock().expect("fence lock") = Some(fence);
    }

    fn fence(&self) -> Option<Fence> {
        self.fence.lock().expect("fence lock").clone()
    }

    /// The projection's name (its checkpoint and lock).
    pub fn name(&self) -> &'static str {
        self.projection.name()
    }

    /// A handle to wait on this runner's progress.
    pub fn handle(&self) -> ProjectionHandle {
        ProjectionHandle {
            position: self.position.subscribe(),
        }
    }

    /// Applies the next batch after the checkpoint; false when there was none (caught up).
    pub async fn apply_next_batch(&self) -> Result<bool, ProjectionError> {
        let mut applied = self.applied.lock().await;
        let after = match *applied {
            Some(position) => position,
            None => {
                let position = self.store.checkpoint(self.name()).await?;
                self.publish_position(position);
                position
            }
        };
        // Forgotten on failure: the next unit reads the checkpoint.
        *applied = None;
        let events = self.store.read_after(after, BATCH_SIZE).await?;
        let Some(last) = events.last().map(|event| event.position) else {
            *applied = Some(after);
            return Ok(false);
        };
        if self.apply_batch(after, &events).await? {
            *applied = Some(last);
            self.publish_position(last);
        }
        // Applied here, or by another runner first: either way there was work.
        Ok(true)
    }

    /// Waits for a store append in this process, a bus message, [`SAFETY_POLL`], or `stop`.
    pub async fn wait_for_events(&self, stop: &CancellationToken) {
        let mut subscription = self.subscription.lock().await;
        if subscription.is_none() {
            *subscription = self.bus.subscribe().await.ok();
        }
        let mut head = self.head.lock().await;
        tokio::select! {
            _ = head.changed() => {}
            message = next_message(&mut subscription) => {
                if message.is_none() {
                    *subscription = None;
                }
            }
            _ = tokio::time::sleep(SAFETY_POLL) => {}
            _ = stop.cancelled() => {}
        }
        // The store has every event: messages already here only said "look again".
        if let Some(open) = subscription.as_mut() {
            for _ in 0..BATCH_SIZE {
                match tokio::time::timeout(Duration::ZERO, open.next()).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        *subscription = None;
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
    }

    /// Follows the store until `shutdown`, holding the projection's single-active lease
    /// (checked before every batch, taken again when lost or found moved on) and retrying
    /// after a pause when a batch fails: for tests and benchmarks that run a projection outside
    /// the server's supervisor.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ProjectionError> {
        loop {
            let Some(mut lease) = leader::acquire(self.store.db(), self.name(), &shutdown).await
            else {
                return Ok(());
            };
            self.fence_with(lease.fence().clone());
            loop {
                if shutdown.is_cancelled() {
                    return Ok(());
                }
                if !lease.is_alive().await {
                    break;
                }
                match self.apply_next_batch().await {
                    Ok(true) => {}
                    Ok(false) => self.wait_for_events(&shutdown).await,
                    // Another runner took the lease (on SQLite nothing else tells this one):
                    // take it back on the next turn rather than retry under a stale fence.
                    Err(ProjectionError::Store(StoreError::LeaseLost(lost))) => {
                        tracing::warn!(projection = self.name(), %lost, "projection lease lost; taking it again");
                        break;
                    }
                    Err(error) => {
                        tracing::error!(projection = self.name(), %error, "projection failed; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(SAFETY_POLL) => {}
                            _ = shutdown.cancelled() => {}
                        }
                    }
                }
            }
        }
    }

    /// Applies `events` (read after `after`) and moves the checkpoint from `after` to the last
    /// of them, in one transaction; false (nothing kept) when another runner moved it first.
    /// The fence is held first (a successor's takeover waits for this commit), then the
    /// checkpoint moves: its row lock makes a racing runner wait for this commit and then find
    /// the checkpoint moved, before it applies anything.
    async fn apply_batch(
        &self,
        after: i64,
        events: &[StoredEvent],
    ) -> Result<bool, ProjectionError> {
        let Some(last) = events.last().map(|event| event.position) else {
            return Ok(true);
        };
        let mut tx = self.store.db().begin_write().await?;
        if let Some(fence) = self.fence() {
            fence.hold(&mut tx).await?;
        }
        if !move_checkpoint(&mut tx, self.name(), after, last).await? {
            tx.rollback().await?;
            tracing::debug!(
                projection = self.name(),
                after,
                "another runner applied this batch first"
            );
            return Ok(false);
        }
        for event in events {
            self.projection.apply(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    fn publish_position(&self, position: i64) {
        self.position.send_replace(position);
        self.store
            .metrics()
            .projection_position(self.projection.name(), position);
    }
}

/// Moves checkpoint `name` from `from` to `to`; false when it is no longer at `from`.
async fn move_checkpoint(
    conn: &mut AnyConnection,
    name: &str,
    from: i64,
    to: i64,
) -> Result<bool, sqlx::Error> {
    let now = store::timestamp(chrono::Utc::now());
    let moved = sqlx::query(
        "UPDATE checkpoints SET position = $1, updated_at = $2 WHERE name = $3 AND position = $4",
    )
    .bind(to)
    .bind(&now)
    .bind(name)
    .bind(from)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if moved > 0 || from > 0 {
        return Ok(moved > 0);
    }
    // The first batch: no checkpoint row yet.
    let inserted = sqlx::query(
        "INSERT INTO checkpoints (name, position, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(to)
    .bind(&now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}

async fn next_message(subscription: &mut Option<BusSubscription>) -> Option<BusMessage> {
    match subscription {
        Some(subscription) => subscription.next().await,
        None => std::future::pending().await,
    }
}
