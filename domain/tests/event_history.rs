//! History stays readable: every event variant has a golden fixture of its stored form, every
//! fixture still reads into today's event type and applies to its aggregate, and today's code
//! writes the current version exactly as the fixture shows it. See
//! `docs/adr/0008-event-history-fixtures.md`.

mod history;

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use cqrs_es::{Aggregate, DomainEvent};
use domain::account::{Account, AccountEvent};
use domain::call::Call;
use domain::campaign::{Campaign, CampaignEvent};
use domain::script::Script;
use history::{Fixture, in_declaration_order, variant_names};

/// The upcasters that bring old payloads of `aggregate_type` up to date. None yet: every event
/// is at its first version. When one is added (ADR 0008), return the aggregate's list here.
fn upcasters(_aggregate_type: &str) -> Vec<Box<dyn EventUpcaster>> {
    Vec::new()
}

/// Reads a stored event into today's event type, through the upcasters as the store would.
fn read<A: Aggregate>(fixture: &Fixture) -> A::Event {
    let mut event = SerializedEvent {
        aggregate_id: String::new(),
        sequence: 0,
        aggregate_type: fixture.aggregate_type.clone(),
        event_type: fixture.event_type.clone(),
        event_version: fixture.event_version.clone(),
        payload: fixture.payload.clone(),
        metadata: serde_json::Value::Null,
    };
    for upcaster in upcasters(A::TYPE) {
        if upcaster.can_upcast(&event.event_type, &event.event_version) {
            event = upcaster.upcast(event);
        }
    }
    serde_json::from_value(event.payload)
        .unwrap_or_else(|e| panic!("{} no longer reads: {e}", fixture.path.display()))
}

/// Replays every fixture of `A` onto one aggregate; checks each reads as the event it names and
/// that today's code writes the current version exactly as stored.
fn replay<A>() -> Vec<Fixture>
where
    A: Aggregate,
    A::Event: for<'de> serde::Deserialize<'de>,
{
    let fixtures = in_declaration_order(A::TYPE, variant_names::<A::Event>());
    let mut aggregate = A::default();
    for fixture in &fixtures {
        let event = read::<A>(fixture);
        assert_eq!(
            event.event_type(),
            fixture.event_type,
            "{}",
            fixture.path.display()
        );
        if event.event_version() == fixture.event_version {
            let written = serde_json::to_value(&event).expect("events serialize");
            assert_eq!(
                written,
                fixture.payload,
                "{}: today's code writes this event differently; give it a new version, an \
                 upcaster and a fixture (ADR 0008)",
                fixture.path.display()
            );
        }
        aggregate.apply(event);
    }
    fixtures
}

/// Every variant of `A::Event` has a fixture at the version today's code writes.
fn every_variant_has_a_current_fixture<A>()
where
    A: Aggregate,
    A::Event: for<'de> serde::Deserialize<'de>,
{
    let fixtures = history::fixtures(A::TYPE);
    let missing: Vec<&str> = variant_names::<A::Event>()
        .iter()
        .copied()
        .filter(|variant| {
            !fixtures.iter().any(|fixture| {
                fixture.event_type == *variant
                    && read::<A>(fixture).event_version() == fixture.event_version
            })
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{} events without a fixture of their current version in {}: {missing:?}",
        A::TYPE,
        history::fixtures_dir().join(A::TYPE).display()
    );
}

/// `A`'s history holds: every variant has a current fixture, every fixture replays, and there
/// is one fixture for each variant.
fn history_holds<A>()
where
    A: Aggregate,
    A::Event: for<'de> serde::Deserialize<'de>,
{
    every_variant_has_a_current_fixture::<A>();
    assert_eq!(
        replay::<A>().len(),
        variant_names::<A::Event>().len(),
        "{}",
        A::TYPE
    );
}

#[test]
fn every_aggregate_reads_and_replays_its_stored_events() {
    history_holds::<Account>();
    history_holds::<Script>();
    history_holds::<Campaign>();
    history_holds::<Call>();
}

#[test]
fn variant_names_come_from_the_event_enums() {
    let names = variant_names::<CampaignEvent>();
    assert_eq!(names.first(), Some(&"CampaignCreated"));
    assert!(names.contains(&"CampaignDeleted"));
    assert_eq!(variant_names::<AccountEvent>().len(), 8);
}
