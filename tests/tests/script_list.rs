//! The script read model: drafts, saves, edits (a version each) and deletes on real aggregates,
//! followed live, then rebuilt from the history into the same rows — on SQLite and Postgres.

use std::sync::Arc;

use callbot_tests::TestDb;
use callbot_tests::fixtures::{self, forget_projection, rewind_projection};
use chrono::{TimeZone, Utc};
use commands::script_writer::{OfflineWriter, ScriptRequest};
use commands::services::scripts::{ScriptRecord, ScriptState};
use commands::{CancellationToken, CommandContext, Commands, EventBus, EventStore};
use domain::script::{Language, Script, ScriptCommand, ScriptContent};
use projections::script_list::ScriptList;
use uuid::Uuid;

fn content(input: &str) -> ScriptContent {
    OfflineWriter::compose(&ScriptRequest::new(input, Language::Ko))
}

async fn project_to_head(store: &EventStore, bus: &EventBus, stop: &CancellationToken) {
    fixtures::project_to_head(store, bus, Arc::new(ScriptList), stop).await;
}

async fn all_rows(store: &EventStore, owner: Uuid) -> Vec<ScriptRecord> {
    ScriptList::for_owner(store.db().pool(), owner, true)
        .await
        .unwrap()
}

async fn the_script_list_follows_commands_and_rebuilds_identically(store: EventStore) {
    let bus = EventBus::in_process();
    let scripts = Commands::<Script>::new(store.clone(), ());
    let (owner, stranger) = (Uuid::new_v4(), Uuid::new_v4());
    let context = CommandContext::new(owner.to_string());
    let at = |minute| Utc.with_ymd_and_hms(2026, 2, 4, 9, minute, 0).unwrap();
    let (drafted, created) = (Uuid::now_v7(), Uuid::now_v7());
    let generated = content("내일 오후 2시 예약 확인하고 변경 원하면 다른 시간 제안해줘");
    let mut edited = generated.clone();
    edited.closing = "감사합니다. 내일 뵙겠습니다.".to_owned();
    let stop = CancellationToken::new();
    project_to_head(&store, &bus, &stop).await;

    let run = |id: Uuid, command: ScriptCommand| {
        let scripts = &scripts;
        let context = &context;
        async move {
            scripts
                .execute(&id.to_string(), command, context)
                .await
                .unwrap()
        }
    };
    run(
        drafted,
        ScriptCommand::DraftScript {
            owner_id: owner,
            name: "내일 오후 2시 예약 확인".to_owned(),
            natural_input: "내일 오후 2시 예약 확인하고 변경 원하면 다른 시간 제안해줘".to_owned(),
            content: generated.clone(),
            writer: "offline".to_owned(),
            at: at(0),
        },
    )
    .await;
    run(
        created,
        ScriptCommand::CreateScript {
            owner_id: owner,
            name: "행사 참석 확인".to_owned(),
            natural_input: "내일 행사 참석 여부 확인해줘".to_owned(),
            content: content("내일 행사 참석 여부 확인해줘"),
            at: at(1),
        },
    )
    .await;
    run(
        drafted,
        ScriptCommand::SaveDraft {
            name: "2월 5일 예약 확인".to_owned(),
            natural_input: "내일 오후 2시 예약 확인하고 변경 원하면 다른 시간 제안해줘".to_owned(),
            content: edited.clone(),
            at: at(2),
        },
    )
    .await;
    run(
        drafted,
        ScriptCommand::EditScript {
            name: None,
            content: generated.clone(),
            at: at(3),
        },
    )
    .await;
    run(created, ScriptCommand::DeleteScript { at: at(4) }).await;

    // Live: the runner follows the bus.
    stop.cancel();
    let stop = CancellationToken::new();
    project_to_head(&store, &bus, &stop).await;
    let pool = store.db().pool();
    let live = all_rows(&store, owner).await;
    assert_eq!(live.len(), 1, "the deleted script is gone: {live:?}");
    let row = &live[0];
    assert_eq!(row.id, drafted);
    assert_eq!(row.name, "2월 5일 예약 확인");
    assert_eq!(row.status, ScriptState::Saved);
    assert_eq!(row.version, 3, "draft 1, saved with changes 2, edited 3");
    assert_eq!(row.content, generated);
    assert_eq!(row.writer.as_deref(), Some("offline"));
    assert_eq!((row.created_at, row.updated_at), (at(0), at(3)));
    assert_eq!(
        ScriptList::find(pool, owner, drafted)
            .await
            .unwrap()
            .as_ref(),
        Some(row)
    );
    assert_eq!(
        ScriptList::find(pool, stranger, drafted).await.unwrap(),
        None
    );
    assert_eq!(ScriptList::find(pool, owner, created).await.unwrap(), None);
    assert_eq!(
        ScriptList::for_owner(pool, owner, false)
            .await
            .unwrap()
            .len(),
        1
    );
    let second = ScriptList::find_version(pool, owner, drafted, 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.version, &second.content), (2, &edited));
    assert_eq!(
        ScriptList::find_version(pool, owner, created, 1)
            .await
            .unwrap()
            .map(|v| v.version),
        Some(1),
        "a deleted script's versions stay for the campaigns that use them"
    );
    assert_eq!(
        ScriptList::find_version(pool, stranger, drafted, 1)
            .await
            .unwrap(),
        None
    );
    let versions_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM script_versions")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(versions_before, 4);

    // Rebuild from nothing, then replay from the middle: same rows both times.
    stop.cancel();
    forget_projection(&store, &["scripts", "script_versions"], "script_list").await;
    let stop = CancellationToken::new();
    project_to_head(&store, &bus, &stop).await;
    assert_eq!(all_rows(&store, owner).await, live);
    stop.cancel();
    rewind_projection(&store, "script_list", 2).await;
    let stop = CancellationToken::new();
    project_to_head(&store, &bus, &stop).await;
    assert_eq!(all_rows(&store, owner).await, live);
    let versions_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM script_versions")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(versions_after, versions_before);
    stop.cancel();
}

#[tokio::test]
async fn sqlite() {
    let db = TestDb::sqlite();
    the_script_list_follows_commands_and_rebuilds_identically(db.store().await).await;
}

#[tokio::test]
async fn postgres() {
    let db = TestDb::postgres().await;
    the_script_list_follows_commands_and_rebuilds_identically(db.store().await).await;
}
