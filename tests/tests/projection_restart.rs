//! A projection under the supervisor: one that fails on a database blip is restarted with the
//! workers' backoff and then catches up, and two runners racing over one projection (a test
//! draining while the supervisor runs it) apply each event once. On an SQLite file.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use commands::{
    CancellationToken, Db, EventBus, EventStore, Metrics, StoredEvent, WorkerState, WorkerStatus,
};
use cqrs_es::persist::SerializedEvent;
use projections::{Projection, ProjectionError, ProjectionRunner};
use sqlx::AnyConnection;
use workers::{Backoff, Supervisor, drive_to_idle};

const EVENTS: usize = 30;

/// Writes one row per event (a second write of one fails on its key); its first `failures`
/// events fail as if the database had gone away.
struct Ledger {
    failures: AtomicU32,
}

#[async_trait]
impl Projection for Ledger {
    fn name(&self) -> &'static str {
        "ledger"
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(ProjectionError::Database(sqlx::Error::PoolTimedOut));
        }
        sqlx::query("INSERT INTO ledger (position) VALUES ($1)")
            .bind(event.position)
            .execute(conn)
            .await?;
        Ok(())
    }
}

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
        sqlx::query("CREATE TABLE ledger (position BIGINT PRIMARY KEY)")
            .execute(db.pool())
            .await
            .expect("the ledger table");
        let metrics = Arc::new(Metrics::default());
        let store = EventStore::open(db, metrics.clone())
            .await
            .expect("a store");
        let events: Vec<SerializedEvent> = (1..=EVENTS)
            .map(|sequence| {
                SerializedEvent::new(
                    "tally-1".to_owned(),
                    sequence,
                    "tally".to_owned(),
                    "Added".to_owned(),
                    "1.0".to_owned(),
                    serde_json::json!({ "Added": { "amount": 1 } }),
                    serde_json::json!({ "actor": "test" }),
                )
            })
            .collect();
        store.append(&events).await.expect("the events");
        Self {
            store,
            metrics,
            _dir: dir,
        }
    }

    fn runner(&self, failures: u32) -> ProjectionRunner {
        let ledger = Ledger {
            failures: AtomicU32::new(failures),
        };
        ProjectionRunner::new(self.store.clone(), EventBus::in_process(), Arc::new(ledger))
    }

    async fn ledger_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM ledger")
            .fetch_one(self.store.db().pool())
            .await
            .expect("a count")
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

    assert_eq!(fixture.ledger_rows().await, EVENTS as i64);
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
    assert_eq!(fixture.ledger_rows().await, EVENTS as i64);
    let head = fixture.store.head().await.unwrap();
    assert_eq!(fixture.store.checkpoint("ledger").await.unwrap(), head);
    // Both see the end.
    assert_eq!(drive_to_idle(&first, 100).await.unwrap(), 0);
    assert_eq!(drive_to_idle(&second, 100).await.unwrap(), 0);
}
