//! Given/when/then tests of recording consent and the recording's life.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::PhoneNumber;
use crate::policy::RetryPolicy;

type Fixture = TestFramework<Call>;

const SID: &str = "RE00000000000000000000000000000001";

fn t(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(minute)
}

fn in_progress() -> Vec<CallEvent> {
    vec![
        CallEvent::CallCreated {
            campaign_id: Uuid::from_u128(0xCA),
            owner_id: Uuid::from_u128(0x0A),
            phone: PhoneNumber::parse_kr("010-5550-0101").unwrap(),
            contact_name: Some("김민수".to_owned()),
            context: serde_json::Map::new(),
            retry: RetryPolicy::default(),
            created_at: t(0),
        },
        CallEvent::DialRequested {
            attempt: 1,
            requested_at: t(1),
        },
        CallEvent::ProviderCallCreated {
            attempt: 1,
            provider_call_sid: "CA001".to_owned(),
            created_at: t(1),
        },
        CallEvent::CallAnswered {
            attempt: 1,
            answered_at: t(2),
        },
    ]
}

fn consented() -> Vec<CallEvent> {
    let mut events = in_progress();
    events.push(CallEvent::RecordingConsentGiven { given_at: t(2) });
    events
}

fn available(minute: i64) -> CallEvent {
    CallEvent::RecordingAvailable {
        recording_sid: SID.to_owned(),
        duration_secs: Some(40),
        available_at: t(minute),
    }
}

fn stored(minute: i64) -> CallEvent {
    CallEvent::RecordingStored {
        recording_sid: SID.to_owned(),
        bytes: 1000,
        stored_at: t(minute),
    }
}

fn command(command: RecordingCommand) -> CallCommand {
    CallCommand::Recording(command)
}

fn record_available(minute: i64) -> CallCommand {
    command(RecordingCommand::RecordAvailable {
        recording_sid: SID.to_owned(),
        duration_secs: Some(40),
        at: t(minute),
    })
}

fn record_stored(minute: i64) -> CallCommand {
    command(RecordingCommand::RecordStored {
        recording_sid: SID.to_owned(),
        bytes: 1000,
        at: t(minute),
    })
}

#[test]
fn a_stream_after_the_notice_records_consent_once() {
    Fixture::with(())
        .given(in_progress())
        .when(command(RecordingCommand::GiveConsent { at: t(2) }))
        .then_expect_events(vec![CallEvent::RecordingConsentGiven { given_at: t(2) }]);
    Fixture::with(())
        .given(consented())
        .when(command(RecordingCommand::GiveConsent { at: t(3) }))
        .then_expect_events(vec![]);
}

#[test]
fn consent_cannot_be_given_on_a_call_that_is_over() {
    let mut events = in_progress();
    events.push(CallEvent::CallCompleted {
        result: CallResult::Success,
        duration_secs: 30,
        completed_at: t(3),
    });
    Fixture::with(())
        .given(events)
        .when(command(RecordingCommand::GiveConsent { at: t(4) }))
        .then_expect_error(CallError::InvalidTransition {
            status: CallStatus::Completed,
            command: "GiveRecordingConsent",
        });
}

#[test]
fn an_objection_revokes_consent_and_a_later_stream_does_not_restore_it() {
    let mut revoked = consented();
    revoked.push(CallEvent::RecordingConsentRevoked { revoked_at: t(3) });
    Fixture::with(())
        .given(consented())
        .when(command(RecordingCommand::RevokeConsent { at: t(3) }))
        .then_expect_events(vec![CallEvent::RecordingConsentRevoked {
            revoked_at: t(3),
        }]);
    Fixture::with(())
        .given(revoked.clone())
        .when(command(RecordingCommand::RevokeConsent { at: t(4) }))
        .then_expect_events(vec![]);
    Fixture::with(())
        .given(revoked)
        .when(command(RecordingCommand::GiveConsent { at: t(4) }))
        .then_expect_events(vec![]);
}

#[test]
fn a_recording_callback_makes_the_recording_available_once() {
    Fixture::with(())
        .given(consented())
        .when(record_available(5))
        .then_expect_events(vec![available(5)]);
    let mut events = consented();
    events.push(available(5));
    Fixture::with(())
        .given(events.clone())
        .when(record_available(6))
        .then_expect_events(vec![]);
    Fixture::with(())
        .given(events)
        .when(command(RecordingCommand::RecordAvailable {
            recording_sid: "RE2".to_owned(),
            duration_secs: None,
            at: t(6),
        }))
        .then_expect_error(CallError::RecordingConflict {
            recording_sid: SID.to_owned(),
        });
}

#[test]
fn a_consented_recording_is_stored_and_storing_twice_changes_nothing() {
    let mut events = consented();
    events.push(available(5));
    Fixture::with(())
        .given(events.clone())
        .when(record_stored(6))
        .then_expect_events(vec![stored(6)]);
    events.push(stored(6));
    Fixture::with(())
        .given(events)
        .when(record_stored(7))
        .then_expect_events(vec![]);
}

#[test]
fn a_recording_without_consent_or_after_an_objection_is_not_stored() {
    let mut without = in_progress();
    without.push(available(5));
    Fixture::with(())
        .given(without)
        .when(record_stored(6))
        .then_expect_error(CallError::RecordingConsentMissing);
    let mut revoked = consented();
    revoked.extend([
        CallEvent::RecordingConsentRevoked { revoked_at: t(3) },
        available(5),
    ]);
    Fixture::with(())
        .given(revoked)
        .when(record_stored(6))
        .then_expect_error(CallError::RecordingConsentMissing);
}

#[test]
fn storing_an_unknown_recording_is_refused() {
    Fixture::with(())
        .given(consented())
        .when(record_stored(6))
        .then_expect_error(CallError::RecordingUnknown {
            recording_sid: SID.to_owned(),
        });
}

#[test]
fn a_revoked_recording_is_discarded_once_and_never_stored_after() {
    let mut events = consented();
    events.extend([
        CallEvent::RecordingConsentRevoked { revoked_at: t(3) },
        available(5),
    ]);
    let discarded = CallEvent::RecordingDiscarded {
        recording_sid: SID.to_owned(),
        reason: DiscardReason::ConsentRevoked,
        discarded_at: t(6),
    };
    let discard = command(RecordingCommand::Discard {
        recording_sid: SID.to_owned(),
        reason: DiscardReason::ConsentRevoked,
        at: t(6),
    });
    Fixture::with(())
        .given(events.clone())
        .when(discard.clone())
        .then_expect_events(vec![discarded.clone()]);
    events.push(discarded);
    Fixture::with(())
        .given(events.clone())
        .when(discard)
        .then_expect_events(vec![]);
    Fixture::with(())
        .given(events)
        .when(record_stored(7))
        .then_expect_error(CallError::RecordingConsentMissing);
}

#[test]
fn a_stored_recording_cannot_be_discarded() {
    let mut events = consented();
    events.extend([available(5), stored(6)]);
    Fixture::with(())
        .given(events)
        .when(command(RecordingCommand::Discard {
            recording_sid: SID.to_owned(),
            reason: DiscardReason::NoConsent,
            at: t(7),
        }))
        .then_expect_error(CallError::RecordingAlreadyStored);
}

#[test]
fn a_stored_recording_is_purged_once() {
    let mut events = consented();
    events.extend([available(5), stored(6)]);
    let purged = CallEvent::RecordingPurged {
        recording_sid: SID.to_owned(),
        purged_at: t(60),
    };
    Fixture::with(())
        .given(events.clone())
        .when(command(RecordingCommand::Purge { at: t(60) }))
        .then_expect_events(vec![purged.clone()]);
    events.push(purged);
    Fixture::with(())
        .given(events)
        .when(command(RecordingCommand::Purge { at: t(61) }))
        .then_expect_events(vec![]);
}

#[test]
fn purging_without_a_stored_recording_is_refused() {
    let mut events = consented();
    events.push(available(5));
    Fixture::with(())
        .given(events)
        .when(command(RecordingCommand::Purge { at: t(60) }))
        .then_expect_error(CallError::RecordingNotStored);
}

#[test]
fn the_aggregate_remembers_consent_and_the_recording_stage() {
    let mut call = Call::default();
    let mut events = consented();
    events.extend([available(5), stored(6)]);
    for event in events {
        cqrs_es::Aggregate::apply(&mut call, event);
    }
    assert!(call.recording().consented());
    assert_eq!(
        call.recording().recording(),
        Some((SID, RecordingStage::Stored))
    );
}
