//! Every background process as a [`Worker`], and the [`Supervisor`] that runs them.
//!
//! A worker does bounded units of work ([`Worker::run_once`]) and says when there was nothing to
//! do ([`Progress::Idle`]); between units it waits for a sign of new work
//! ([`Worker::wait_for_work`]). Tests drive a worker by calling `run_once` until it is idle —
//! no sleeping until things look quiet. The supervisor runs the loop, takes the single-active
//! lease first where a worker must run once per cluster, and restarts a failed worker with
//! exponential backoff, reporting states and restarts to `/readyz` and `/metrics`.

pub mod dial_consumer;
pub mod dialer;
pub mod follower;
pub mod ports;
pub mod post_call;
pub mod projection;
pub mod reconciler;
pub mod recordings;
pub mod relay;
pub mod supervisor;
pub mod voicemail;
pub mod webhooks;

use std::time::Duration;

use async_trait::async_trait;
use commands::CancellationToken;
use tokio::sync::{Mutex, watch};

pub use supervisor::{Backoff, Supervisor, run_supervised};

/// What one unit of work achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Something was done; there may be more right away.
    Worked,
    /// There was nothing to do.
    Idle,
}

impl Progress {
    /// `Worked` when the unit did something, else `Idle`.
    pub fn worked_if(did_something: bool) -> Self {
        if did_something {
            Self::Worked
        } else {
            Self::Idle
        }
    }
}

/// Waits `poll`, or until `stop`.
pub(crate) async fn wait_for_tick(poll: Duration, stop: &CancellationToken) {
    tokio::select! {
        _ = tokio::time::sleep(poll) => {}
        _ = stop.cancelled() => {}
    }
}

/// The lease's fence of a single-active worker, once the supervisor holds the lease: what the
/// worker saves under it is refused once another process has taken over.
#[derive(Debug, Default)]
pub(crate) struct FenceSlot(std::sync::Mutex<Option<commands::leader::Fence>>);

impl FenceSlot {
    pub(crate) fn set(&self, fence: commands::leader::Fence) {
        *self.0.lock().expect("fence lock") = Some(fence);
    }

    pub(crate) fn get(&self) -> Option<commands::leader::Fence> {
        self.0.lock().expect("fence lock").clone()
    }
}

/// Waits for the next append to the store (`head` moves), at most `poll` (appends by other
/// processes show only in the store), or `stop`.
pub(crate) async fn wait_for_append(
    head: &Mutex<watch::Receiver<i64>>,
    poll: Duration,
    stop: &CancellationToken,
) {
    let mut head = head.lock().await;
    tokio::select! {
        _ = head.changed() => {}
        _ = tokio::time::sleep(poll) => {}
        _ = stop.cancelled() => {}
    }
}

/// Why a unit of work failed (the supervisor logs it and restarts the worker after a pause).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Store(#[from] commands::StoreError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Dialer(#[from] commands::dialer::DialerError),
    #[error(transparent)]
    Placement(#[from] commands::dial_queue::PlacementError),
    #[error(transparent)]
    Relay(#[from] commands::relay::RelayError),
    #[error("projection: {0}")]
    Projection(#[from] projections::ProjectionError),
    #[error("telephony: {0}")]
    Telephony(#[from] commands::dialer::TelephonyError),
    #[error("NATS: {0}")]
    Nats(String),
    #[error(transparent)]
    Other(#[from] Box<dyn std::error::Error + Send + Sync>),
}

/// One background process.
#[async_trait]
pub trait Worker: Send + Sync + 'static {
    /// The name in logs, `/readyz` and `/metrics`.
    fn name(&self) -> &'static str;

    /// Does one bounded unit of work; `Ok(Progress::Idle)` when there was nothing to do.
    async fn run_once(&self) -> Result<Progress, WorkerError>;

    /// Waits until there may be new work (a store append, a bus message, a tick) or `stop`.
    async fn wait_for_work(&self, stop: &CancellationToken);

    /// The supervisor took this single-active worker's lease: what the worker saves from now on
    /// should carry `fence`, so it is refused once another process has taken over. By default
    /// the worker's writes are not fenced (the supervisor still stops it before its next unit
    /// when the lease is lost).
    fn fenced_by(&self, _fence: commands::leader::Fence) {}
}

/// Calls `run_once` until the worker is idle (at most `limit` times); returns how many units
/// did something. For tests and one-off maintenance.
pub async fn drive_to_idle(worker: &dyn Worker, limit: usize) -> Result<usize, WorkerError> {
    let mut worked = 0;
    while worked < limit {
        match worker.run_once().await? {
            Progress::Worked => worked += 1,
            Progress::Idle => break,
        }
    }
    Ok(worked)
}
