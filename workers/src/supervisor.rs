//! The supervisor: runs every worker's loop, takes the single-active lease first where a worker
//! must run once per cluster, and restarts a failed worker after an exponentially growing pause.
//! States, restarts, the last error and each lease go to [`Metrics`], which `/readyz` and
//! `/metrics` show.
//!
//! A single-active worker checks its lease before every unit of work and every [`HEARTBEAT`]
//! while it waits; once the lease is lost (its connection died, or a write was refused by its
//! fence) the worker stops at once, without an error, and stands by to take the lease again.

use std::sync::Arc;
use std::time::Duration;

use commands::dial_queue::PlacementError;
use commands::leader::{self, Lease, LeaseRecord};
use commands::relay::RelayError;
use commands::{CancellationToken, Db, Metrics, StoreError, WorkerState};
use projections::ProjectionError;
use tokio::task::JoinSet;

use crate::{Progress, Worker, WorkerError};

/// How long a failed worker pauses before its restart: `initial`, doubled after each failure in
/// a row, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            // Short enough that a worker is back within seconds of its dependency.
            max: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// The pause after the `failures`-th failure in a row (1 = the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.initial
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.max)
    }
}

struct Entry {
    worker: Arc<dyn Worker>,
    /// The database and lease name of a single-active worker.
    lease: Option<(Db, &'static str)>,
}

/// Runs workers until stopped.
pub struct Supervisor {
    metrics: Arc<Metrics>,
    backoff: Backoff,
    /// Who this process is in `worker_leases`.
    holder: String,
    entries: Vec<Entry>,
}

impl Supervisor {
    /// A supervisor reporting to `metrics`, with the default backoff, holding leases as this
    /// process ([`leader::process_holder`]).
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            backoff: Backoff::default(),
            holder: leader::process_holder().to_owned(),
            entries: Vec::new(),
        }
    }

    /// The same with another backoff.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The same holding leases as `holder` (tests play two processes in one).
    pub fn with_holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }

    /// Adds a worker any number of processes may run at once.
    pub fn add(&mut self, worker: Arc<dyn Worker>) {
        self.metrics
            .worker_state(worker.name(), WorkerState::Stopped);
        self.entries.push(Entry {
            worker,
            lease: None,
        });
    }

    /// Adds a worker that runs in one process of the cluster at a time: it holds the lease
    /// `lock` (see [`commands::leader`]) while it runs, checks it before every unit of work and
    /// every [`HEARTBEAT`] while it waits, and stands by without it.
    pub fn add_single_active(&mut self, worker: Arc<dyn Worker>, db: Db, lock: &'static str) {
        self.metrics
            .worker_state(worker.name(), WorkerState::Stopped);
        self.metrics.lease_seen(worker.name(), None);
        self.entries.push(Entry {
            worker,
            lease: Some((db, lock)),
        });
    }

    /// Every worker added.
    pub fn workers(&self) -> Vec<Arc<dyn Worker>> {
        self.entries
            .iter()
            .map(|entry| entry.worker.clone())
            .collect()
    }

    /// Takes the workers `choose` picks (by name) out of the supervisor: it will not run them,
    /// and their caller drives them (a test drains them with [`crate::drive_to_idle`], so
    /// nothing races it and no lease is taken).
    pub fn take(&mut self, choose: impl Fn(&str) -> bool) -> Vec<Arc<dyn Worker>> {
        let (taken, kept) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|entry| choose(entry.worker.name()));
        self.entries = kept;
        taken.into_iter().map(|entry: Entry| entry.worker).collect()
    }

    /// Runs everything until `stop`; returns once every worker has stopped (each finishes the
    /// unit of work it is in).
    pub async fn run(self, stop: CancellationToken) {
        let mut running = JoinSet::new();
        for Entry { worker, lease } in self.entries {
            let supervision = Supervision {
                metrics: self.metrics.clone(),
                backoff: self.backoff,
                holder: self.holder.clone(),
                stop: stop.clone(),
            };
            running.spawn(supervision.supervise(worker, lease));
        }
        while let Some(joined) = running.join_next().await {
            if let Err(error) = joined {
                tracing::error!(%error, "a worker panicked");
            }
        }
    }
}

/// Runs one worker under a supervisor of its own (no lease) until `stop`: for tests and
/// benchmarks that need one background loop.
pub async fn run_supervised(worker: Arc<dyn Worker>, stop: CancellationToken) {
    let mut supervisor = Supervisor::new(Arc::new(Metrics::default()));
    supervisor.add(worker);
    supervisor.run(stop).await;
}

/// How often a running single-active worker checks its lease while it waits for work (it also
/// checks before every unit).
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// Why a worker's loop ended without an error.
enum Ended {
    Stopped,
    /// Its lease was found lost: it stands by and tries to take it again.
    LeaseLost,
}

/// What every worker's supervision shares.
struct Supervision {
    metrics: Arc<Metrics>,
    backoff: Backoff,
    holder: String,
    stop: CancellationToken,
}

impl Supervision {
    /// One worker's life: lease, loop, and a restart after each failure or lease loss.
    async fn supervise(self, worker: Arc<dyn Worker>, lease: Option<(Db, &'static str)>) {
        let name = worker.name();
        let mut failures = 0;
        loop {
            let mut held = match &lease {
                Some((db, lock)) => match self.acquire(worker.as_ref(), db, lock).await {
                    Some(held) => Some(held),
                    None => break,
                },
                None => None,
            };
            self.metrics.worker_state(name, WorkerState::Running);
            tracing::debug!(worker = name, "running");
            let result = self
                .work_until_error(worker.as_ref(), held.as_mut(), &mut failures)
                .await;
            // A lost lease, or a failure that may have come from a broken connection: take the
            // lease afresh.
            drop(held);
            // Lost leases and failures in a row make the pause grow: a standby gets the lease
            // first while this process's connection may still be in trouble.
            failures += 1;
            let pause = self.backoff.delay(failures);
            match result {
                Ok(Ended::Stopped) => break,
                Ok(Ended::LeaseLost) => self.lost(name, pause),
                Err(error) if lost_lease(&error) => self.lost(name, pause),
                Err(error) => {
                    tracing::error!(worker = name, %error, ?pause, "worker failed; restarting after a pause");
                    self.metrics.worker_failed(name, error.to_string(), true);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.stop.cancelled() => break,
            }
        }
        tracing::info!(worker = name, "stopped");
        self.metrics.worker_state(name, WorkerState::Stopped);
    }

    /// Stands by until this process holds the lease `lock`, then hands its fence to the worker;
    /// `None` when stopped first.
    async fn acquire(&self, worker: &dyn Worker, db: &Db, lock: &str) -> Option<Lease> {
        let name = worker.name();
        self.metrics.worker_state(name, WorkerState::StandingBy);
        let seen = |record: Option<&LeaseRecord>| self.metrics.lease_seen(name, record);
        let held = leader::acquire_as(db, lock, &self.holder, &self.stop, seen).await?;
        let record = LeaseRecord {
            epoch: held.fence().epoch(),
            holder: held.holder().to_owned(),
        };
        self.metrics.lease_held(name, &record);
        worker.fenced_by(held.fence().clone());
        Some(held)
    }

    fn lost(&self, name: &'static str, pause: Duration) {
        tracing::warn!(
            worker = name,
            ?pause,
            "lease lost: stopped, standing by to take it again"
        );
        self.metrics.lease_lost(name);
        self.metrics.worker_state(name, WorkerState::StandingBy);
    }

    /// Units of work until `stop` or a lost lease (`Ok`) or a failure; a unit that succeeds
    /// clears the failure count. Under a lease, no unit starts without checking it first.
    async fn work_until_error(
        &self,
        worker: &dyn Worker,
        mut lease: Option<&mut Lease>,
        failures: &mut u32,
    ) -> Result<Ended, WorkerError> {
        while !self.stop.is_cancelled() {
            if let Some(lease) = lease.as_deref_mut()
                && !lease.is_alive().await
            {
                return Ok(Ended::LeaseLost);
            }
            let progress = worker.run_once().await?;
            *failures = 0;
            match (progress, lease.as_deref_mut()) {
                // Let other tasks in before the next unit.
                (Progress::Worked, _) => tokio::task::yield_now().await,
                (Progress::Idle, None) => worker.wait_for_work(&self.stop).await,
                (Progress::Idle, Some(lease)) => {
                    if !self.wait_holding(worker, lease).await {
                        return Ok(Ended::LeaseLost);
                    }
                }
            }
        }
        Ok(Ended::Stopped)
    }

    /// Waits for work while checking the lease every [`HEARTBEAT`]; false when it is lost. The
    /// wait goes on across checks (a worker that waits for a slow tick still gets it).
    async fn wait_holding(&self, worker: &dyn Worker, lease: &mut Lease) -> bool {
        let wait = worker.wait_for_work(&self.stop);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                () = &mut wait => return true,
                () = tokio::time::sleep(HEARTBEAT) => {}
            }
            // Outside the select: a check is never cut off halfway on the lock's connection.
            if !lease.is_alive().await {
                return false;
            }
        }
    }
}

/// Whether a unit failed because its writes were refused under a lease that moved on.
fn lost_lease(error: &WorkerError) -> bool {
    let store = match error {
        WorkerError::Store(store)
        | WorkerError::Relay(RelayError::Store(store))
        | WorkerError::Projection(ProjectionError::Store(store))
        | WorkerError::Placement(PlacementError::Store(store)) => store,
        _ => return false,
    };
    matches!(store, StoreError::LeaseLost(_))
}

#[cfg(test)]
mod tests;
