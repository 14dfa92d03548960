use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::DomainEvent;
use cqrs_es::test::TestFramework;
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::PhoneNumber;
use crate::policy::RetryPolicy;

type Fixture = TestFramework<Call>;

const CAMPAIGN: Uuid = Uuid::from_u128(0xCA);
const OWNER: Uuid = Uuid::from_u128(0x0A);

fn t(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(minute)
}

fn phone() -> PhoneNumber {
    PhoneNumber::parse_kr("010-5550-0112").unwrap()
}

fn context() -> serde_json::Map<String, serde_json::Value> {
    let mut context = serde_json::Map::new();
    context.insert("예약시간".to_owned(), json!("14:00"));
    context
}

/// Two retries, 10 then 30 minutes apart.
fn retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        intervals_seconds: vec![600, 1800],
    }
}

fn created() -> CallEvent {
    CallEvent::CallCreated {
        campaign_id: CAMPAIGN,
        owner_id: OWNER,
        phone: phone(),
        contact_name: Some("김민수".to_owned()),
        context: context(),
        retry: retry(),
        created_at: t(0),
    }
}

fn dialed(attempt: u32, minute: i64) -> CallEvent {
    CallEvent::DialRequested {
        attempt,
        requested_at: t(minute),
    }
}

fn provider(attempt: u32, sid: &str, minute: i64) -> CallEvent {
    CallEvent::ProviderCallCreated {
        attempt,
        provider_call_sid: sid.to_owned(),
        created_at: t(minute),
    }
}

fn answered(attempt: u32, minute: i64) -> CallEvent {
    CallEvent::CallAnswered {
        attempt,
        answered_at: t(minute),
    }
}

fn ended(attempt: u32, end: AttemptEnd, duration_secs: u32, minute: i64) -> CallEvent {
    CallEvent::AttemptEnded {
        attempt,
        end,
        duration_secs,
        ended_at: t(minute),
    }
}

fn outcome(attempt: u32, result: CallResult, minute: i64) -> CallEvent {
    CallEvent::OutcomeReported {
        attempt,
        result,
        note: None,
        proposed_time: None,
        reported_at: t(minute),
    }
}

fn end(end: AttemptEnd, duration_secs: u32, minute: i64) -> CallCommand {
    CallCommand::RecordAttemptEnded {
        end,
        duration_secs,
        at: t(minute),
    }
}

fn pending() -> Vec<CallEvent> {
    vec![created()]
}

fn calling() -> Vec<CallEvent> {
    vec![created(), dialed(1, 1), provider(1, "CA001", 1)]
}

fn in_progress() -> Vec<CallEvent> {
    let mut events = calling();
    events.push(answered(1, 2));
    events
}

/// Attempt 1 unanswered, retry 1 due at minute 12.
fn waiting_for_retry() -> Vec<CallEvent> {
    let mut events = calling();
    events.extend([
        ended(1, AttemptEnd::NoAnswer, 0, 2),
        CallEvent::RetryScheduled {
            retry_at: t(12),
            retry_number: 1,
        },
    ]);
    events
}

/// Attempts 1 and 2 unanswered; attempt 3 (the last retry) ringing.
fn calling_on_last_attempt() -> Vec<CallEvent> {
    let mut events = waiting_for_retry();
    events.extend([
        dialed(2, 12),
        ended(2, AttemptEnd::NoAnswer, 0, 13),
        CallEvent::RetryScheduled {
            retry_at: t(43),
            retry_number: 2,
        },
        dialed(3, 43),
    ]);
    events
}

fn completed() -> Vec<CallEvent> {
    let mut events = in_progress();
    events.extend([
        outcome(1, CallResult::Success, 3),
        ended(1, AttemptEnd::Completed, 60, 3),
        CallEvent::CallCompleted {
            result: CallResult::Success,
            duration_secs: 60,
            completed_at: t(3),
        },
    ]);
    events
}

fn every_command() -> Vec<CallCommand> {
    vec![
        CallCommand::RequestDial { at: t(1) },
        CallCommand::RecordProviderCall {
            provider_call_sid: "CA001".to_owned(),
            at: t(1),
        },
        CallCommand::RecordAnswered { at: t(1) },
        CallCommand::ReportOutcome {
            result: CallResult::Success,
            note: None,
            proposed_time: None,
            at: t(1),
        },
        end(AttemptEnd::NoAnswer, 0, 1),
        CallCommand::FailCall {
            reason: "x".to_owned(),
            at: t(1),
        },
        CallCommand::CancelCall {
            reason: CancelReason::CampaignCancelled,
            at: t(1),
        },
    ]
}

// --- CreateCall ---

#[test]
fn creating_a_call_makes_it_pending() {
    Fixture::with(())
        .given_no_previous_events()
        .when(CallCommand::CreateCall {
            campaign_id: CAMPAIGN,
            owner_id: OWNER,
            phone: phone(),
            contact_name: Some("김민수".to_owned()),
            context: context(),
            retry: retry(),
            at: t(0),
        })
        .then_expect_events(vec![created()]);
}

#[test]
fn creating_a_call_twice_is_refused() {
    Fixture::with(())
        .given(pending())
        .when(CallCommand::CreateCall {
            campaign_id: CAMPAIGN,
            owner_id: OWNER,
            phone: phone(),
            contact_name: None,
            context: context(),
            retry: retry(),
            at: t(1),
        })
        .then_expect_error(CallError::AlreadyExists);
}

#[test]
fn every_command_before_creation_is_refused_as_not_found() {
    for command in every_command() {
        Fixture::with(())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(CallError::NotFound);
    }
}

// --- RequestDial ---

#[test]
fn dialing_a_new_call_starts_attempt_one() {
    Fixture::with(())
        .given(pending())
        .when(CallCommand::RequestDial { at: t(1) })
        .then_expect_events(vec![dialed(1, 1)]);
}

#[test]
fn dialing_when_the_retry_is_due_starts_the_next_attempt() {
    Fixture::with(())
        .given(waiting_for_retry())
        .when(CallCommand::RequestDial { at: t(12) })
        .then_expect_events(vec![dialed(2, 12)]);
}

#[test]
fn dialing_before_the_retry_is_due_is_refused() {
    Fixture::with(())
        .given(waiting_for_retry())
        .when(CallCommand::RequestDial { at: t(11) })
        .then_expect_error(CallError::RetryNotDue { retry_at: t(12) });
}

#[test]
fn dialing_a_call_that_is_already_ringing_is_refused() {
    Fixture::with(())
        .given(calling())
        .when(CallCommand::RequestDial { at: t(2) })
        .then_expect_error(CallError::InvalidTransition {
            status: CallStatus::Calling,
            command: "RequestDial",
        });
}

#[test]
fn dialing_a_finished_call_is_refused() {
    Fixture::with(())
        .given(completed())
        .when(CallCommand::RequestDial { at: t(9) })
        .then_expect_error(CallError::InvalidTransition {
            status: CallStatus::Completed,
            command: "RequestDial",
        });
}

// --- RecordProviderCall ---

#[test]
fn the_provider_call_id_is_recorded_while_ringing() {
    Fixture::with(())
        .given(vec![created(), dialed(1, 1)])
        .when(CallCommand::RecordProviderCall {
            provider_call_sid: "CA001".to_owned(),
            at: t(1),
        })
        .then_expect_events(vec![provider(1, "CA001", 1)]);
}

#[test]
fn the_provider_call_id_may_arrive_after_the_answer() {
    Fixture::with(())
        .given(vec![created(), dialed(1, 1), answered(1, 2)])
        .when(CallCommand::RecordProviderCall {
            provider_call_sid: "CA001".to_owned(),
            at: t(2),
        })
        .then_expect_events(vec![provider(1, "CA001", 2)]);
}

#[test]
fn the_same_provider_call_id_again_records_nothing() {
    Fixture::with(())
        .given(in_progress())
        .when(CallCommand::RecordProviderCall {
            provider_call_sid: "CA001".to_owned(),
            at: t(2),
        })
        .then_expect_events(vec![]);
}

#[test]
fn a_second_provider_call_for_one_attempt_is_refused() {
    Fixture::with(())
        .given(calling())
        .when(CallCommand::RecordProviderCall {
            provider_call_sid: "CA999".to_owned(),
            at: t(2),
        })
        .then_expect_error(CallError::ProviderCallMismatch {
            recorded: "CA001".to_owned(),
        });
}

#[test]
fn a_provider_call_for_a_call_not_being_dialed_is_refused() {
    Fixture::with(())
        .given(pending())
        .when(CallCommand::RecordProviderCall {
            provider_call_sid: "CA001".to_owned(),
            at: t(1),
        })
        .then_expect_error(CallError::InvalidTransition {
            status: CallStatus::Pending,
            command: "RecordProviderCall",
        });
}

// --- RecordAnswered ---

#[test]
fn an_answer_puts_a_ringing_call_in_progress() {
    Fixture::with(())
        .given(calling())
        .when(CallCommand::RecordAnswered { at: t(2) })
        .then_expect_events(vec![answered(1, 2)]);
}

#[test]
fn a_repeated_answer_records_nothing() {
    Fixture::with(())
        .given(in_progress())
        .when(CallCommand::RecordAnswered { at: t(2) })
        .then_expect_events(vec![]);
}

#[test]
fn a_late_answer_after_the_call_finished_records_nothing() {
    Fixture::with(())
        .given(completed())
        .when(CallCommand::RecordAnswered { at: t(2) })
        .then_expect_events(vec![]);
}

#[test]
fn an_answer_for_a_call_not_being_dialed_is_refused() {
    Fixture::with(())
        .given(pending())
        .when(CallCommand::RecordAnswered { at: t(2) })
        .then_expect_error(CallError::InvalidTransition {
            status: CallStatus::Pending,
            command: "RecordAnswered",
        });
}

// --- ReportOutcome ---

#[test]
fn an_outcome_during_the_conversation_is_recorded() {
    Fixture::with(())
        .given(in_progress())
        .when(CallCommand::ReportOutcome {
            result: CallResult::Rescheduled,
            note: Some("다음 주 화요일 희망".to_owned()),
            proposed_time: Some("다음 주 화요일 오후 3시".to_owned()),
            at: t(3),
        })
        .then_expect_events(vec![CallEvent::OutcomeReported {
            attempt: 1,
            result: CallResult::Rescheduled,
            note: Some("다음 주 화요일 희망".to_owned()),
            proposed_time: Some("다음 주 화요일 오후 3시".to_owned()),
            reported_at: t(3),
        }]);
}

#[test]
fn an_outcome_before_the_callee_answers_is_refused() {
    Fixture::with(())
        .given(calling())
        .when(CallCommand::ReportOutcome {
            result: CallResult::Success,
            note: None,
            proposed_time: None,
            at: t(2),
        })
        .then_expect_error(CallError::InvalidTransition {
            status: CallStatus::Calling,
            command: "ReportOutcome",
        });
}

// --- RecordAttemptEnded ---

#[test]
fn an_answered_attempt_completes_with_the_last_reported_outcome() {
    let mut given = in_progress();
    given.extend([
        outcome(1, CallResult::Rescheduled, 3),
        outcome(1, CallResult::Success, 4),
    ]);
    Fixture::with(())
        .given(given)
        .when(end(AttemptEnd::Completed, 95, 5))
        .then_expect_events(vec![
            ended(1, AttemptEnd::Completed, 95, 5),
            CallEvent::CallCompleted {
                result: CallResult::Success,
                duration_secs: 95,
                completed_at: t(5),
            },
        ]);
}

#[test]
fn a_callee_hanging_up_without_an_outcome_completes_as_declined() {
    Fixture::with(())
        .given(in_progress())
        .when(end(AttemptEnd::Completed, 4, 3))
        .then_expect_events(vec![
            ended(1, AttemptEnd::Completed, 4, 3),
            CallEvent::CallCompleted {
                result: CallResult::Declined,
                duration_secs: 4,
                completed_at: t(3),
            },
        ]);
}

#[test]
fn a_completed_end_counts_as_answered_even_if_the_answer_was_never_reported() {
    Fixture::with(())
        .given(calling())
        .when(end(AttemptEnd::Completed, 30, 3))
        .then_expect_events(vec![
            ended(1, AttemptEnd::Completed, 30, 3),
            CallEvent::CallCompleted {
                result: CallResult::Declined,
                duration_secs: 30,
                completed_at: t(3),
            },
        ]);
}

#[test]
fn a_no_answer_with_retries_left_schedules_a_retry() {
    Fixture::with(())
        .given(calling())
        .when(end(AttemptEnd::NoAnswer, 0, 2))
        .then_expect_events(vec![
            ended(1, AttemptEnd::NoAnswer, 0, 2),
            CallEvent::RetryScheduled {
                retry_at: t(12),
                retry_number: 1,
            },
        ]);
}

#[test]
fn a_busy_line_on_the_second_attempt_schedules_the_second_retry() {
    let mut given = waiting_for_retry();
    given.push(dialed(2, 12));
    Fixture::with(())
        .given(given)
        .when(end(AttemptEnd::Busy, 0, 13))
        .then_expect_events(vec![
            ended(2, AttemptEnd::Busy, 0, 13),
            CallEvent::RetryScheduled {
                retry_at: t(43),
                retry_number: 2,
            },
        ]);
}

#[test]
fn a_retryable_provider_failure_schedules_a_retry() {
    let failure = AttemptEnd::Failed {
        code: Some("31005".to_owned()),
        retryable: true,
    };
    Fixture::with(())
        .given(calling())
        .when(end(failure.clone(), 0, 2))
        .then_expect_events(vec![
            ended(1, failure, 0, 2),
            CallEvent::RetryScheduled {
                retry_at: t(12),
                retry_number: 1,
            },
        ]);
}

#[test]
fn a_no_answer_on_the_last_attempt_finishes_as_no_answer() {
    Fixture::with(())
        .given(calling_on_last_attempt())
        .when(end(AttemptEnd::NoAnswer, 0, 44))
        .then_expect_events(vec![
            ended(3, AttemptEnd::NoAnswer, 0, 44),
            CallEvent::CallFinishedNoAnswer {
                attempts: 3,
                finished_at: t(44),
            },
        ]);
}

#[test]
fn a_busy_line_on_the_last_attempt_finishes_as_no_answer() {
    Fixture::with(())
        .given(calling_on_last_attempt())
        .when(end(AttemptEnd::Busy, 0, 44))
        .then_expect_events(vec![
            ended(3, AttemptEnd::Busy, 0, 44),
            CallEvent::CallFinishedNoAnswer {
                attempts: 3,
                finished_at: t(44),
            },
        ]);
}

#[test]
fn a_retryable_failure_on_the_last_attempt_fails_the_call() {
    let failure = AttemptEnd::Failed {
        code: None,
        retryable: true,
    };
    Fixture::with(())
        .given(calling_on_last_attempt())
        .when(end(failure.clone(), 0, 44))
        .then_expect_events(vec![
            ended(3, failure, 0, 44),
            CallEvent::CallFailed {
                reason: "provider failure".to_owned(),
                failed_at: t(44),
            },
        ]);
}

#[test]
fn an_unreachable_number_fails_without_retry() {
    let failure = AttemptEnd::Failed {
        code: Some("21211".to_owned()),
        retryable: false,
    };
    Fixture::with(())
        .given(calling())
        .when(end(failure.clone(), 0, 2))
        .then_expect_events(vec![
            ended(1, failure, 0, 2),
            CallEvent::CallFailed {
                reason: "provider failure (code 21211)".to_owned(),
                failed_at: t(2),
            },
        ]);
}

#[test]
fn a_cancelled_attempt_cancels_the_call() {
    Fixture::with(())
        .given(calling())
        .when(end(AttemptEnd::Canceled, 0, 2))
        .then_expect_events(vec![
            ended(1, AttemptEnd::Canceled, 0, 2),
            CallEvent::CallCancelled {
                cancelled_at: t(2),
                reason: Some(CancelReason::Provider),
            },
        ]);
}

#[test]
fn a_call_answered_on_the_third_attempt_completes_with_success() {
    let mut given = calling_on_last_attempt();
    given.extend([answered(3, 44), outcome(3, CallResult::Success, 45)]);
    Fixture::with(())
        .given(given)
        .when(end(AttemptEnd::Completed, 70, 45))
        .then_expect_events(vec![
            ended(3, AttemptEnd::Completed, 70, 45),
            CallEvent::CallCompleted {
                result: CallResult::Success,
                duration_secs: 70,
                completed_at: t(45),
            },
        ]);
}

#[test]
fn an_attempt_ending_again_after_the_call_finished_records_nothing() {
    Fixture::with(())
        .given(completed())
        .when(end(AttemptEnd::Completed, 60, 4))
        .then_expect_events(vec![]);
}

#[test]
fn an_attempt_ending_again_while_waiting_for_the_retry_records_nothing() {
    Fixture::with(())
        .given(waiting_for_retry())
        .when(end(AttemptEnd::NoAnswer, 0, 3))
        .then_expect_events(vec![]);
}

#[test]
fn an_attempt_ending_before_any_dial_is_refused() {
    Fixture::with(())
        .given(pending())
        .when(end(AttemptEnd::NoAnswer, 0, 1))
        .then_expect_error(CallError::InvalidTransition {
            status: CallStatus::Pending,
            command: "RecordAttemptEnded",
        });
}

// --- FailCall ---

#[test]
fn failing_a_call_in_progress_records_the_reason() {
    Fixture::with(())
        .given(in_progress())
        .when(CallCommand::FailCall {
            reason: "5 recognition failures".to_owned(),
            at: t(4),
        })
        .then_expect_events(vec![CallEvent::CallFailed {
            reason: "5 recognition failures".to_owned(),
            failed_at: t(4),
        }]);
}

#[test]
fn failing_a_ringing_call_records_the_reason() {
    Fixture::with(())
        .given(calling())
        .when(CallCommand::FailCall {
            reason: "bridge lost".to_owned(),
            at: t(2),
        })
        .then_expect_events(vec![CallEvent::CallFailed {
            reason: "bridge lost".to_owned(),
            failed_at: t(2),
        }]);
}

#[test]
fn failing_a_call_that_is_not_on_the_line_is_refused() {
    Fixture::with(())
        .given(pending())
        .when(CallCommand::FailCall {
            reason: "x".to_owned(),
            at: t(2),
        })
        .then_expect_error(CallError::InvalidTransition {
            status: CallStatus::Pending,
            command: "FailCall",
        });
}

// --- CancelCall ---

#[test]
fn cancelling_a_never_dialed_call_cancels_it() {
    Fixture::with(())
        .given(pending())
        .when(CallCommand::CancelCall {
            reason: CancelReason::CampaignCancelled,
            at: t(1),
        })
        .then_expect_events(vec![CallEvent::CallCancelled {
            cancelled_at: t(1),
            reason: Some(CancelReason::CampaignCancelled),
        }]);
}

#[test]
fn cancelling_a_call_waiting_for_a_retry_cancels_it() {
    Fixture::with(())
        .given(waiting_for_retry())
        .when(CallCommand::CancelCall {
            reason: CancelReason::CampaignCancelled,
            at: t(5),
        })
        .then_expect_events(vec![CallEvent::CallCancelled {
            cancelled_at: t(5),
            reason: Some(CancelReason::CampaignCancelled),
        }]);
}

#[test]
fn cancelling_a_call_in_progress_is_refused() {
    Fixture::with(())
        .given(in_progress())
        .when(CallCommand::CancelCall {
            reason: CancelReason::CampaignCancelled,
            at: t(3),
        })
        .then_expect_error(CallError::NotCancellable {
            status: CallStatus::InProgress,
        });
}

#[test]
fn cancelling_a_finished_call_is_refused() {
    Fixture::with(())
        .given(completed())
        .when(CallCommand::CancelCall {
            reason: CancelReason::CampaignCancelled,
            at: t(9),
        })
        .then_expect_error(CallError::NotCancellable {
            status: CallStatus::Completed,
        });
}

// --- Wire format and state ---

#[test]
fn statuses_results_and_ends_use_screaming_snake_case() {
    assert_eq!(
        serde_json::to_value(CallStatus::InProgress).unwrap(),
        json!("IN_PROGRESS")
    );
    assert_eq!(
        serde_json::to_value(CallResult::CallbackRequested).unwrap(),
        json!("CALLBACK_REQUESTED")
    );
    assert_eq!(CallResult::OptedOut.to_string(), "OPTED_OUT");
    assert_eq!(
        serde_json::to_value(AttemptEnd::NoAnswer).unwrap(),
        json!("NO_ANSWER")
    );
    assert_eq!(
        serde_json::to_value(AttemptEnd::Failed {
            code: None,
            retryable: true
        })
        .unwrap(),
        json!({ "FAILED": { "code": null, "retryable": true } })
    );
    for status in [
        CallStatus::Completed,
        CallStatus::Failed,
        CallStatus::NoAnswer,
        CallStatus::Cancelled,
    ] {
        assert!(status.is_final(), "{status}");
    }
    for status in [
        CallStatus::Pending,
        CallStatus::Calling,
        CallStatus::InProgress,
    ] {
        assert!(!status.is_final(), "{status}");
    }
}

#[test]
fn call_events_have_stable_names_and_round_trip() {
    for event in completed() {
        let name = event.event_type();
        assert_eq!(event.event_version(), "1.0");
        let value = serde_json::to_value(&event).unwrap();
        assert!(value.get(&name).is_some(), "{name} is the JSON tag");
        let back: CallEvent = serde_json::from_value(value).unwrap();
        assert_eq!(back, event);
    }
    assert_eq!(
        CallEvent::RetryScheduled {
            retry_at: t(1),
            retry_number: 1
        }
        .event_type(),
        "RetryScheduled"
    );
}

#[test]
fn the_aggregate_exposes_what_the_bridge_needs() {
    let mut call = Call::default();
    for event in waiting_for_retry() {
        cqrs_es::Aggregate::apply(&mut call, event);
    }
    assert_eq!(call.status(), Some(CallStatus::Pending));
    assert_eq!(call.attempts(), 1);
    assert_eq!(call.retry_at(), Some(t(12)));
    assert_eq!(call.phone(), Some(&phone()));
    assert_eq!(call.campaign_id(), CAMPAIGN);
    assert_eq!(call.owner_id(), OWNER);
    assert_eq!(call.contact_name(), Some("김민수"));
    assert_eq!(call.context(), &context());
    assert_eq!(call.provider_call_sid(), Some("CA001"));
    assert_eq!(call.result(), None);
}

// --- RecordCost ---
#[test]
fn costs_are_recorded_even_after_the_call_is_final() {
    Fixture::with(())
        .given(vec![
            created(),
            CallEvent::CallCancelled {
                cancelled_at: t(1),
                reason: None,
            },
        ])
        .when(CallCommand::RecordCost {
            component: CostComponent::Telephony,
            amount_micros: 42_000,
            at: t(2),
        })
        .then_expect_events(vec![CallEvent::CostRecorded {
            component: CostComponent::Telephony,
            amount_micros: 42_000,
            recorded_at: t(2),
        }]);
}

#[test]
fn a_cost_for_a_call_never_created_is_refused() {
    Fixture::with(())
        .given_no_previous_events()
        .when(CallCommand::RecordCost {
            component: CostComponent::Voice,
            amount_micros: 1,
            at: t(1),
        })
        .then_expect_error(CallError::NotFound);
}

#[test]
fn cancelled_events_without_a_reason_still_load() {
    let old = r#"{"CallCancelled":{"cancelled_at":"2026-11-21T00:00:00Z"}}"#;
    let event: CallEvent = serde_json::from_str(old).unwrap();
    assert!(matches!(
        event,
        CallEvent::CallCancelled { reason: None, .. }
    ));
}

// --- Voicemail ---

fn voicemail(attempt: u32, retry: bool, minute: i64) -> CallEvent {
    CallEvent::VoicemailReached {
        attempt,
        retry,
        note: Some("message left".to_owned()),
        reached_at: t(minute),
    }
}

fn record_voicemail(retry: bool, minute: i64) -> CallCommand {
    CallCommand::RecordVoicemail {
        retry,
        note: Some("message left".to_owned()),
        at: t(minute),
    }
}

#[test]
fn reaching_voicemail_while_answered_records_it_with_the_policy() {
    Fixture::with(())
        .given(in_progress())
        .when(record_voicemail(true, 2))
        .then_expect_events(vec![voicemail(1, true, 2)]);
}

#[test]
fn voicemail_before_the_answer_is_refused() {
    Fixture::with(())
        .given(calling())
        .when(record_voicemail(false, 2))
        .then_expect_error(CallError::InvalidTransition {
            status: CallStatus::Calling,
            command: "RecordVoicemail",
        });
}

#[test]
fn voicemail_without_retry_completes_as_voicemail() {
    let mut given = in_progress();
    given.push(voicemail(1, false, 2));
    Fixture::with(())
        .given(given)
        .when(end(AttemptEnd::Completed, 20, 3))
        .then_expect_events(vec![
            ended(1, AttemptEnd::Completed, 20, 3),
            CallEvent::CallCompleted {
                result: CallResult::Voicemail,
                duration_secs: 20,
                completed_at: t(3),
            },
        ]);
}

#[test]
fn voicemail_with_retry_on_voicemail_retries_like_no_answer() {
    let mut given = in_progress();
    given.push(voicemail(1, true, 2));
    Fixture::with(())
        .given(given)
        .when(end(AttemptEnd::Completed, 20, 3))
        .then_expect_events(vec![
            ended(1, AttemptEnd::Completed, 20, 3),
            CallEvent::RetryScheduled {
                retry_at: t(13),
                retry_number: 1,
            },
        ]);
}

#[test]
fn voicemail_on_the_last_attempt_completes_as_voicemail_even_with_retry() {
    let mut given = calling_on_last_attempt();
    given.extend([answered(3, 44), voicemail(3, true, 44)]);
    Fixture::with(())
        .given(given)
        .when(end(AttemptEnd::Completed, 20, 45))
        .then_expect_events(vec![
            ended(3, AttemptEnd::Completed, 20, 45),
            CallEvent::CallCompleted {
                result: CallResult::Voicemail,
                duration_secs: 20,
                completed_at: t(45),
            },
        ]);
}

#[test]
fn a_person_answering_the_retry_after_voicemail_completes_normally() {
    let mut given = in_progress();
    given.extend([
        voicemail(1, true, 2),
        ended(1, AttemptEnd::Completed, 20, 3),
        CallEvent::RetryScheduled {
            retry_at: t(13),
            retry_number: 1,
        },
        dialed(2, 13),
        answered(2, 14),
        outcome(2, CallResult::Success, 15),
    ]);
    Fixture::with(())
        .given(given)
        .when(end(AttemptEnd::Completed, 60, 16))
        .then_expect_events(vec![
            ended(2, AttemptEnd::Completed, 60, 16),
            CallEvent::CallCompleted {
                result: CallResult::Success,
                duration_secs: 60,
                completed_at: t(16),
            },
        ]);
}

// --- ConversationEnded ---

#[test]
fn the_end_of_the_conversation_is_recorded_with_the_agents_close_code() {
    Fixture::with(())
        .given(in_progress())
        .when(CallCommand::RecordConversationEnded {
            reason: ConversationEndReason::AgentClosed,
            close_code: Some(1002),
            detail: Some("asr_transcription_error".to_owned()),
            at: t(3),
        })
        .then_expect_events(vec![CallEvent::ConversationEnded {
            attempt: 1,
            reason: ConversationEndReason::AgentClosed,
            close_code: Some(1002),
            detail: Some("asr_transcription_error".to_owned()),
            ended_at: t(3),
        }]);
}

#[test]
fn the_end_of_the_conversation_is_recorded_after_the_call_is_final() {
    Fixture::with(())
        .given(completed())
        .when(CallCommand::RecordConversationEnded {
            reason: ConversationEndReason::PhoneHungUp,
            close_code: None,
            detail: None,
            at: t(4),
        })
        .then_expect_events(vec![CallEvent::ConversationEnded {
            attempt: 1,
            reason: ConversationEndReason::PhoneHungUp,
            close_code: None,
            detail: None,
            ended_at: t(4),
        }]);
}

#[test]
fn a_conversation_cannot_end_on_a_call_never_dialed() {
    Fixture::with(())
        .given(pending())
        .when(CallCommand::RecordConversationEnded {
            reason: ConversationEndReason::SetupFailed,
            close_code: None,
            detail: None,
            at: t(1),
        })
        .then_expect_error(CallError::InvalidTransition {
            status: CallStatus::Pending,
            command: "RecordConversationEnded",
        });
}
