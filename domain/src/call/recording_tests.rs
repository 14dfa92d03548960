//! Given/when/then tests of recording consent and the recording's life.

use super::*;
use crate::testing::call::*;
use crate::testing::{and, check_all, replay, t};

const SID: &str = "RE00000000000000000000000000000001";

fn consented() -> Vec<CallEvent> {
    and(in_progress(), [consent_given(2)])
}

fn consent_given(minute: i64) -> CallEvent {
    CallEvent::RecordingConsentGiven {
        given_at: t(minute),
    }
}

fn consent_revoked(minute: i64) -> CallEvent {
    CallEvent::RecordingConsentRevoked {
        revoked_at: t(minute),
    }
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

fn give_consent(minute: i64) -> CallCommand {
    CallCommand::Recording(RecordingCommand::GiveConsent { at: t(minute) })
}

fn revoke_consent(minute: i64) -> CallCommand {
    CallCommand::Recording(RecordingCommand::RevokeConsent { at: t(minute) })
}

fn record_available(sid: &str, duration_secs: Option<u32>, minute: i64) -> CallCommand {
    CallCommand::Recording(RecordingCommand::RecordAvailable {
        recording_sid: sid.to_owned(),
        duration_secs,
        at: t(minute),
    })
}

fn record_stored(minute: i64) -> CallCommand {
    CallCommand::Recording(RecordingCommand::RecordStored {
        recording_sid: SID.to_owned(),
        bytes: 1000,
        at: t(minute),
    })
}

fn discard(reason: DiscardReason, minute: i64) -> CallCommand {
    CallCommand::Recording(RecordingCommand::Discard {
        recording_sid: SID.to_owned(),
        reason,
        at: t(minute),
    })
}

fn purge(minute: i64) -> CallCommand {
    CallCommand::Recording(RecordingCommand::Purge { at: t(minute) })
}

#[test]
fn consent() {
    let revoked = and(consented(), [consent_revoked(3)]);
    let over = CallEvent::CallCompleted {
        result: CallResult::Success,
        duration_secs: 30,
        completed_at: t(3),
    };
    check_all::<Call>([
        (
            "a_stream_after_the_notice_records_consent_once",
            in_progress(),
            give_consent(2),
            Ok(vec![consent_given(2)]),
        ),
        (
            "a_stream_after_the_notice_records_consent_once (again)",
            consented(),
            give_consent(3),
            Ok(vec![]),
        ),
        (
            "consent_cannot_be_given_on_a_call_that_is_over",
            and(in_progress(), [over]),
            give_consent(4),
            refused(CallStatus::Completed, "GiveRecordingConsent"),
        ),
        (
            "an_objection_revokes_consent",
            consented(),
            revoke_consent(3),
            Ok(vec![consent_revoked(3)]),
        ),
        (
            "an_objection_revokes_consent once",
            revoked.clone(),
            revoke_consent(4),
            Ok(vec![]),
        ),
        (
            "a later stream does not restore consent",
            revoked,
            give_consent(4),
            Ok(vec![]),
        ),
    ]);
}

#[test]
fn availability_and_storage() {
    let missing = Err(CallError::RecordingConsentMissing);
    check_all::<Call>([
        (
            "a_recording_callback_makes_the_recording_available_once",
            consented(),
            record_available(SID, Some(40), 5),
            Ok(vec![available(5)]),
        ),
        (
            "a repeated recording callback records nothing",
            and(consented(), [available(5)]),
            record_available(SID, Some(40), 6),
            Ok(vec![]),
        ),
        (
            "a callback for another recording conflicts",
            and(consented(), [available(5)]),
            record_available("RE2", None, 6),
            Err(CallError::RecordingConflict {
                recording_sid: SID.to_owned(),
            }),
        ),
        (
            "a_consented_recording_is_stored",
            and(consented(), [available(5)]),
            record_stored(6),
            Ok(vec![stored(6)]),
        ),
        (
            "storing_twice_changes_nothing",
            and(consented(), [available(5), stored(6)]),
            record_stored(7),
            Ok(vec![]),
        ),
        (
            "a_recording_without_consent_is_not_stored",
            and(in_progress(), [available(5)]),
            record_stored(6),
            missing.clone(),
        ),
        (
            "a_recording_after_an_objection_is_not_stored",
            and(consented(), [consent_revoked(3), available(5)]),
            record_stored(6),
            missing,
        ),
        (
            "storing_an_unknown_recording_is_refused",
            consented(),
            record_stored(6),
            Err(CallError::RecordingUnknown {
                recording_sid: SID.to_owned(),
            }),
        ),
    ]);
}

#[test]
fn discarding_and_purging() {
    let revoked = and(consented(), [consent_revoked(3), available(5)]);
    let discarded = CallEvent::RecordingDiscarded {
        recording_sid: SID.to_owned(),
        reason: DiscardReason::ConsentRevoked,
        discarded_at: t(6),
    };
    let after_discard = and(revoked.clone(), [discarded.clone()]);
    let stored_recording = and(consented(), [available(5), stored(6)]);
    let purged = CallEvent::RecordingPurged {
        recording_sid: SID.to_owned(),
        purged_at: t(60),
    };
    check_all::<Call>([
        (
            "a_revoked_recording_is_discarded",
            revoked,
            discard(DiscardReason::ConsentRevoked, 6),
            Ok(vec![discarded]),
        ),
        (
            "a_revoked_recording_is_discarded_once",
            after_discard.clone(),
            discard(DiscardReason::ConsentRevoked, 6),
            Ok(vec![]),
        ),
        (
            "a discarded recording is never_stored_after",
            after_discard,
            record_stored(7),
            Err(CallError::RecordingConsentMissing),
        ),
        (
            "a_stored_recording_cannot_be_discarded",
            stored_recording.clone(),
            discard(DiscardReason::NoConsent, 7),
            Err(CallError::RecordingAlreadyStored),
        ),
        (
            "a_stored_recording_is_purged",
            stored_recording.clone(),
            purge(60),
            Ok(vec![purged.clone()]),
        ),
        (
            "a_stored_recording_is_purged_once",
            and(stored_recording, [purged]),
            purge(61),
            Ok(vec![]),
        ),
        (
            "purging_without_a_stored_recording_is_refused",
            and(consented(), [available(5)]),
            purge(60),
            Err(CallError::RecordingNotStored),
        ),
    ]);
}

#[test]
fn the_aggregate_remembers_consent_and_the_recording_stage() {
    let call: Call = replay(and(consented(), [available(5), stored(6)]));
    assert!(call.recording().consented());
    assert_eq!(
        call.recording().recording(),
        Some((SID, RecordingStage::Stored))
    );
}
