//! A single-active worker whose write is refused by its lease's fence: the supervisor takes it
//! for a lost lease, not a failure — no restart counted — and takes the lease again. On an
//! SQLite file, where the lease is taken at once and its epoch moves the same way.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use commands::leader::{Fence, LeaseLost};
use commands::{CancellationToken, Db, Metrics, StoreError, WorkerState, WorkerStatus};
use tokio::sync::watch;
use workers::{Backoff, Progress, Supervisor, Worker, WorkerError};

/// Its first unit is refused as if another process had taken its lease; then it is idle.
/// Remembers every fence the supervisor handed it.
struct Refused {
    units: AtomicU32,
    fences: watch::Sender<Vec<Fence>>,
}

#[async_trait]
impl Worker for Refused {
    fn name(&self) -> &'static str {
        "refused"
    }

    async fn run_once(&self) -> Result<Progress, WorkerError> {
        if self.units.fetch_add(1, Ordering::SeqCst) == 0 {
            let fence = self.fences.borrow().last().cloned().expect("a fence");
            return Err(WorkerError::Store(StoreError::LeaseLost(LeaseLost {
                name: fence.name().to_owned(),
                epoch: fence.epoch(),
            })));
        }
        Ok(Progress::Idle)
    }

    async fn wait_for_work(&self, stop: &CancellationToken) {
        stop.cancelled().await;
    }

    fn fenced_by(&self, fence: Fence) {
        self.fences.send_modify(|fences| fences.push(fence));
    }
}

#[tokio::test]
async fn a_write_refused_by_the_fence_is_a_lost_lease_not_a_failure() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let db = Db::connect_and_migrate(&url).await.expect("a database");
    let metrics = Arc::new(Metrics::default());
    let worker = Arc::new(Refused {
        units: AtomicU32::new(0),
        fences: watch::channel(Vec::new()).0,
    });
    let mut fences = worker.fences.subscribe();
    let backoff = Backoff {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(10),
    };
    let mut supervisor = Supervisor::new(metrics.clone()).with_backoff(backoff);
    supervisor.add_single_active(worker.clone(), db, "refused");
    let stop = CancellationToken::new();
    let running = tokio::spawn(supervisor.run(stop.clone()));

    let handed = tokio::time::timeout(
        Duration::from_secs(30),
        fences.wait_for(|fences| fences.len() == 2),
    )
    .await
    .expect("the lease taken again")
    .expect("the worker lives")
    .clone();
    assert_eq!(
        handed.iter().map(Fence::epoch).collect::<Vec<_>>(),
        [1, 2],
        "each acquisition has a new epoch"
    );

    stop.cancel();
    running.await.unwrap();
    let status: WorkerStatus = metrics
        .workers()
        .into_iter()
        .find(|w| w.name == "refused")
        .expect("reported");
    assert_eq!(status.state, WorkerState::Stopped);
    assert_eq!(status.restarts, 0, "a lost lease is not a failure");
    assert_eq!(status.last_error, None);
    let lease = status.lease.expect("a lease");
    assert_eq!((lease.losses, lease.epoch), (1, Some(2)));
}
