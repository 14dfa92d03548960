//! What every aggregate test shares: one clock, given/when/then as a table row, and replay.

pub(crate) mod call;
pub(crate) mod script;

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::Aggregate;
use cqrs_es::test::TestFramework;

/// `minute` minutes after 2025-03-01 09:00 UTC, where every test history starts.
pub(crate) fn t(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(minute)
}

/// What a command comes to: the events it records, or the rule it breaks.
pub(crate) type Then<A> = Result<Vec<<A as Aggregate>::Event>, <A as Aggregate>::Error>;

/// One given/when/then case, named after the behaviour it pins.
pub(crate) type Case<A> = (
    &'static str,
    Vec<<A as Aggregate>::Event>,
    <A as Aggregate>::Command,
    Then<A>,
);

/// Given `history`, `command` must come to `then`; a failure names `case`.
pub(crate) fn check<A>(case: &str, given: Vec<A::Event>, when: A::Command, then: Then<A>)
where
    A: Aggregate<Services = ()>,
    A::Error: PartialEq,
{
    let result = TestFramework::<A>::with(())
        .given(given)
        .when(when)
        .inspect_result();
    assert_eq!(result, then, "{case}");
}

/// Checks every row of a given/when/then table.
pub(crate) fn check_all<A>(cases: impl IntoIterator<Item = Case<A>>)
where
    A: Aggregate<Services = ()>,
    A::Error: PartialEq,
{
    for (case, given, when, then) in cases {
        check::<A>(case, given, when, then);
    }
}

/// `history` followed by `more`.
pub(crate) fn and<E>(mut history: Vec<E>, more: impl IntoIterator<Item = E>) -> Vec<E> {
    history.extend(more);
    history
}

/// The stored JSON form of `value`.
pub(crate) fn json_of(value: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

/// The aggregate as it stands after `events`.
pub(crate) fn replay<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> A {
    let mut aggregate = A::default();
    for event in events {
        aggregate.apply(event);
    }
    aggregate
}
