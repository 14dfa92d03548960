//! Load binary: how long the dialer takes to decide, for a campaign of 10,000 contacts
//! (SQLite, embedded). `cargo run --release -p callbot-tests --bin dialer-bench`

use std::sync::Arc;
use std::time::{Duration, Instant};

use callbot_tests::TestDb;
use callbot_tests::fixtures::{
    contact, create_campaign, dial_queue, dialer, project_campaign_list, seoul,
};
use chrono::Utc;
use commands::dialer::InMemoryTelephony;
use commands::{CancellationToken, Clock, CommandContext, Commands, ManualClock};
use domain::call::{AttemptEnd, Call, CallCommand};
use domain::campaign::{Campaign, CampaignCommand, Contact};
use domain::policy::CampaignSettings;
use uuid::Uuid;

#[tokio::main]
async fn main() {
    let contacts: usize = std::env::args()
        .nth(1)
        .map_or(10_000, |n| n.parse().expect("a number"));
    let db = TestDb::sqlite();
    let store = db.store().await;
    let stop = CancellationToken::new();
    let handle = project_campaign_list(&store, &stop);
    let clock = Arc::new(ManualClock::new(seoul(10, 0)));
    let dialer = dialer(&store, &handle, &clock);
    let queue = dial_queue(&store, Arc::new(InMemoryTelephony::default()), &clock);
    let campaigns = Commands::<Campaign>::new(store.clone(), ());
    let calls = Commands::<Call>::new(store.clone(), ());
    let system = CommandContext::new("system");

    let id = Uuid::new_v4();
    let contacts: Vec<Contact> = (0..contacts)
        .map(|i| {
            let number = format!("010-{:04}-{:04}", 2000 + i / 10_000, i % 10_000);
            contact(&number, &format!("고객{i}"))
        })
        .collect();
    let count = contacts.len();
    let started = Instant::now();
    let settings = CampaignSettings::default();
    let create = create_campaign(Uuid::new_v4(), "bench", settings, contacts, Utc::now());
    campaigns
        .execute(&id.to_string(), create, &system)
        .await
        .expect("create");
    campaigns
        .execute(
            &id.to_string(),
            CampaignCommand::StartCampaign { at: Utc::now() },
            &system,
        )
        .await
        .expect("start");
    let head = store.head().await.expect("head");
    assert!(handle.wait_for(head, Duration::from_secs(120)).await);
    println!(
        "created a campaign of {count} contacts and projected it in {:?}",
        started.elapsed()
    );

    // Each round: the five calls in flight end, then one tick decides and dials the next five.
    let mut latencies = Vec::new();
    for _ in 0..60 {
        let started = Instant::now();
        let report = dialer.tick().await.expect("tick");
        queue.drain().await.expect("place");
        latencies.push(started.elapsed());
        for call in report.dialed {
            let end = CallCommand::RecordAttemptEnded {
                end: AttemptEnd::Completed,
                duration_secs: 30,
                at: clock.now(),
            };
            calls
                .execute(&call.to_string(), end, &system)
                .await
                .expect("end");
        }
        let head = store.head().await.expect("head");
        assert!(handle.wait_for(head, Duration::from_secs(30)).await);
    }
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "dialer tick over {count} contacts (decide + 5 dials incl. commands): p50 {:?}  p99 {:?}  max {:?}",
        pick(0.5),
        pick(0.99),
        latencies.last().unwrap()
    );
    stop.cancel();
}
