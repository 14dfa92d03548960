//! The projection path end to end: commands on real aggregates, the relay, the bus and the
//! campaign list read model, on SQLite with the in-process bus and on Postgres with NATS.

use std::sync::Arc;

use callbot_tests::fixtures::{
    self, create_campaign, forget_projection, project_to_head, rewind_projection, wait_for_head,
};
use callbot_tests::{TestDb, TestNats};
use chrono::Utc;
use commands::services::campaigns_view::CampaignRecord;
use commands::store::checkpoint;
use commands::{
    CancellationToken, CommandContext, Commands, EventBus, EventStore, NatsConfig, Relay,
};
use domain::campaign::{Campaign, CampaignCommand, Contact};
use domain::policy::CampaignSettings;
use projections::CampaignList;
use uuid::Uuid;

fn contact(number: &str) -> Contact {
    fixtures::contact(number, "김철수")
}

struct Fixture {
    store: EventStore,
    bus: EventBus,
    stop: CancellationToken,
}

impl Fixture {
    fn new(store: EventStore, bus: EventBus) -> Self {
        let stop = CancellationToken::new();
        Self { store, bus, stop }
    }

    fn start_relay(&self) {
        tokio::spawn(workers::relay::run(
            Relay::new(self.store.clone(), self.bus.clone()),
            self.stop.clone(),
        ));
    }

    /// Runs the projection until it has applied everything in the store.
    async fn project_to_head(&self) -> projections::ProjectionHandle {
        project_to_head(&self.store, &self.bus, Arc::new(CampaignList), &self.stop).await
    }

    /// A fresh runner for the same store and bus (the old one stopped), projected to the head.
    async fn restarted(self) -> Self {
        let restarted = Self::new(self.store, self.bus);
        restarted.project_to_head().await;
        restarted
    }

    async fn list(&self, owner: Uuid) -> Vec<CampaignRecord> {
        CampaignList::for_owner(self.store.db().pool(), &owner.to_string())
            .await
            .unwrap()
    }
}

async fn the_campaign_list_follows_commands_and_rebuilds_identically(fixture: Fixture) {
    let campaigns = Commands::<Campaign>::new(fixture.store.clone(), ());
    let owner = Uuid::new_v4();
    let context = CommandContext::new(owner.to_string());
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let calls = [contact("010-5550-0101"), contact("010-5550-0102")];
    let create = |name: &str, contacts: Vec<Contact>| {
        create_campaign(
            owner,
            name,
            CampaignSettings::default(),
            contacts,
            Utc::now(),
        )
    };
    fixture.start_relay();
    let handle = fixture.project_to_head().await;

    let run = async |id: Uuid, command: CampaignCommand| {
        campaigns
            .execute(&id.to_string(), command, &context)
            .await
            .unwrap()
    };
    run(first, create("2월 5일 예약 확인", calls.to_vec())).await;
    run(
        second,
        create("행사 참석 확인", vec![contact("02-312-3456")]),
    )
    .await;
    run(first, CampaignCommand::StartCampaign { at: Utc::now() }).await;
    for call in &calls {
        let finished = CampaignCommand::RecordCallFinished {
            call_id: call.call_id,
            at: Utc::now(),
        };
        run(first, finished).await;
    }
    run(second, CampaignCommand::DeleteCampaign { at: Utc::now() }).await;

    // Live path: the projection follows the bus.
    let head = wait_for_head(&fixture.store, &handle).await;
    let live = fixture.list(owner).await;
    assert_eq!(live.len(), 1, "the deleted campaign is gone: {live:?}");
    let row = &live[0];
    assert_eq!(row.id, first.to_string());
    assert_eq!(row.name, "2월 5일 예약 확인");
    assert_eq!(row.status.as_str(), "COMPLETED");
    assert_eq!((row.total_calls, row.finished_calls), (2, 2));
    assert!(row.started_at.is_some() && row.completed_at.is_some());
    let pool = &fixture.store.db().pool().clone();
    assert_eq!(checkpoint(pool, "campaigns").await.unwrap(), head);

    // Rebuild: forget the checkpoint and the rows, replay everything, get the same table.
    fixture.stop.cancel();
    forget_projection(&fixture.store, &["campaign_list"], "campaigns").await;
    let rebuilt = fixture.restarted().await;
    assert_eq!(rebuilt.list(owner).await, live);

    // Replaying events already applied (a crash before the checkpoint) changes nothing.
    rebuilt.stop.cancel();
    rewind_projection(&rebuilt.store, "campaigns", 1).await;
    let again = rebuilt.restarted().await;
    assert_eq!(again.list(owner).await, live);
    again.stop.cancel();
}

#[tokio::test]
async fn sqlite_with_the_in_process_bus() {
    let db = TestDb::sqlite();
    let fixture = Fixture::new(db.store().await, EventBus::in_process());
    the_campaign_list_follows_commands_and_rebuilds_identically(fixture).await;
}

#[tokio::test]
async fn postgres_with_nats() {
    let nats = TestNats::start();
    let db = TestDb::postgres().await;
    let unique = Uuid::new_v4().simple().to_string();
    let bus = EventBus::nats(NatsConfig {
        url: nats.url(),
        stream: format!("TEST_{unique}"),
        subject_prefix: format!("test.{unique}"),
    })
    .await
    .unwrap();
    let fixture = Fixture::new(db.store().await, bus);
    the_campaign_list_follows_commands_and_rebuilds_identically(fixture).await;
}
