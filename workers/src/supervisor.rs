//! The supervisor: runs every worker's loop, takes the single-active lease first where a worker
//! must run once per cluster, and restarts a failed worker after an exponentially growing pause.
//! States, restarts and the last error go to [`Metrics`], which `/readyz` and `/metrics` show.

use std::sync::Arc;
use std::time::Duration;

use commands::{CancellationToken, Db, Metrics, WorkerState, leader};
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
    /// The database and lock name of a single-active worker.
    lease: Option<(Db, &'static str)>,
}

/// Runs workers until stopped.
pub struct Supervisor {
    metrics: Arc<Metrics>,
    backoff: Backoff,
    entries: Vec<Entry>,
}

impl Supervisor {
    /// A supervisor reporting to `metrics`, with the default backoff.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            backoff: Backoff::default(),
            entries: Vec::new(),
        }
    }

    /// The same with another backoff.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
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

    /// Adds a worker that runs in one process of the cluster at a time: it holds the advisory
    /// lock `lock` (see [`commands::leader`]) while it runs and stands by without it.
    pub fn add_single_active(&mut self, worker: Arc<dyn Worker>, db: Db, lock: &'static str) {
        self.metrics
            .worker_state(worker.name(), WorkerState::Stopped);
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
            let metrics = self.metrics.clone();
            running.spawn(supervise(
                worker,
                lease,
                metrics,
                self.backoff,
                stop.clone(),
            ));
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

/// One worker's life: lease, loop, and a restart after each failure.
async fn supervise(
    worker: Arc<dyn Worker>,
    lease: Option<(Db, &'static str)>,
    metrics: Arc<Metrics>,
    backoff: Backoff,
    stop: CancellationToken,
) {
    let name = worker.name();
    let mut failures = 0;
    loop {
        let held = match &lease {
            Some((db, lock)) => {
                metrics.worker_state(name, WorkerState::StandingBy);
                match leader::acquire(db, lock, &stop).await {
                    Some(held) => Some(held),
                    None => break,
                }
            }
            None => None,
        };
        metrics.worker_state(name, WorkerState::Running);
        tracing::debug!(worker = name, "running");
        let result = work_until_error(worker.as_ref(), &stop, &mut failures).await;
        // A failure may have come from a broken connection: take the lease afresh.
        drop(held);
        match result {
            Ok(()) => break,
            Err(error) => {
                failures += 1;
                let delay = backoff.delay(failures);
                tracing::error!(worker = name, %error, ?delay, "worker failed; restarting after a pause");
                metrics.worker_failed(name, error.to_string(), true);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.cancelled() => break,
                }
            }
        }
    }
    tracing::info!(worker = name, "stopped");
    metrics.worker_state(name, WorkerState::Stopped);
}

/// Units of work until `stop` (`Ok`) or a failure; a unit that succeeds clears the failure count.
async fn work_until_error(
    worker: &dyn Worker,
    stop: &CancellationToken,
    failures: &mut u32,
) -> Result<(), WorkerError> {
    while !stop.is_cancelled() {
        let progress = worker.run_once().await?;
        *failures = 0;
        match progress {
            // Let other tasks in before the next unit.
            Progress::Worked => tokio::task::yield_now().await,
            Progress::Idle => worker.wait_for_work(stop).await,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
