//! Single-active workers across processes, on Postgres: leases that notice their loss, a
//! standby that takes over, and fencing of what a holder saves after its lease moved on.
//!
//! Two "processes" are two pools on one database, each with its own supervisor and holder id.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use callbot_tests::fixtures::tally_added;
use callbot_tests::ledger::Ledger;
use callbot_tests::wait::{eventually, poll_api};
use callbot_tests::{AppOptions, TestDb, spawn_app_with};
use commands::leader::{self, Attempt, Fence, Lease, LeaseLost};
use commands::metrics::LeaseStatus;
use commands::relay::RELAY_CHECKPOINT;
use commands::{
    CancellationToken, Db, EventBus, EventStore, Metrics, Relay, StoreError, WorkerState,
    WorkerStatus,
};
use cqrs_es::persist::SerializedEvent;
use projections::{ProjectionError, ProjectionRunner};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use workers::relay::RelayWorker;
use workers::{Backoff, Progress, Supervisor, Worker, WorkerError};

const DEADLINE: Duration = Duration::from_secs(30);

/// The granted advisory lock whose key is `$1` (as `commands::leader` takes it).
macro_rules! lock_of {
    () => {
        "locktype = 'advisory' AND granted AND objsubid = 1 \
         AND ((classid::bigint << 32) | objid::bigint) = hashtext($1)::bigint"
    };
}

#[tokio::test]
async fn only_one_process_holds_a_lease_until_it_lets_go() {
    let db = TestDb::postgres().await;
    let first_process = db.connect().await;
    let second_process = db.connect().await;
    let lease = acquired(leader::try_acquire(&first_process, "dialer", "first").await);
    assert_eq!(lease.fence().epoch(), 1);

    let Ok(Attempt::Held(Some(record))) =
        leader::try_acquire(&second_process, "dialer", "second").await
    else {
        panic!("the second must stand by while the first is active");
    };
    assert_eq!((record.epoch, record.holder.as_str()), (1, "first"));

    // Another lease is independent.
    let other = acquired(leader::try_acquire(&second_process, "outbox_relay", "second").await);
    assert_eq!(other.fence().epoch(), 1);

    drop(lease);
    let took_over = take_within_deadline(&second_process, "dialer", "second").await;
    assert_eq!(took_over.fence().epoch(), 2);
    assert_eq!(
        holders(&first_process).await["dialer"],
        (2, "second".to_owned())
    );
}

#[tokio::test]
async fn a_holder_that_loses_its_lock_stops_before_its_next_unit_and_a_standby_takes_over() {
    let db = TestDb::postgres().await;
    let admin = db.connect().await;
    let stop = CancellationToken::new();
    // The first process waits long after a loss, so that the standby is the one to take over.
    let slow = Backoff {
        initial: Duration::from_secs(600),
        max: Duration::from_secs(600),
    };
    let a = Process::start("a", &db, slow, &["probe"], &stop).await;
    eventually("a to hold the lease and work", DEADLINE, || async {
        (a.holds("probe") && a.probe("probe").runs() >= 1).then_some(())
    })
    .await;
    let b = Process::start("b", &db, Backoff::default(), &["probe"], &stop).await;
    eventually("b to stand by, seeing a hold it", DEADLINE, || async {
        let status = b.status("probe");
        let lease = status.lease.expect("a lease");
        (status.state == WorkerState::StandingBy && lease.holder.as_deref() == Some("a"))
            .then_some(())
    })
    .await;
    assert_eq!(b.probe("probe").runs(), 0);

    let runs_before = a.probe("probe").runs();
    assert_eq!(terminate_lock(&admin, "probe").await, 1);
    // New work for a: it must check its lease before doing it.
    a.probe("probe").kick();

    eventually("a to notice its loss", DEADLINE, || async {
        (lease(&a, "probe").losses == 1).then_some(())
    })
    .await;
    assert_eq!(
        a.probe("probe").runs(),
        runs_before,
        "no unit of work after the lock was lost"
    );
    assert_eq!(a.status("probe").state, WorkerState::StandingBy);
    eventually("b to take over and work", DEADLINE, || async {
        (b.holds("probe") && b.probe("probe").runs() >= 1).then_some(())
    })
    .await;
    assert_eq!(lock_holders(&admin, "probe").await, 1);
    assert_eq!(holders(&admin).await["probe"], (2, "b".to_owned()));
    assert_eq!(
        lease(&b, "probe"),
        LeaseStatus {
            epoch: Some(2),
            holder: Some("b".to_owned()),
            held_here: true,
            losses: 0,
        }
    );
    assert!(!lease(&a, "probe").held_here);

    stop.cancel();
    a.stopped().await;
    b.stopped().await;
}

#[tokio::test]
async fn a_holder_whose_epoch_moved_on_cannot_save_its_checkpoint() {
    let db = TestDb::postgres().await;
    let store = db.store().await;
    append_events(&store, "tally-1", 5).await;
    Ledger::create_table(store.db()).await;
    let successor = db.connect().await;
    let (stale, current) = taken_over(store.db(), &successor, RELAY_CHECKPOINT).await;
    assert_eq!(current.fence().epoch(), stale.epoch() + 1);

    // The checkpoint API.
    let refused = store
        .save_fenced_checkpoint(RELAY_CHECKPOINT, 3, Some(&stale))
        .await;
    assert!(
        matches!(&refused, Err(StoreError::LeaseLost(LeaseLost { epoch, .. })) if *epoch == stale.epoch()),
        "{refused:?}"
    );
    assert_eq!(store.checkpoint(RELAY_CHECKPOINT).await.unwrap(), 0);

    // The relay.
    let stop = CancellationToken::new();
    let relay = RelayWorker::new(Relay::new(store.clone(), EventBus::in_process()), stop);
    relay.fenced_by(stale.clone());
    let refused = relay.run_once().await;
    assert!(
        matches!(&refused, Err(WorkerError::Store(StoreError::LeaseLost(_)))),
        "{refused:?}"
    );
    assert_eq!(store.checkpoint(RELAY_CHECKPOINT).await.unwrap(), 0);
    relay.fenced_by(current.fence().clone());
    assert_eq!(relay.run_once().await.unwrap(), Progress::Worked);
    let head = store.head().await.unwrap();
    assert_eq!(store.checkpoint(RELAY_CHECKPOINT).await.unwrap(), head);

    // A projection: nothing of the batch is applied.
    let (stale, current) = taken_over(store.db(), &successor, "ledger").await;
    let runner = ProjectionRunner::new(
        store.clone(),
        EventBus::in_process(),
        Arc::new(Ledger::default()),
    );
    runner.fence_with(stale);
    let refused = runner.apply_next_batch().await;
    assert!(
        matches!(
            &refused,
            Err(ProjectionError::Store(StoreError::LeaseLost(_)))
        ),
        "{refused:?}"
    );
    assert_eq!(Ledger::rows(&store).await, 0);
    assert_eq!(store.checkpoint("ledger").await.unwrap(), 0);
    runner.fence_with(current.fence().clone());
    assert!(runner.apply_next_batch().await.unwrap());
    assert_eq!(Ledger::rows(&store).await, head);
    assert_eq!(store.checkpoint("ledger").await.unwrap(), head);
}

#[tokio::test]
async fn after_repeated_terminations_exactly_one_process_holds_each_lease() {
    let db = TestDb::postgres().await;
    let admin = db.connect().await;
    let stop = CancellationToken::new();
    let names = ["probe_one", "probe_two"];
    let processes = [
        Process::start("a", &db, Backoff::default(), &names, &stop).await,
        Process::start("b", &db, Backoff::default(), &names, &stop).await,
    ];
    let mut epochs = settled(&admin, &processes, &names, &BTreeMap::new()).await;

    for _ in 0..4 {
        for name in names {
            assert_eq!(terminate_lock(&admin, name).await, 1);
        }
        for process in &processes {
            for name in names {
                process.probe(name).kick();
            }
        }
        let now = settled(&admin, &processes, &names, &epochs).await;
        epochs = now;
    }

    let losses: u64 = processes
        .iter()
        .flat_map(|process| names.map(|name| lease(process, name).losses))
        .sum();
    assert_eq!(losses, 4 * names.len() as u64, "every termination noticed");
    stop.cancel();
    for process in processes {
        process.stopped().await;
    }
}

/// Waits until each lease has exactly one holder, seen alike by Postgres (one backend holds
/// the lock), `worker_leases` (its holder, at an epoch past `after`) and the processes (one
/// runs the worker, holding that epoch); returns the epochs.
async fn settled(
    admin: &Db,
    processes: &[Process],
    names: &[&'static str],
    after: &BTreeMap<String, i64>,
) -> BTreeMap<String, i64> {
    eventually("exactly one holder per lease", DEADLINE, || async {
        let recorded = holders(admin).await;
        let mut epochs = BTreeMap::new();
        for &name in names {
            let (epoch, holder) = recorded.get(name)?;
            let running: Vec<&Process> = processes.iter().filter(|p| p.holds(name)).collect();
            let [only] = running.as_slice() else {
                return None;
            };
            let agree = lock_holders(admin, name).await == 1
                && only.holder == *holder
                && lease(only, name).epoch == Some(*epoch)
                && *epoch > after.get(name).copied().unwrap_or(0);
            if !agree {
                return None;
            }
            epochs.insert(name.to_owned(), *epoch);
        }
        Some(epochs)
    })
    .await
}

/// A supervisor of its own on a pool of its own, running one [`Probe`] per lease name.
struct Process {
    holder: &'static str,
    metrics: Arc<Metrics>,
    probes: Vec<Arc<Probe>>,
    running: JoinHandle<()>,
}

impl Process {
    async fn start(
        holder: &'static str,
        db: &TestDb,
        backoff: Backoff,
        names: &[&'static str],
        stop: &CancellationToken,
    ) -> Self {
        let pool = db.connect().await;
        let metrics = Arc::new(Metrics::default());
        let mut supervisor = Supervisor::new(metrics.clone())
            .with_holder(holder)
            .with_backoff(backoff);
        let probes: Vec<Arc<Probe>> = names.iter().map(|name| Probe::new(name)).collect();
        for probe in &probes {
            supervisor.add_single_active(probe.clone(), pool.clone(), probe.name);
        }
        Self {
            holder,
            metrics,
            probes,
            running: tokio::spawn(supervisor.run(stop.clone())),
        }
    }

    fn probe(&self, name: &str) -> &Probe {
        self.probes
            .iter()
            .find(|probe| probe.name == name)
            .expect("a probe")
    }

    fn status(&self, name: &str) -> WorkerStatus {
        self.metrics
            .workers()
            .into_iter()
            .find(|w| w.name == name)
            .expect("the worker is reported")
    }

    /// Runs `name` under its lease, as this process reports it.
    fn holds(&self, name: &str) -> bool {
        let status = self.status(name);
        status.state == WorkerState::Running && status.lease.is_some_and(|lease| lease.held_here)
    }

    async fn stopped(self) {
        tokio::time::timeout(DEADLINE, self.running)
            .await
            .expect("the supervisor stops")
            .expect("no panic");
    }
}

fn lease(process: &Process, name: &str) -> LeaseStatus {
    process.status(name).lease.expect("a single-active worker")
}

/// A worker that counts its units and waits for a kick between them.
struct Probe {
    name: &'static str,
    runs: watch::Sender<u32>,
    kicks: Notify,
}

impl Probe {
    fn new(name: &'static str) -> Arc<Self> {
        Arc::new(Self {
            name,
            runs: watch::channel(0).0,
            kicks: Notify::new(),
        })
    }

    fn runs(&self) -> u32 {
        *self.runs.borrow()
    }

    fn kick(&self) {
        self.kicks.notify_one();
    }
}

#[async_trait]
impl Worker for Probe {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn run_once(&self) -> Result<Progress, WorkerError> {
        self.runs.send_modify(|runs| *runs += 1);
        Ok(Progress::Idle)
    }

    async fn wait_for_work(&self, stop: &CancellationToken) {
        tokio::select! {
            () = self.kicks.notified() => {}
            () = stop.cancelled() => {}
        }
    }
}

async fn append_events(store: &EventStore, aggregate_id: &str, count: usize) {
    let events: Vec<SerializedEvent> = (1..=count)
        .map(|sequence| tally_added(aggregate_id, sequence))
        .collect();
    store.append(&events).await.unwrap();
}

/// `first` takes the lease `name`, lets go, and `second` takes it over: the first's fence (now
/// stale) and the second's lease.
async fn taken_over(first: &Db, second: &Db, name: &str) -> (Fence, Lease) {
    let lease = acquired(leader::try_acquire(first, name, "first").await);
    let stale = lease.fence().clone();
    drop(lease);
    (stale, take_within_deadline(second, name, "second").await)
}

fn acquired(attempt: Result<Attempt, StoreError>) -> Lease {
    match attempt {
        Ok(Attempt::Acquired(lease)) => lease,
        Ok(Attempt::Held(record)) => panic!("held by {record:?}"),
        Err(error) => panic!("{error}"),
    }
}

/// Takes the lease once the previous holder's connection is gone (the server notices a closed
/// connection shortly after it is dropped).
async fn take_within_deadline(db: &Db, name: &str, holder: &str) -> Lease {
    let never = CancellationToken::new();
    tokio::time::timeout(
        DEADLINE,
        leader::acquire_as(db, name, holder, &never, |_| {}),
    )
    .await
    .expect("the lease is free again")
    .expect("not stopped")
}

/// Every lease's epoch and holder as `worker_leases` records them.
async fn holders(db: &Db) -> BTreeMap<String, (i64, String)> {
    leader::leases(db)
        .await
        .unwrap()
        .into_iter()
        .map(|(name, record)| (name, (record.epoch, record.holder)))
        .collect()
}

/// The backends holding the advisory lock of lease `name`.
async fn lock_holders(db: &Db, name: &str) -> i64 {
    sqlx::query_scalar(concat!("SELECT COUNT(*) FROM pg_locks WHERE ", lock_of!()))
        .bind(format!("callbot:{name}"))
        .fetch_one(db.pool())
        .await
        .unwrap()
}

/// Terminates the connection holding the lock of lease `name`, as an operator or a failover
/// would; returns how many were terminated.
async fn terminate_lock(db: &Db, name: &str) -> i64 {
    let terminated: Vec<bool> = sqlx::query_scalar(concat!(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE ",
        lock_of!()
    ))
    .bind(format!("callbot:{name}"))
    .fetch_all(db.pool())
    .await
    .unwrap();
    terminated.into_iter().filter(|done| *done).count() as i64
}

#[tokio::test]
async fn on_sqlite_a_lease_is_taken_at_once_and_its_epoch_still_fences() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let first = acquired(leader::try_acquire(store.db(), "voicemail_action", "one").await);
    // One process: a second acquisition (a restart after an error) is not refused...
    let second = acquired(leader::try_acquire(store.db(), "voicemail_action", "one").await);
    assert_eq!(second.fence().epoch(), first.fence().epoch() + 1);

    // ...and the earlier one's writes are.
    let refused = store
        .save_fenced_checkpoint("voicemail_action", 7, Some(first.fence()))
        .await;
    assert!(
        matches!(&refused, Err(StoreError::LeaseLost(_))),
        "{refused:?}"
    );
    store
        .save_fenced_checkpoint("voicemail_action", 7, Some(second.fence()))
        .await
        .unwrap();
    assert_eq!(store.checkpoint("voicemail_action").await.unwrap(), 7);
}

#[tokio::test]
async fn readiness_and_metrics_show_who_holds_each_lease() {
    let app = spawn_app_with(AppOptions::default().signed_out()).await;

    let relay = poll_api("the relay to run under its lease", DEADLINE, || async {
        let body: serde_json::Value = app.get_raw("/readyz").await.json().await.ok()?;
        let relay = body["workers"]
            .as_array()?
            .iter()
            .find(|worker| worker["name"] == "outbox_relay")?
            .clone();
        (relay["state"] == "running").then_some(relay)
    })
    .await;
    assert_eq!(relay["lease"]["heldHere"], true, "{relay}");
    assert_eq!(
        relay["lease"]["holder"],
        leader::process_holder(),
        "{relay}"
    );
    assert_eq!(relay["lease"]["losses"], 0, "{relay}");
    assert!(relay["lease"]["epoch"].as_i64() >= Some(1), "{relay}");
    assert_eq!(relay["restarts"], 0, "the existing fields stay");

    let metrics = app.get_raw("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"callbot_worker_lease_held{worker="outbox_relay"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"callbot_worker_lease_losses_total{worker="outbox_relay"} 0"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"callbot_worker_lease_epoch{worker="outbox_relay"}"#),
        "{metrics}"
    );
    app.shut_down().await;
}

#[tokio::test]
async fn a_relay_that_takes_its_lease_again_resumes_from_the_checkpoint_not_from_memory() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    append_events(&store, "tally-1", 3).await;
    let relay = RelayWorker::new(
        Relay::new(store.clone(), EventBus::in_process()),
        CancellationToken::new(),
    );
    let first = acquired(leader::try_acquire(store.db(), RELAY_CHECKPOINT, "here").await);
    relay.fenced_by(first.fence().clone());
    assert_eq!(relay.run_once().await.unwrap(), Progress::Worked);

    // Meanwhile another process held the lease and published what came next.
    append_events(&store, "tally-2", 2).await;
    let theirs = acquired(leader::try_acquire(store.db(), RELAY_CHECKPOINT, "there").await);
    let head = store.head().await.unwrap();
    store
        .save_fenced_checkpoint(RELAY_CHECKPOINT, head, Some(theirs.fence()))
        .await
        .unwrap();

    let again = acquired(leader::try_acquire(store.db(), RELAY_CHECKPOINT, "here").await);
    relay.fenced_by(again.fence().clone());
    assert_eq!(
        relay.run_once().await.unwrap(),
        Progress::Idle,
        "nothing is left after the checkpoint its successor saved"
    );
    assert_eq!(store.checkpoint(RELAY_CHECKPOINT).await.unwrap(), head);
}
