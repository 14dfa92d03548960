//! History stays readable on the read side: the domain's golden event fixtures, appended to a
//! fresh SQLite store as one life of an account, a script, a campaign and a call, run through
//! every projection without error, twice (a rebuild replays everything, so applying must be
//! idempotent), and the read models answer their queries from the rows they built. See
//! `docs/adr/0008-event-history-fixtures.md`.

#[path = "../../domain/tests/history/mod.rs"]
mod history;

use std::sync::Arc;

use commands::services::campaigns_view::CallFilter;
use commands::{Db, EventMetadata, EventStore};
use cqrs_es::persist::SerializedEvent;
use domain::account::AccountEvent;
use domain::call::CallEvent;
use domain::campaign::CampaignEvent;
use domain::script::ScriptEvent;
use history::{AGGREGATES, Fixture, in_declaration_order, variant_names};
use projections::call_list::CallList;
use projections::post_call_work::PostCallWork;
use projections::recordings::Recordings;
use projections::replay::{read_models, rebuild};
use projections::runner::Projection;
use projections::{CampaignList, ScriptList};
use uuid::Uuid;

/// The ids the fixtures refer to each other by (owner, script, campaign, call).
const OWNER: &str = "01938f2a-0000-7000-8000-000000000001";
const SCRIPT: &str = "01938f2a-0000-7000-8000-000000000002";
const CAMPAIGN: &str = "01938f2a-0000-7000-8000-000000000003";
const CALL: &str = "01938f2a-0000-7000-8000-000000000004";

fn aggregate_id(aggregate_type: &str) -> &'static str {
    match aggregate_type {
        "account" => OWNER,
        "script" => SCRIPT,
        "campaign" => CAMPAIGN,
        "call" => CALL,
        other => panic!("no fixture aggregate {other}"),
    }
}

/// Every fixture as one history: aggregates in the order they come to exist, each one's events
/// in declaration order, deletions at the very end (after them nothing else happens).
fn history() -> Vec<Fixture> {
    let variants = [
        variant_names::<AccountEvent>(),
        variant_names::<ScriptEvent>(),
        variant_names::<CampaignEvent>(),
        variant_names::<CallEvent>(),
    ];
    let (mut life, deletions): (Vec<Fixture>, Vec<Fixture>) = AGGREGATES
        .iter()
        .zip(variants)
        .flat_map(|(aggregate_type, variants)| in_declaration_order(aggregate_type, variants))
        .partition(|fixture| !fixture.is_deletion());
    life.extend(deletions);
    life
}

/// Every projection that reads the global stream.
fn projections() -> Vec<Arc<dyn Projection>> {
    let mut all: Vec<Arc<dyn Projection>> = read_models()
        .into_iter()
        .map(|(projection, _)| projection)
        .collect();
    all.push(Arc::new(PostCallWork));
    all
}

async fn append(store: &EventStore, fixtures: &[Fixture], sequences: &mut [usize; 4]) {
    for fixture in fixtures {
        let index = AGGREGATES
            .iter()
            .position(|name| *name == fixture.aggregate_type)
            .expect("a known aggregate");
        sequences[index] += 1;
        let metadata = EventMetadata {
            actor: "fixture".to_owned(),
            ..EventMetadata::default()
        };
        let event = SerializedEvent {
            aggregate_id: aggregate_id(&fixture.aggregate_type).to_owned(),
            sequence: sequences[index],
            aggregate_type: fixture.aggregate_type.clone(),
            event_type: fixture.event_type.clone(),
            event_version: fixture.event_version.clone(),
            payload: fixture.payload.clone(),
            metadata: serde_json::to_value(metadata.to_map()).expect("a map serializes"),
        };
        store
            .append(&[event])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", fixture.path.display()));
    }
}

async fn project_everything(store: &EventStore, db: &Db) {
    let head = store.head().await.expect("the head");
    for projection in projections() {
        rebuild(store, db, projection.as_ref(), head, |_, _| {})
            .await
            .unwrap_or_else(|e| panic!("{} failed on the fixtures: {e}", projection.name()));
    }
}

#[tokio::test]
async fn stored_events_of_every_type_run_through_every_projection() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("history.db").display());
    let db = Db::connect_and_migrate(&url)
        .await
        .expect("a migrated database");
    let store = EventStore::open(db.clone(), Default::default())
        .await
        .expect("the store opens");
    let history = history();
    let split = history
        .iter()
        .position(Fixture::is_deletion)
        .unwrap_or(history.len());
    let mut sequences = [0; 4];

    append(&store, &history[..split], &mut sequences).await;
    project_everything(&store, &db).await;
    // And again: a rebuild replays what was applied already.
    project_everything(&store, &db).await;

    let pool = db.pool();
    let campaign = CampaignList::find(pool, OWNER, CAMPAIGN)
        .await
        .expect("the campaign list reads")
        .expect("the campaign is listed");
    assert_eq!(campaign.name, "11월 예약 확인");
    let owner = Uuid::parse_str(OWNER).expect("a uuid");
    let script = Uuid::parse_str(SCRIPT).expect("a uuid");
    assert!(
        ScriptList::find(pool, owner, script)
            .await
            .expect("the script list reads")
            .is_some()
    );
    let call = CallList::find(pool, OWNER, CALL)
        .await
        .expect("the call list reads")
        .expect("the call is listed");
    assert_eq!(call.campaign_id, CAMPAIGN);
    let calls = CallList::for_campaign(pool, CAMPAIGN)
        .await
        .expect("the campaign's calls read");
    assert_eq!(calls.len(), 1);
    CallList::for_dialer(pool, CAMPAIGN, 64)
        .await
        .expect("the dialer's view reads");
    CallList::page(pool, CAMPAIGN, &CallFilter::default(), 50, 0)
        .await
        .expect("a page of calls reads");
    assert!(
        CallList::conversation_end(pool, CALL)
            .await
            .expect("the conversation end reads")
            .is_some()
    );
    Recordings::find(pool, OWNER, CALL)
        .await
        .expect("the recordings read");

    append(&store, &history[split..], &mut sequences).await;
    project_everything(&store, &db).await;
    assert!(
        CampaignList::find(pool, OWNER, CAMPAIGN)
            .await
            .expect("the campaign list reads")
            .is_none(),
        "a deleted campaign leaves the list"
    );
}
