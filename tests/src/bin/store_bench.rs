//! Load binary: append throughput and catch-up read rate of the event store, the relay's
//! publish rate to NATS JetStream, and the Argon2id cost of one login.
//!
//! `cargo run --release -p callbot-tests --bin store-bench -- [events]`
//! Uses a temporary SQLite file, a throwaway Postgres database (TEST_POSTGRES_URL) and, for the
//! relay, a private nats-server (NATS_SERVER_BIN).

use std::sync::Arc;
use std::time::{Duration, Instant};

use callbot_tests::fixtures::call_answered;
use callbot_tests::{TestDb, TestNats};
use commands::{CancellationToken, EventBus, EventStore, NatsConfig, Relay};

async fn appends(store: &EventStore, writers: usize, total: usize, batch: usize) -> f64 {
    let per_writer = total / writers;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("{}-{writer}", uuid::Uuid::new_v4());
            let mut sequence = 1;
            while sequence <= per_writer {
                let events: Vec<_> = (sequence..sequence + batch)
                    .map(|s| call_answered(&id, s))
                    .collect();
                store.append(&events).await.expect("append");
                sequence += batch;
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    (writers * per_writer) as f64 / started.elapsed().as_secs_f64()
}

async fn catch_up(store: &EventStore) -> (usize, f64) {
    let started = Instant::now();
    let (mut position, mut count) = (0, 0);
    loop {
        let page = store.read_after(position, 500).await.expect("read");
        let Some(last) = page.last() else { break };
        position = last.position;
        count += page.len();
    }
    (count, count as f64 / started.elapsed().as_secs_f64())
}

async fn relay_rate(store: &EventStore, nats: &TestNats) -> f64 {
    let config = NatsConfig {
        url: nats.url(),
        stream: "BENCH".into(),
        subject_prefix: "bench".into(),
    };
    let bus = EventBus::nats(config).await.expect("nats");
    let head = store.head().await.expect("head");
    let stop = CancellationToken::new();
    let started = Instant::now();
    let relay = tokio::spawn(workers::relay::run(
        Relay::new(store.clone(), bus),
        stop.clone(),
    ));
    while store
        .checkpoint(commands::relay::RELAY_CHECKPOINT)
        .await
        .expect("cp")
        < head
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = head as f64 / started.elapsed().as_secs_f64();
    stop.cancel();
    let _ = relay.await;
    rate
}

async fn bench(name: &str, db: TestDb, events: usize, nats: &TestNats) {
    let store = EventStore::open(db.connect().await, Arc::default())
        .await
        .expect("store");
    let single = appends(&store, 1, events / 4, 1).await;
    let concurrent = appends(&store, 8, events, 1).await;
    let batched = appends(&store, 8, events, 10).await;
    let (count, read) = catch_up(&store).await;
    let relay = relay_rate(&store, nats).await;
    println!(
        "{name:<9} append 1 writer {single:>8.0} ev/s | 8 writers {concurrent:>8.0} ev/s | \
         8 writers x10 batch {batched:>8.0} ev/s | catch-up read {read:>9.0} ev/s ({count} events) \
         | relay to JetStream {relay:>7.0} ev/s"
    );
}

/// What one login costs in password hashing with the production Argon2 parameters.
async fn argon2_cost() {
    let hash = api::auth::hash_password("password123".to_owned())
        .await
        .expect("hash");
    let rounds = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(api::auth::verify_password("password123".to_owned(), hash.clone()).await);
    }
    let per_login = started.elapsed() / rounds;
    println!("argon2id  {hash:.30}…  verify (one login) {per_login:?}");
}

#[tokio::main]
async fn main() {
    argon2_cost().await;
    let events: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("a number of events"))
        .unwrap_or(4_000);
    let nats = TestNats::start();
    bench("sqlite", TestDb::sqlite(), events, &nats).await;
    bench("postgres", TestDb::postgres().await, events, &nats).await;
}
