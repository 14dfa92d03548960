//! The cache keeps the state a command left, catches up on what others appended, and never
//! keeps a state whose commit failed.

use chrono::{Duration, Utc};
use cqrs_es::{AggregateContext, EventStore as _};
use domain::account::{Account, AccountCommand, AccountError, AccountEvent};
use tempfile::TempDir;

use super::*;
use crate::services::accounts::tests::test_store;

/// Runs `command` the way cqrs-es's framework does: load, handle, commit.
async fn run(
    store: &CachingStore<Account>,
    id: &str,
    command: AccountCommand,
) -> Result<Vec<AccountEvent>, AggregateError<AccountError>> {
    let mut context = store.load_aggregate(id).await?;
    let sink = cqrs_es::event_sink::EventSink::<Account>::default();
    context
        .aggregate()
        .handle(command, &(), &sink)
        .await
        .map_err(AggregateError::UserError)?;
    let events = sink.collect().await;
    let committed = store.commit(events, context, HashMap::new()).await?;
    Ok(committed.into_iter().map(|e| e.payload).collect())
}

/// Two processes' caches over one store (kept while the directory lives).
async fn two_writers() -> (TempDir, CachingStore<Account>, CachingStore<Account>) {
    let (dir, events) = test_store().await;
    let here = CachingStore::<Account>::new(events.clone());
    let elsewhere = CachingStore::<Account>::new(events);
    (dir, here, elsewhere)
}

fn register() -> AccountCommand {
    AccountCommand::Register {
        email: "owner@example.com".into(),
        at: Utc::now(),
    }
}

fn failure() -> AccountCommand {
    AccountCommand::RecordLoginFailure {
        at: Utc::now(),
        lock_after: 2,
        lock_for: Duration::minutes(15),
    }
}

/// The events of a second failure in a row with `lock_after: 2`.
fn assert_second_failure_locked(written: &[AccountEvent]) {
    assert!(
        matches!(
            written,
            [
                AccountEvent::LoginFailed {
                    consecutive_failures: 2,
                    ..
                },
                AccountEvent::AccountLocked { .. }
            ]
        ),
        "{written:?}"
    );
}

#[tokio::test]
async fn a_cached_aggregate_catches_up_on_events_another_writer_appended() {
    let (_dir, here, elsewhere) = two_writers().await;
    let id = uuid::Uuid::now_v7().to_string();

    run(&here, &id, register()).await.expect("registered");
    assert_eq!(here.cached_sequence(&id), Some(1));

    // Another process, with nothing cached, sees the registration in the store.
    let again = run(&elsewhere, &id, register()).await;
    assert!(matches!(
        again,
        Err(AggregateError::UserError(AccountError::AlreadyRegistered))
    ));
    run(&elsewhere, &id, failure()).await.expect("one failure");
    assert_eq!(elsewhere.cached_sequence(&id), Some(2));

    // The state cached here is one event behind: the second failure must still lock.
    let written = run(&here, &id, failure()).await.expect("second failure");
    assert_second_failure_locked(&written);
    assert_eq!(here.cached_sequence(&id), Some(4));
}

#[tokio::test]
async fn a_lost_race_leaves_nothing_cached_and_the_retry_replays() {
    let (_dir, here, elsewhere) = two_writers().await;
    let id = uuid::Uuid::now_v7().to_string();
    run(&here, &id, register()).await.expect("registered");

    // Both load at sequence 1; the other writer commits first.
    let mut mine = here.load_aggregate(&id).await.expect("loaded");
    run(&elsewhere, &id, failure())
        .await
        .expect("their failure");
    let sink = cqrs_es::event_sink::EventSink::<Account>::default();
    mine.aggregate()
        .handle(failure(), &(), &sink)
        .await
        .expect("decided");
    let lost = here
        .commit(sink.collect().await, mine, HashMap::new())
        .await;
    assert!(
        matches!(lost, Err(AggregateError::AggregateConflict)),
        "{lost:?}"
    );
    assert_eq!(here.cached_sequence(&id), None);

    let written = run(&here, &id, failure()).await.expect("the retry");
    assert_second_failure_locked(&written);
}
