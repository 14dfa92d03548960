//! Tamper evidence: the hash chain over the event log, and `callbot audit verify`, on SQLite
//! and Postgres. Each test edits, deletes or slips in rows behind the store's back with plain
//! SQL, the way someone with database access would.

use callbot_tests::TestDb;
use callbot_tests::fixtures::{call_answered, contact, create_campaign};
use commands::EventStore;
use commands::store::{ChainFields, ChainProblem, GENESIS_HASH, chain_hash};
use sqlx::Row;

/// Ten events (one batch of three among them), positions 1..=10.
async fn ten_events(db: &TestDb) -> EventStore {
    let store = db.store().await;
    for sequence in 1..=4 {
        store.append(&[call_answered("a", sequence)]).await.unwrap();
    }
    store
        .append(&[
            call_answered("b", 1),
            call_answered("b", 2),
            call_answered("b", 3),
        ])
        .await
        .unwrap();
    for sequence in 5..=7 {
        store.append(&[call_answered("a", sequence)]).await.unwrap();
    }
    assert_eq!(store.head().await.unwrap(), 10);
    store
}

async fn problem(db: &TestDb) -> Option<ChainProblem> {
    let report = callbot::maintenance::verify_report(&db.url, false)
        .await
        .unwrap();
    report.problem
}

/// The audit (`callbot audit verify`) fails, naming the broken event as `what` says.
async fn assert_audit_fails_with(db: &TestDb, what: &str) {
    let err = callbot::maintenance::audit_verify(&db.url)
        .await
        .unwrap_err();
    assert!(err.to_string().contains(what), "{err}");
}

async fn exec(store: &EventStore, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(store.db().pool())
        .await
        .unwrap();
}

async fn fields_and_hash(store: &EventStore, position: i64) -> (ChainFields, String) {
    let row = sqlx::query(
        "SELECT event_id, aggregate_type, aggregate_id, sequence, event_type, event_version, \
         payload, metadata, recorded_at, hash FROM events WHERE global_position = $1",
    )
    .bind(position)
    .fetch_one(store.db().pool())
    .await
    .unwrap();
    let fields = ChainFields {
        event_id: row.get("event_id"),
        aggregate_type: row.get("aggregate_type"),
        aggregate_id: row.get("aggregate_id"),
        sequence: row.get("sequence"),
        event_type: row.get("event_type"),
        event_version: row.get("event_version"),
        payload: row.get("payload"),
        metadata: row.get("metadata"),
        recorded_at: row.get("recorded_at"),
    };
    (fields, row.get("hash"))
}

/// Inserts a forged event at `position`, correctly chained to `prev_hash`.
async fn forge(store: &EventStore, position: i64, prev_hash: &str) {
    let fields = ChainFields {
        event_id: uuid::Uuid::new_v4().to_string(),
        aggregate_type: "call".into(),
        aggregate_id: "forged".into(),
        sequence: 1,
        event_type: "CallAnswered".into(),
        event_version: "1.0".into(),
        payload: r#"{"CallAnswered":{"attempt":1,"answered_at":"2026-11-21T05:00:00Z"}}"#.into(),
        metadata: r#"{"actor":"twilio"}"#.into(),
        recorded_at: "2026-11-21T05:00:00.000000Z".into(),
    };
    let hash = chain_hash(prev_hash, &fields);
    sqlx::query(
        "INSERT INTO events (global_position, event_id, aggregate_type, aggregate_id, sequence, \
         event_type, event_version, payload, metadata, recorded_at, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(position)
    .bind(fields.event_id.clone())
    .bind(fields.aggregate_type.clone())
    .bind(fields.aggregate_id.clone())
    .bind(fields.sequence)
    .bind(fields.event_type.clone())
    .bind(fields.event_version.clone())
    .bind(fields.payload.clone())
    .bind(fields.metadata.clone())
    .bind(fields.recorded_at.clone())
    .bind(prev_hash.to_owned())
    .bind(hash)
    .execute(store.db().pool())
    .await
    .unwrap();
}

async fn an_untouched_log_verifies(db: TestDb) {
    let store = ten_events(&db).await;
    let report = callbot::maintenance::verify_report(&db.url, false)
        .await
        .unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(
        (report.checked, report.head, report.chain_start),
        (10, 10, 1)
    );
    let (first, first_hash) = fields_and_hash(&store, 1).await;
    assert_eq!(chain_hash(GENESIS_HASH, &first), first_hash);
    let (_, last_hash) = fields_and_hash(&store, 10).await;
    assert_eq!(report.head_hash, last_hash);
    callbot::maintenance::audit_verify(&db.url).await.unwrap();
}

async fn an_edited_payload_is_named(db: TestDb) {
    let store = ten_events(&db).await;
    exec(
        &store,
        "UPDATE events SET payload = replace(payload, 'CallAnswered', 'CallCompleted') \
         WHERE global_position = 6",
    )
    .await;
    assert_eq!(
        problem(&db).await,
        Some(ChainProblem::Edited { position: 6 })
    );
    assert_audit_fails_with(&db, "event #6 was edited").await;
}

async fn edited_metadata_of_the_last_event_is_named(db: TestDb) {
    let store = ten_events(&db).await;
    exec(
        &store,
        r#"UPDATE events SET metadata = '{"actor":"someone-else"}' WHERE global_position = 10"#,
    )
    .await;
    assert_eq!(
        problem(&db).await,
        Some(ChainProblem::Edited { position: 10 })
    );
}

async fn a_deleted_event_is_named(db: TestDb) {
    let store = ten_events(&db).await;
    exec(&store, "DELETE FROM events WHERE global_position = 4").await;
    assert_eq!(
        problem(&db).await,
        Some(ChainProblem::Deleted { first: 4, last: 4 })
    );
    assert_audit_fails_with(&db, "event #4 was deleted").await;
}

async fn a_deleted_last_event_is_named(db: TestDb) {
    let store = ten_events(&db).await;
    exec(&store, "DELETE FROM events WHERE global_position = 10").await;
    assert_eq!(
        problem(&db).await,
        Some(ChainProblem::Deleted {
            first: 10,
            last: 10
        })
    );
}

async fn a_deletion_hidden_by_renumbering_is_named(db: TestDb) {
    let store = ten_events(&db).await;
    exec(&store, "DELETE FROM events WHERE global_position = 4").await;
    for position in 5..=10 {
        let sql = format!(
            "UPDATE events SET global_position = {} WHERE global_position = {position}",
            position - 1
        );
        exec(&store, &sql).await;
    }
    exec(&store, "UPDATE event_position SET last = 9").await;
    assert_eq!(
        problem(&db).await,
        Some(ChainProblem::Deleted { first: 4, last: 4 })
    );
}

async fn a_forged_event_at_the_end_is_named(db: TestDb) {
    let store = ten_events(&db).await;
    let (_, last_hash) = fields_and_hash(&store, 10).await;
    forge(&store, 11, &last_hash).await;
    assert_eq!(
        problem(&db).await,
        Some(ChainProblem::Inserted { position: 11 })
    );
    // Even with the head moved to cover it, the recorded head hash gives it away.
    exec(&store, "UPDATE event_position SET last = 11").await;
    assert_eq!(
        problem(&db).await,
        Some(ChainProblem::Inserted { position: 11 })
    );
}

async fn a_forged_event_slipped_in_the_middle_is_named(db: TestDb) {
    let store = ten_events(&db).await;
    for position in (6..=10).rev() {
        let sql = format!(
            "UPDATE events SET global_position = {} WHERE global_position = {position}",
            position + 1
        );
        exec(&store, &sql).await;
    }
    let (_, hash_5) = fields_and_hash(&store, 5).await;
    forge(&store, 6, &hash_5).await;
    exec(&store, "UPDATE event_position SET last = 11").await;
    assert_eq!(
        problem(&db).await,
        Some(ChainProblem::Inserted { position: 6 })
    );
    assert_audit_fails_with(&db, "event #6 was inserted").await;
}

callbot_tests::backend_tests!(
    sqlite: [
        an_untouched_log_verifies,
        an_edited_payload_is_named,
        edited_metadata_of_the_last_event_is_named,
        a_deleted_event_is_named,
        a_deleted_last_event_is_named,
        a_deletion_hidden_by_renumbering_is_named,
        a_forged_event_at_the_end_is_named,
        a_forged_event_slipped_in_the_middle_is_named,
    ],
    postgres: [
        an_untouched_log_verifies,
        an_edited_payload_is_named,
        a_deleted_event_is_named,
        a_deletion_hidden_by_renumbering_is_named,
        a_forged_event_slipped_in_the_middle_is_named,
    ],
);

/// Replay on Postgres: the scratch tables live in a schema of their own on the same server.
#[tokio::test]
async fn postgres_replay_rebuilds_identical_read_models_and_spots_drift() {
    use std::sync::Arc;
    use std::time::Duration;

    use commands::{CancellationToken, CommandContext, Commands, EventBus};
    use domain::call::{Call, CallCommand};
    use domain::campaign::{Campaign, CampaignCommand, Contact};
    use projections::{CampaignList, ProjectionRunner, ScriptList};

    let db = TestDb::postgres().await;
    let store = db.store().await;
    let bus = EventBus::in_process();
    let stop = CancellationToken::new();
    let campaigns_runner =
        ProjectionRunner::new(store.clone(), bus.clone(), Arc::new(CampaignList));
    let handle = campaigns_runner.handle();
    tokio::spawn(campaigns_runner.run(stop.clone()));
    tokio::spawn(
        ProjectionRunner::new(store.clone(), bus.clone(), Arc::new(ScriptList)).run(stop.clone()),
    );
    tokio::spawn(workers::relay::run(
        commands::Relay::new(store.clone(), bus),
        stop.clone(),
    ));

    let owner = uuid::Uuid::new_v4();
    let campaign = uuid::Uuid::new_v4();
    let contacts: Vec<Contact> = (1..=3)
        .map(|n| contact(&format!("010-5550-{:04}", 100 + n), &format!("고객{n}")))
        .collect();
    let context = CommandContext::new("system");
    let now = chrono::Utc::now();
    let campaigns = Commands::<Campaign>::new(store.clone(), ());
    campaigns
        .execute(
            &campaign.to_string(),
            create_campaign(
                owner,
                "예약 확인",
                Default::default(),
                contacts.clone(),
                now,
            ),
            &context,
        )
        .await
        .unwrap();
    campaigns
        .execute(
            &campaign.to_string(),
            CampaignCommand::StartCampaign { at: now },
            &context,
        )
        .await
        .unwrap();
    let calls = Commands::<Call>::new(store.clone(), ());
    let first = &contacts[0];
    let call = first.call_id.to_string();
    calls
        .execute(
            &call,
            CallCommand::CreateCall {
                campaign_id: campaign,
                owner_id: owner,
                phone: first.phone.clone(),
                contact_name: first.name.clone(),
                context: Default::default(),
                retry: Default::default(),
                at: now,
            },
            &context,
        )
        .await
        .unwrap();
    calls
        .execute(&call, CallCommand::RequestDial { at: now }, &context)
        .await
        .unwrap();
    calls
        .execute(&call, CallCommand::RecordAnswered { at: now }, &context)
        .await
        .unwrap();
    let head = store.head().await.unwrap();
    assert!(handle.wait_for(head, Duration::from_secs(10)).await);

    let diffs = callbot::maintenance::replay_report(&db.url, false)
        .await
        .unwrap();
    assert_eq!(diffs, vec![]);
    sqlx::query("UPDATE campaign_list SET name = 'edited' WHERE campaign_id = $1")
        .bind(campaign.to_string())
        .execute(store.db().pool())
        .await
        .unwrap();
    let diffs = callbot::maintenance::replay_report(&db.url, false)
        .await
        .unwrap();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert_eq!(diffs[0].table, "campaign_list");
    assert!(diffs[0].examples[0].contains("name=edited"));
    // The scratch schema is gone afterwards.
    let schemas: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'callbot_replay_%'",
    )
    .fetch_one(store.db().pool())
    .await
    .unwrap();
    assert_eq!(schemas, 0);
    stop.cancel();
}
