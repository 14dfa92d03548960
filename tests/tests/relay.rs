//! The outbox relay against a real NATS JetStream server (and the in-process bus).

use std::sync::Arc;
use std::time::Duration;

use callbot_tests::fixtures::tally_added;
use callbot_tests::{TestDb, TestNats, eventually, stream_contents};
use commands::bus::NatsBus;
use commands::relay::RELAY_CHECKPOINT;
use commands::{BusMessage, CancellationToken, EventBus, EventStore, NatsConfig, Relay};
use futures::StreamExt;

async fn append_many(store: &EventStore, aggregate_id: &str, from: usize, to: usize) {
    for sequence in from..=to {
        store
            .append(&[tally_added(aggregate_id, sequence)])
            .await
            .unwrap();
    }
}

/// A bus on a stream of its own on `nats`, the stream created: its config, the bus, and the
/// JetStream side of it.
async fn nats_bus(nats: &TestNats) -> (NatsConfig, EventBus, Arc<NatsBus>) {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let config = NatsConfig {
        url: nats.url(),
        stream: format!("TEST_{unique}"),
        subject_prefix: format!("test.{unique}"),
    };
    let bus = EventBus::nats(config.clone()).await.unwrap();
    let EventBus::Nats(jetstream) = bus.clone() else {
        unreachable!()
    };
    jetstream.ensure_stream().await.unwrap();
    (config, bus, jetstream)
}

/// A SQLite store holding events 1..=`count` of aggregate `a`.
async fn sqlite_store_with(count: usize) -> (TestDb, EventStore) {
    let db = TestDb::sqlite();
    let store = db.store().await;
    append_many(&store, "a", 1, count).await;
    (db, store)
}

/// Runs the relay from `store` to `bus` until `stop`.
fn spawn_relay(
    store: &EventStore,
    bus: EventBus,
    stop: &CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(workers::relay::run(
        Relay::new(store.clone(), bus),
        stop.clone(),
    ))
}

async fn wait_for_stream(nats: &NatsBus, count: usize) -> Vec<(String, commands::StoredEvent)> {
    let stream = nats.config().stream.clone();
    eventually("the stream to fill", Duration::from_secs(30), || async {
        let contents = stream_contents(nats.jetstream(), &stream).await;
        (contents.len() >= count).then_some(contents)
    })
    .await
}

#[tokio::test]
async fn the_relay_publishes_every_event_in_order_with_its_id_as_message_id() {
    let nats = TestNats::start();
    let (_db, store) = sqlite_store_with(12).await;
    let (config, bus, jetstream) = nats_bus(&nats).await;

    let stop = CancellationToken::new();
    let relay = spawn_relay(&store, bus, &stop);
    let contents = wait_for_stream(&jetstream, 12).await;

    let stored = store.read_after(0, 100).await.unwrap();
    assert_eq!(contents.len(), 12);
    for ((message_id, published), stored) in contents.iter().zip(&stored) {
        assert_eq!(message_id, &stored.event_id.to_string());
        assert_eq!(published, stored);
    }
    let mut info = jetstream
        .jetstream()
        .get_stream(&config.stream)
        .await
        .unwrap();
    let subjects = info.info().await.unwrap().config.subjects.clone();
    assert_eq!(subjects, vec![format!("{}.>", config.subject_prefix)]);
    stop.cancel();
    relay.await.unwrap();
    assert_eq!(store.checkpoint(RELAY_CHECKPOINT).await.unwrap(), 12);
}

#[tokio::test]
async fn a_relay_killed_between_commit_and_publish_publishes_the_missing_events_exactly_once() {
    let nats = TestNats::start();
    let (_db, store) = sqlite_store_with(10).await;
    let (config, bus, jetstream) = nats_bus(&nats).await;

    // The first relay publishes four events and dies before saving its checkpoint; six more
    // were committed and never published.
    let crashed = Relay::new(store.clone(), bus.clone());
    let published = crashed
        .publish_after(0, 4, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(published, 4);
    drop(crashed);
    assert_eq!(store.checkpoint(RELAY_CHECKPOINT).await.unwrap(), 0);
    append_many(&store, "a", 11, 15).await;

    let stop = CancellationToken::new();
    let relay = spawn_relay(&store, bus, &stop);
    eventually("the relay to catch up", Duration::from_secs(30), || async {
        (store.checkpoint(RELAY_CHECKPOINT).await.unwrap() == 15).then_some(())
    })
    .await;
    stop.cancel();
    relay.await.unwrap();

    let contents = stream_contents(jetstream.jetstream(), &config.stream).await;
    let positions: Vec<i64> = contents.iter().map(|(_, event)| event.position).collect();
    assert_eq!(
        positions,
        (1..=15).collect::<Vec<_>>(),
        "each event exactly once, in order"
    );
}

#[tokio::test]
async fn appends_go_on_while_nats_is_down_and_a_subscriber_still_gets_everything_in_order() {
    let mut nats = TestNats::start();
    let db = TestDb::postgres().await;
    let store = db.store().await;
    let (config, bus, jetstream) = nats_bus(&nats).await;

    // A durable consumer, as a downstream service would have.
    let consumer: async_nats::jetstream::consumer::PullConsumer = jetstream
        .jetstream()
        .get_stream(&config.stream)
        .await
        .unwrap()
        .get_or_create_consumer(
            "follower",
            async_nats::jetstream::consumer::pull::Config {
                durable_name: Some("follower".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let stop = CancellationToken::new();
    let relay = spawn_relay(&store, bus, &stop);
    append_many(&store, "a", 1, 10).await;
    wait_for_stream(&jetstream, 10).await;

    nats.stop();
    // The store does not need the bus: every append succeeds during the outage.
    append_many(&store, "a", 11, 25).await;
    assert_eq!(store.head().await.unwrap(), 25);
    nats.restart();

    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while received.len() < 25 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "got only {received:?}"
        );
        let batch = consumer
            .fetch()
            .max_messages(50)
            .expires(Duration::from_millis(500))
            .messages()
            .await;
        let Ok(mut messages) = batch else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        while let Some(Ok(message)) = messages.next().await {
            let event: commands::StoredEvent = serde_json::from_slice(&message.payload).unwrap();
            received.push(event.position);
            let _ = message.ack().await;
        }
    }
    stop.cancel();
    relay.await.unwrap();
    assert_eq!(received, (1..=25).collect::<Vec<_>>());
}

/// Two subscribers each get every committed event, in order (on NATS through the process's one
/// shared subscription).
async fn every_subscriber_gets_every_event(bus: EventBus) {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let mut first = bus.subscribe().await.unwrap();
    let mut second = bus.subscribe().await.unwrap();
    let stop = CancellationToken::new();
    let relay = spawn_relay(&store, bus, &stop);
    append_many(&store, "a", 1, 5).await;
    for subscription in [&mut first, &mut second] {
        let mut positions = Vec::new();
        while positions.len() < 5 {
            match tokio::time::timeout(Duration::from_secs(10), subscription.next()).await {
                Ok(Some(BusMessage::Event(event))) => positions.push(event.position),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(positions, vec![1, 2, 3, 4, 5]);
    }
    stop.cancel();
    relay.await.unwrap();
}

#[tokio::test]
async fn the_in_process_bus_delivers_committed_events_to_every_subscriber() {
    every_subscriber_gets_every_event(EventBus::in_process()).await;
}

#[tokio::test]
async fn the_nats_bus_delivers_committed_events_to_every_subscriber() {
    let nats = TestNats::start();
    let (_, bus, _) = nats_bus(&nats).await;
    every_subscriber_gets_every_event(bus).await;
}
