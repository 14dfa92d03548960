//! Load binary: how long the dialer takes to decide, for a campaign of 10,000 contacts
//! (SQLite, embedded). `cargo run --release -p callbot-tests --bin dialer-bench`

use std::sync::Arc;
use std::time::{Duration, Instant};

use callbot_tests::TestDb;
use chrono::{TimeZone, Utc};
use commands::dial_queue::DialPlacer;
use commands::dialer::InMemoryTelephony;
use commands::{CancellationToken, Clock, CommandContext, Commands, EventBus, ManualClock, Relay};
use domain::PhoneNumber;
use domain::call::{AttemptEnd, Call, CallCommand};
use domain::campaign::{Campaign, CampaignCommand, Contact};
use domain::policy::CampaignSettings;
use projections::dialer_view::ReadModelView;
use projections::{CampaignList, ProjectionRunner};
use uuid::Uuid;
use workers::dial_consumer::StoreDialQueue;
use workers::dialer::Dialer;

#[tokio::main]
async fn main() {
    let contacts: usize = std::env::args()
        .nth(1)
        .map_or(10_000, |n| n.parse().expect("a number"));
    let db = TestDb::sqlite();
    let store = db.store().await;
    let bus = EventBus::in_process();
    let stop = CancellationToken::new();
    let runner = ProjectionRunner::new(store.clone(), bus.clone(), Arc::new(CampaignList));
    let handle = runner.handle();
    tokio::spawn(runner.run(stop.clone()));
    tokio::spawn(workers::relay::run(
        Relay::new(store.clone(), bus),
        stop.clone(),
    ));
    let clock = Arc::new(ManualClock::new(
        chrono_tz::Asia::Seoul
            .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    ));
    let telephony = Arc::new(InMemoryTelephony::default());
    let view = Arc::new(ReadModelView::new(store.clone(), handle.clone()));
    let dialer = Dialer::new(store.clone(), view, clock.clone());
    let queue = StoreDialQueue::new(
        DialPlacer::new(store.clone(), telephony, clock.clone()),
        store.clone(),
    );
    let campaigns = Commands::<Campaign>::new(store.clone(), ());
    let calls = Commands::<Call>::new(store.clone(), ());
    let system = CommandContext::new("system");

    let id = Uuid::new_v4();
    let contacts: Vec<Contact> = (0..contacts)
        .map(|i| Contact {
            call_id: Uuid::new_v4(),
            phone: PhoneNumber::parse_kr(&format!(
                "010-{:04}-{:04}",
                2000 + i / 10_000,
                i % 10_000
            ))
            .expect("valid"),
            name: Some(format!("고객{i}")),
            context: Default::default(),
        })
        .collect();
    let count = contacts.len();
    let started = Instant::now();
    let create = CampaignCommand::CreateCampaign {
        owner_id: Uuid::new_v4(),
        name: "bench".into(),
        script_id: Uuid::new_v4(),
        script_version: 1,
        settings: CampaignSettings::default(),
        contacts,
        variables: Default::default(),
        at: Utc::now(),
    };
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
