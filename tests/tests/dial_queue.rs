//! The dial work queue on Postgres + a real NATS JetStream server: several dialer processes share
//! one durable consumer, each request is placed exactly once, and the requests a dead process
//! held are placed by another.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use callbot_tests::fixtures::create_call;
use callbot_tests::{TestDb, TestNats, eventually};
use chrono::Utc;
use commands::bus::NatsBus;
use commands::dial_queue::DialPlacer;
use commands::dialer::{DialOrder, InMemoryTelephony, Telephony, TelephonyError};
use commands::{
    CancellationToken, Clock, CommandContext, Commands, EventBus, EventStore, ManualClock,
    NatsConfig, Relay,
};
use domain::PhoneNumber;
use domain::call::{Call, CallCommand, CallStatus};
use uuid::Uuid;
use workers::dial_consumer::{DialQueueConfig, NatsDialQueue};

fn nats_config(nats: &TestNats) -> NatsConfig {
    let unique = Uuid::new_v4().simple().to_string();
    NatsConfig {
        url: nats.url(),
        stream: format!("TEST_{unique}"),
        subject_prefix: format!("test.{unique}"),
    }
}

/// One dialer process: its own store connection, its own NATS connection, one consumer.
async fn consumer_process(
    db: &TestDb,
    config: &NatsConfig,
    telephony: Arc<dyn Telephony>,
    clock: Arc<ManualClock>,
    ack_wait: Duration,
) -> (tokio::task::JoinHandle<()>, CancellationToken) {
    let store = db.store().await;
    let EventBus::Nats(bus) = EventBus::nats(config.clone()).await.unwrap() else {
        unreachable!()
    };
    let queue = NatsDialQueue::new(
        DialPlacer::new(store, telephony, clock),
        bus,
        DialQueueConfig {
            ack_wait,
            ..Default::default()
        },
    );
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let stop = stop.clone();
        async move {
            workers::run_supervised(std::sync::Arc::new(queue), stop).await;
        }
    });
    (task, stop)
}

/// `n` calls each with a dial request on record.
async fn requested_calls(store: &EventStore, clock: &ManualClock, n: usize) -> Vec<Uuid> {
    let calls = Commands::<Call>::new(store.clone(), ());
    let system = CommandContext::new("system");
    let mut ids = Vec::new();
    for i in 0..n {
        let id = Uuid::new_v4();
        let phone = PhoneNumber::parse_kr(&format!("010-5550-{:04}", 1000 + i)).unwrap();
        let create = create_call(Uuid::new_v4(), Uuid::new_v4(), phone, clock.now());
        calls
            .execute(&id.to_string(), create, &system)
            .await
            .unwrap();
        let dial = CallCommand::RequestDial { at: clock.now() };
        calls.execute(&id.to_string(), dial, &system).await.unwrap();
        ids.push(id);
    }
    ids
}

/// Waits until every event in the store is on the stream and the shared consumer has nothing
/// pending and nothing unacknowledged: from then on no request can be delivered again.
async fn queue_drained(bus: &NatsBus, store: &EventStore) {
    let stream_name = bus.config().stream.clone();
    let head = store.head().await.unwrap();
    eventually(
        "every event relayed to the stream",
        Duration::from_secs(60),
        || async {
            let mut stream = bus.jetstream().get_stream(&stream_name).await.ok()?;
            let messages = stream.info().await.ok()?.state.messages;
            (i64::try_from(messages).ok()? >= head).then_some(())
        },
    )
    .await;
    eventually(
        "every dial request acknowledged",
        Duration::from_secs(60),
        || async {
            let stream = bus.jetstream().get_stream(&stream_name).await.ok()?;
            let info = stream
                .consumer_info(commands::dial_queue::DURABLE_NAME)
                .await
                .ok()?;
            (info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
        },
    )
    .await
}

async fn provider_sids(store: &EventStore, ids: &[Uuid]) -> Vec<Option<String>> {
    let mut sids = Vec::new();
    for id in ids {
        let call = commands::cqrs::load::<Call>(store, &id.to_string())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(call.status(), Some(CallStatus::Calling));
        sids.push(call.provider_call_sid().map(str::to_owned));
    }
    sids
}

/// A provider that takes the order and never answers: the process is stuck mid-placement.
#[derive(Default)]
struct Stuck {
    taken: AtomicUsize,
}

#[async_trait]
impl Telephony for Stuck {
    async fn place_call(&self, _order: &DialOrder) -> Result<String, TelephonyError> {
        self.taken.fetch_add(1, Ordering::SeqCst);
        std::future::pending().await
    }

    async fn call_state(
        &self,
        _sid: &str,
    ) -> Result<Option<commands::dialer::ProviderCall>, TelephonyError> {
        std::future::pending().await
    }

    async fn hang_up(&self, _sid: &str) -> Result<(), TelephonyError> {
        std::future::pending().await
    }
}

/// Waits until a provider's `taken` count shows it has a request.
async fn taken_by(what: &str, taken: &AtomicUsize) {
    eventually(what, Duration::from_secs(30), || async {
        (taken.load(Ordering::SeqCst) > 0).then_some(())
    })
    .await;
}

/// A provider that takes `delay` to answer each create (a slow Twilio), then places it.
struct Slow {
    delay: Duration,
    taken: AtomicUsize,
    placed: InMemoryTelephony,
}

#[async_trait]
impl Telephony for Slow {
    async fn place_call(&self, order: &DialOrder) -> Result<String, TelephonyError> {
        self.taken.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.placed.place_call(order).await
    }

    async fn call_state(
        &self,
        sid: &str,
    ) -> Result<Option<commands::dialer::ProviderCall>, TelephonyError> {
        self.placed.call_state(sid).await
    }

    async fn hang_up(&self, sid: &str) -> Result<(), TelephonyError> {
        self.placed.hang_up(sid).await
    }
}

struct Harness {
    db: TestDb,
    _nats: TestNats,
    config: NatsConfig,
    store: EventStore,
    bus: Arc<NatsBus>,
    clock: Arc<ManualClock>,
    stop: CancellationToken,
}

impl Harness {
    async fn new() -> Self {
        let db = TestDb::postgres().await;
        let nats = TestNats::start();
        let config = nats_config(&nats);
        let store = db.store().await;
        let bus = EventBus::nats(config.clone()).await.unwrap();
        let EventBus::Nats(nats_bus) = bus.clone() else {
            unreachable!()
        };
        nats_bus.ensure_stream().await.unwrap();
        let stop = CancellationToken::new();
        tokio::spawn(workers::relay::run(
            Relay::new(store.clone(), bus),
            stop.clone(),
        ));
        Self {
            db,
            _nats: nats,
            config,
            store,
            bus: nats_bus,
            clock: Arc::new(ManualClock::new(Utc::now())),
            stop,
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[tokio::test]
async fn two_dialer_processes_on_one_nats_place_each_call_exactly_once() {
    let h = Harness::new().await;
    let provider = Arc::new(InMemoryTelephony::default());
    let wait = Duration::from_secs(30);
    let (_a, stop_a) =
        consumer_process(&h.db, &h.config, provider.clone(), h.clock.clone(), wait).await;
    let (_b, stop_b) =
        consumer_process(&h.db, &h.config, provider.clone(), h.clock.clone(), wait).await;

    let ids = requested_calls(&h.store, &h.clock, 24).await;
    queue_drained(&h.bus, &h.store).await;

    let orders = provider.orders();
    assert_eq!(orders.len(), ids.len(), "one provider call per request");
    let dialed: HashSet<Uuid> = orders.iter().map(|o| o.call_id).collect();
    assert_eq!(dialed, ids.iter().copied().collect::<HashSet<_>>());
    assert!(orders.iter().all(|o| o.attempt == 1));
    let sids = provider_sids(&h.store, &ids).await;
    assert!(sids.iter().all(Option::is_some), "every placement recorded");
    stop_a.cancel();
    stop_b.cancel();
}

#[tokio::test]
async fn requests_held_by_a_dead_process_are_placed_by_another() {
    let h = Harness::new().await;
    let ack_wait = Duration::from_secs(2);
    let stuck = Arc::new(Stuck::default());
    let (dead, _) =
        consumer_process(&h.db, &h.config, stuck.clone(), h.clock.clone(), ack_wait).await;
    let ids = requested_calls(&h.store, &h.clock, 10).await;
    taken_by("the first process to take a request", &stuck.taken).await;
    // The process dies holding its requests unacknowledged.
    dead.abort();
    let _ = dead.await;

    let provider = Arc::new(InMemoryTelephony::default());
    let (_alive, stop) = consumer_process(
        &h.db,
        &h.config,
        provider.clone(),
        h.clock.clone(),
        ack_wait,
    )
    .await;
    queue_drained(&h.bus, &h.store).await;

    let orders = provider.orders();
    assert_eq!(orders.len(), ids.len(), "every request placed once");
    let dialed: HashSet<Uuid> = orders.iter().map(|o| o.call_id).collect();
    assert_eq!(dialed.len(), ids.len());
    let sids = provider_sids(&h.store, &ids).await;
    assert!(sids.iter().all(Option::is_some));
    stop.cancel();
}

#[tokio::test]
async fn a_redelivered_request_for_a_placed_attempt_is_not_dialed_again() {
    let h = Harness::new().await;
    let provider = Arc::new(InMemoryTelephony::default());
    let ids = requested_calls(&h.store, &h.clock, 3).await;
    let placer = DialPlacer::new(h.store.clone(), provider.clone(), h.clock.clone());
    let context = CommandContext::new("system");
    let at = h.clock.now();
    for _ in 0..2 {
        for id in &ids {
            placer.place(*id, 1, at, &context).await.unwrap();
        }
    }
    assert_eq!(provider.orders().len(), 3);
    // A request older than the placement timeout is left to the dialer to give up.
    let late = requested_calls(&h.store, &h.clock, 1).await;
    h.clock.advance(commands::dialer::PLACEMENT_TIMEOUT);
    let placement = placer.place(late[0], 1, at, &context).await.unwrap();
    assert_eq!(placement, commands::dial_queue::Placement::Skipped);
    assert_eq!(provider.orders().len(), 3);
}

#[tokio::test]
async fn a_placement_slower_than_the_ack_wait_keeps_its_request() {
    let h = Harness::new().await;
    let ack_wait = Duration::from_secs(1);
    // Three ack waits to answer: without progress acks JetStream would hand the request to the
    // other process meanwhile, and the callee would be rung twice.
    let slow = Arc::new(Slow {
        delay: ack_wait * 3,
        taken: AtomicUsize::new(0),
        placed: InMemoryTelephony::default(),
    });
    let (_a, stop_a) =
        consumer_process(&h.db, &h.config, slow.clone(), h.clock.clone(), ack_wait).await;
    let ids = requested_calls(&h.store, &h.clock, 1).await;
    taken_by("the slow process to take the request", &slow.taken).await;
    // Another process is ready to take whatever JetStream hands out again.
    let other = Arc::new(InMemoryTelephony::default());
    let (_b, stop_b) =
        consumer_process(&h.db, &h.config, other.clone(), h.clock.clone(), ack_wait).await;
    queue_drained(&h.bus, &h.store).await;
    eventually("the slow placement", Duration::from_secs(30), || async {
        (provider_sids(&h.store, &ids).await[0].is_some()).then_some(())
    })
    .await;
    assert_eq!(slow.placed.orders().len(), 1);
    assert!(
        other.orders().is_empty(),
        "placed a second time: {:?}",
        other.orders()
    );
    stop_a.cancel();
    stop_b.cancel();
}
