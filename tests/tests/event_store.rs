//! One contract suite for the event store, run on SQLite and on Postgres.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use callbot_tests::TestDb;
use callbot_tests::fixtures::tally_added;
use commands::{CommandContext, CommandError, Commands, EventStore, StoreError};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::SerializedEvent;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A tiny aggregate so the suite tests the store, not the domain.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Tally {
    total: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum TallyCommand {
    Add(i64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum TallyEvent {
    Added { amount: i64, total: i64 },
}

impl DomainEvent for TallyEvent {
    fn event_type(&self) -> String {
        "Added".into()
    }
    fn event_version(&self) -> String {
        "1.0".into()
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
enum TallyError {
    #[error("amounts must be positive")]
    NotPositive,
}

impl Aggregate for Tally {
    const TYPE: &'static str = "tally";
    type Command = TallyCommand;
    type Event = TallyEvent;
    type Error = TallyError;
    type Services = ();

    async fn handle(
        &mut self,
        command: TallyCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), TallyError> {
        let TallyCommand::Add(amount) = command;
        if amount <= 0 {
            return Err(TallyError::NotPositive);
        }
        let total = self.total + amount;
        sink.write(TallyEvent::Added { amount, total }, self).await;
        Ok(())
    }

    fn apply(&mut self, event: TallyEvent) {
        let TallyEvent::Added { total, .. } = event;
        self.total = total;
    }
}

async fn appended_events_come_back_in_global_order_with_metadata(db: TestDb) {
    let store = db.store().await;
    let tallies = Commands::<Tally>::new(store.clone(), ());
    let context = CommandContext::new("user-1").caused_by("event-0");
    for (id, amount) in [("a", 2), ("b", 3), ("a", 4)] {
        let add = TallyCommand::Add(amount);
        tallies.execute(id, add, &context).await.unwrap();
    }

    let all = store.read_after(0, 100).await.unwrap();
    let positions: Vec<i64> = all.iter().map(|e| e.position).collect();
    assert_eq!(positions, vec![1, 2, 3]);
    let ids: Vec<&str> = all.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(ids, vec!["a", "b", "a"]);
    assert_eq!(all[2].sequence, 2);
    assert_eq!(
        all[2].payload,
        json!({ "Added": { "amount": 4, "total": 6 } })
    );
    assert_eq!(all[0].metadata.actor, "user-1");
    assert_eq!(
        all[0].metadata.correlation_id.as_deref(),
        Some(context.correlation_id.as_str())
    );
    assert_eq!(all[0].metadata.causation_id.as_deref(), Some("event-0"));
    assert_ne!(all[0].event_id, all[1].event_id);
    assert!(all[0].recorded_at <= all[2].recorded_at);
    assert_eq!(store.head().await.unwrap(), 3);
    assert_eq!(store.read_after(1, 1).await.unwrap()[0].position, 2);
    assert_eq!(store.read_aggregate("a").await.unwrap().len(), 2);
}

async fn a_taken_sequence_is_a_typed_conflict_and_nothing_is_half_written(db: TestDb) {
    let store = db.store().await;
    store.append(&[tally_added("a", 1)]).await.unwrap();
    // A batch whose second event collides must leave no trace of the first.
    let err = store
        .append(&[tally_added("b", 1), tally_added("a", 1)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "got {err:?}");
    assert_eq!(store.head().await.unwrap(), 1);
    assert!(store.read_aggregate("b").await.unwrap().is_empty());
    // The position given back by the rollback is reused: no gap.
    assert_eq!(store.append(&[tally_added("b", 1)]).await.unwrap(), vec![2]);
}

async fn commands_rebuild_state_and_report_business_errors(db: TestDb) {
    let store = db.store().await;
    let tallies = Commands::<Tally>::new(store.clone(), ());
    let context = CommandContext::new("system");
    for amount in [5, 7] {
        let add = TallyCommand::Add(amount);
        tallies.execute("t", add, &context).await.unwrap();
    }
    let err = tallies
        .execute("t", TallyCommand::Add(0), &context)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CommandError::Rejected(TallyError::NotPositive)
    ));
    let last = store.read_aggregate("t").await.unwrap().pop().unwrap();
    assert_eq!(
        last.payload,
        json!({ "Added": { "amount": 7, "total": 12 } })
    );
}

async fn racing_commands_on_one_aggregate_are_retried_until_all_land(db: TestDb) {
    let store = db.store().await;
    let tallies = Arc::new(Commands::<Tally>::new(store.clone(), ()));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let tallies = tallies.clone();
        tasks.push(tokio::spawn(async move {
            let context = CommandContext::new("system");
            tallies
                .execute("shared", TallyCommand::Add(1), &context)
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let events = store.read_aggregate("shared").await.unwrap();
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, vec![1, 2, 3, 4]);
    assert_eq!(events[3].payload["Added"]["total"], 4);
}

/// Appends that arrive together are committed together (group commit), yet each one still
/// succeeds or conflicts on its own, keeps its events side by side, and the chain holds.
async fn appends_committed_together_still_succeed_or_conflict_one_by_one(db: TestDb) {
    const WRITERS: usize = 16;
    let store = db.store().await;
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // Two writers race for sequence 1 of one aggregate; the rest write their own.
            let id = if writer < 2 {
                "contested".to_owned()
            } else {
                format!("own-{writer}")
            };
            let events: Vec<SerializedEvent> = (1..=5).map(|s| tally_added(&id, s)).collect();
            store.append(&events).await
        }));
    }
    let mut conflicts = 0;
    let mut positions = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(mine) => {
                assert_eq!(mine.len(), 5);
                assert!(mine.windows(2).all(|w| w[1] == w[0] + 1), "{mine:?}");
                positions.extend(mine);
            }
            Err(StoreError::Conflict) => conflicts += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(conflicts, 1);
    positions.sort_unstable();
    let expected: Vec<i64> = (1..=5 * (WRITERS as i64 - 1)).collect();
    assert_eq!(positions, expected);
    assert_eq!(store.head().await.unwrap(), expected.len() as i64);
    assert_eq!(store.read_aggregate("contested").await.unwrap().len(), 5);
    let chain = store.verify_chain(|_, _| {}).await.unwrap();
    assert!(chain.problem.is_none(), "{:?}", chain.problem);
    assert_eq!(chain.checked, expected.len() as u64);
}

/// Many writers append while a reader follows "everything after the last position I saw"; the
/// reader must see every event exactly once, in global order, with no gaps.
async fn a_catch_up_reader_sees_every_event_of_concurrent_writers_once_in_order(db: TestDb) {
    const WRITERS: usize = 10;
    const EVENTS_PER_WRITER: usize = 60;
    let store = db.store().await;
    let total = (WRITERS * EVENTS_PER_WRITER) as i64;

    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut last = 0;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
            while last < total {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "reader stalled at {last}"
                );
                for event in store.read_after(last, 7).await.unwrap() {
                    seen.push(event.clone());
                    last = event.position;
                }
            }
            seen
        })
    };
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let store: EventStore = store.clone();
        writers.push(tokio::spawn(async move {
            // Half the writers batch two events per append, to mix transaction sizes.
            let mut sequence = 1;
            while sequence <= EVENTS_PER_WRITER {
                let id = format!("writer-{writer}");
                let batch: Vec<SerializedEvent> = if writer % 2 == 0 {
                    vec![tally_added(&id, sequence), tally_added(&id, sequence + 1)]
                } else {
                    vec![tally_added(&id, sequence)]
                };
                sequence += batch.len();
                store.append(&batch).await.unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let seen = reader.await.unwrap();

    let positions: Vec<i64> = seen.iter().map(|e| e.position).collect();
    assert_eq!(
        positions,
        (1..=total).collect::<Vec<_>>(),
        "gaps or repeats"
    );
    let ids: HashSet<_> = seen.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), seen.len(), "an event was delivered twice");
    for writer in 0..WRITERS {
        let sequences: Vec<i64> = seen
            .iter()
            .filter(|e| e.aggregate_id == format!("writer-{writer}"))
            .map(|e| e.sequence)
            .collect();
        assert_eq!(
            sequences,
            (1..=EVENTS_PER_WRITER as i64).collect::<Vec<_>>()
        );
    }
}

async fn checkpoints_start_at_zero_and_remember_positions(db: TestDb) {
    let store = db.store().await;
    assert_eq!(store.checkpoint("relay").await.unwrap(), 0);
    store.save_checkpoint("relay", 41).await.unwrap();
    store.save_checkpoint("relay", 42).await.unwrap();
    assert_eq!(store.checkpoint("relay").await.unwrap(), 42);
    assert_eq!(store.checkpoint("other").await.unwrap(), 0);
}

async fn reopening_the_store_keeps_history_and_head(db: TestDb) {
    let store = db.store().await;
    store
        .append(&[tally_added("a", 1), tally_added("a", 2)])
        .await
        .unwrap();
    drop(store);
    let reopened = db.store().await;
    assert_eq!(reopened.head().await.unwrap(), 2);
    assert_eq!(*reopened.watch_head().borrow(), 2);
    assert_eq!(
        reopened.append(&[tally_added("a", 3)]).await.unwrap(),
        vec![3]
    );
}

callbot_tests::backend_tests!(
    appended_events_come_back_in_global_order_with_metadata,
    a_taken_sequence_is_a_typed_conflict_and_nothing_is_half_written,
    commands_rebuild_state_and_report_business_errors,
    racing_commands_on_one_aggregate_are_retried_until_all_land,
    appends_committed_together_still_succeed_or_conflict_one_by_one,
    a_catch_up_reader_sees_every_event_of_concurrent_writers_once_in_order,
    checkpoints_start_at_zero_and_remember_positions,
    reopening_the_store_keeps_history_and_head,
);
