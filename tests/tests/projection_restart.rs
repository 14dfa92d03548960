//! A projection under the supervisor: one that fails on a database blip is restarted with the
//! workers' backoff and then catches up, and two runners racing over one projection (a test
//! draining while the supervisor runs it) apply each event once. On an SQLite file.

use std::sync::Arc;
use std::time::Duration;

use callbot_tests::fixtures::tally_added;
use callbot_tests::ledger::Ledger;
use commands::{CancellationToken, Db, EventBus, EventStore, Metrics, WorkerState, WorkerStatus};
use cqrs_es::persist::SerializedEvent;
use projections::ProjectionRunner;
use workers::{Backoff, Supervisor, drive_to_idle};

const EVENTS: usize = 30;

struct Fixture {
    store: EventStore,
    metrics: Arc<Metrics>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// A store holding [`EVENTS`] events and an empty ledger table.
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let db = Db::connect_and_migrate(&url).await.expect("a database");
        Ledger::create_table(&db).await;
        let metrics = Arc::new(Metrics::default());
        let store = EventStore::open(db, metrics.clone())
            .await
            .expect("a store");
        let events: Vec<SerializedEvent> = (1..=EVENTS)
            .map(|sequence| tally_added("tally-1", sequence))
            .collect();
        store.append(&events).await.expect("the events");
        Self {
            store,
            metrics,
            _dir: dir,
        }
    }

    fn runner(&self, failures: u32) -> ProjectionRunner {
        let ledger = Ledger::failing_first(failures);
        ProjectionRunner::new(self.store.clone(), EventBus::in_process(), Arc::new(ledger))
    }

    fn status(&self) -> WorkerStatus {
        self.metrics
            .workers()
            .into_iter()
            .find(|w| w.name == "ledger")
            .expect("the projection is reported")
    }
}

#[tokio::test]
async fn a_projection_failing_on_a_database_blip_is_restarted_and_catches_up() {
    let fixture = Fixture::new().await;
    let runner = Arc::new(fixture.runner(2));
    let handle = runner.handle();
    let backoff = Backoff {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(40),
    };
    let mut supervisor = Supervisor::new(fixture.metrics.clone()).with_backoff(backoff);
    supervisor.add_single_active(runner, fixture.store.db().clone(), "ledger");
    let stop = CancellationToken::new();
    let running = tokio::spawn(supervisor.run(stop.clone()));

    let head = fixture.store.head().await.unwrap();
    assert!(
        handle.wait_for(head, Duration::from_secs(30)).await,
        "the projection caught up after its restarts"
    );

    assert_eq!(Ledger::rows(&fixture.store).await, EVENTS as i64);
    assert_eq!(fixture.store.checkpoint("ledger").await.unwrap(), head);
    let status = fixture.status();
    assert_eq!(status.restarts, 2);
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("projection: database error")),
        "{status:?}"
    );
    stop.cancel();
    running.await.unwrap();
    assert_eq!(fixture.status().state, WorkerState::Stopped);
}

#[tokio::test]
async fn two_runners_racing_over_one_projection_apply_each_event_once() {
    let fixture = Fixture::new().await;
    let (first, second) = (fixture.runner(0), fixture.runner(0));

    let (a, b) = tokio::join!(drive_to_idle(&first, 100), drive_to_idle(&second, 100));

    // A batch the other runner applied first counts as work, not as an error.
    assert!(a.unwrap() + b.unwrap() >= 1);
    assert_eq!(Ledger::rows(&fixture.store).await, EVENTS as i64);
    let head = fixture.store.head().await.unwrap();
    assert_eq!(fixture.store.checkpoint("ledger").await.unwrap(), head);
    // Both see the end.
    assert_eq!(drive_to_idle(&first, 100).await.unwrap(), 0);
    assert_eq!(drive_to_idle(&second, 100).await.unwrap(), 0);
}
