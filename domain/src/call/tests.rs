//! Given/when/then tables of the call's life: creation, dialing, answers, attempt ends and retries.

use cqrs_es::DomainEvent;
use serde_json::json;

use super::*;
use crate::testing::call::*;
use crate::testing::{Then, and, check, check_all, json_of, replay, t};

/// The dialer picks the call.
fn dial(minute: i64) -> CallCommand {
    CallCommand::RequestDial { at: t(minute) }
}

/// The callee picks up.
fn answer(minute: i64) -> CallCommand {
    CallCommand::RecordAnswered { at: t(minute) }
}

/// The campaign creates a call for its contact.
fn create(contact_name: Option<&str>, minute: i64) -> CallCommand {
    CallCommand::CreateCall {
        campaign_id: CAMPAIGN,
        owner_id: OWNER,
        phone: phone(),
        contact_name: contact_name.map(str::to_owned),
        context: context(),
        retry: retry(),
        at: t(minute),
    }
}

/// The provider names its call.
fn record_provider(sid: &str, minute: i64) -> CallCommand {
    CallCommand::RecordProviderCall {
        provider_call_sid: sid.to_owned(),
        at: t(minute),
    }
}

/// The bridge gives up on the call.
fn fail(reason: &str, minute: i64) -> CallCommand {
    CallCommand::FailCall {
        reason: reason.to_owned(),
        at: t(minute),
    }
}

/// The call failed for good.
fn call_failed(reason: &str, minute: i64) -> CallEvent {
    CallEvent::CallFailed {
        reason: reason.to_owned(),
        failed_at: t(minute),
    }
}

/// The campaign was cancelled.
fn cancel(minute: i64) -> CallCommand {
    CallCommand::CancelCall {
        reason: CancelReason::CampaignCancelled,
        at: t(minute),
    }
}

/// The call was cancelled.
fn cancelled(reason: CancelReason, minute: i64) -> CallEvent {
    CallEvent::CallCancelled {
        cancelled_at: t(minute),
        reason: Some(reason),
    }
}

/// The refusal to cancel a call on the line or over.
fn not_cancellable(status: CallStatus) -> Then<Call> {
    Err(CallError::NotCancellable { status })
}

/// Every attempt went unanswered.
fn finished_no_answer(attempts: u32, minute: i64) -> CallEvent {
    CallEvent::CallFinishedNoAnswer {
        attempts,
        finished_at: t(minute),
    }
}

/// Attempt `attempt` ends answered and the call completes with `result`.
fn completes(attempt: u32, result: CallResult, duration_secs: u32, minute: i64) -> Then<Call> {
    let end = AttemptEnd::Completed;
    Ok(vec![
        ended(attempt, end, duration_secs, minute),
        call_completed(result, duration_secs, minute),
    ])
}

/// Attempt `attempt` ends unanswered at `minute`, and `then` follows.
fn unanswered(attempt: u32, end: AttemptEnd, minute: i64, then: CallEvent) -> Then<Call> {
    Ok(vec![ended(attempt, end, 0, minute), then])
}

/// The last attempt (the third) answered at minute 44, then `then`.
fn answered_on_last_attempt(then: CallEvent) -> Vec<CallEvent> {
    and(calling_on_last_attempt(), [answered(3, 44), then])
}

/// A provider failure, maybe worth a retry.
fn failure(code: Option<&str>, retryable: bool) -> AttemptEnd {
    AttemptEnd::Failed {
        code: code.map(str::to_owned),
        retryable,
    }
}

fn every_command() -> Vec<CallCommand> {
    vec![
        dial(1),
        record_provider("CA001", 1),
        answer(1),
        CallCommand::ReportOutcome {
            result: CallResult::Success,
            note: None,
            proposed_time: None,
            at: t(1),
        },
        end(AttemptEnd::NoAnswer, 0, 1),
        fail("x", 1),
        cancel(1),
    ]
}

#[test]
fn create_call() {
    check_all::<Call>([
        (
            "creating_a_call_makes_it_pending",
            vec![],
            create(Some("김민수"), 0),
            Ok(vec![created()]),
        ),
        (
            "creating_a_call_twice_is_refused",
            pending(),
            create(None, 1),
            Err(CallError::AlreadyExists),
        ),
    ]);
}

#[test]
fn every_command_before_creation_is_refused_as_not_found() {
    for command in every_command() {
        check::<Call>("not found", vec![], command, Err(CallError::NotFound));
    }
}

#[test]
fn dialing_and_answering() {
    use CallStatus::*;
    check_all::<Call>([
        (
            "dialing_a_new_call_starts_attempt_one",
            pending(),
            dial(1),
            Ok(vec![dialed(1, 1)]),
        ),
        (
            "dialing_when_the_retry_is_due_starts_the_next_attempt",
            waiting_for_retry(),
            dial(12),
            Ok(vec![dialed(2, 12)]),
        ),
        (
            "dialing_before_the_retry_is_due_is_refused",
            waiting_for_retry(),
            dial(11),
            Err(CallError::RetryNotDue { retry_at: t(12) }),
        ),
        (
            "dialing_a_call_that_is_already_ringing_is_refused",
            calling(),
            dial(2),
            refused(Calling, "RequestDial"),
        ),
        (
            "dialing_a_finished_call_is_refused",
            completed(),
            dial(9),
            refused(Completed, "RequestDial"),
        ),
        (
            "the_provider_call_id_is_recorded_while_ringing",
            vec![created(), dialed(1, 1)],
            record_provider("CA001", 1),
            Ok(vec![provider(1, "CA001", 1)]),
        ),
        (
            "the_provider_call_id_may_arrive_after_the_answer",
            vec![created(), dialed(1, 1), answered(1, 2)],
            record_provider("CA001", 2),
            Ok(vec![provider(1, "CA001", 2)]),
        ),
        (
            "the_same_provider_call_id_again_records_nothing",
            in_progress(),
            record_provider("CA001", 2),
            Ok(vec![]),
        ),
        (
            "a_second_provider_call_for_one_attempt_is_refused",
            calling(),
            record_provider("CA999", 2),
            Err(CallError::ProviderCallMismatch {
                recorded: "CA001".to_owned(),
            }),
        ),
        (
            "a_provider_call_for_a_call_not_being_dialed_is_refused",
            pending(),
            record_provider("CA001", 1),
            refused(Pending, "RecordProviderCall"),
        ),
        (
            "an_answer_puts_a_ringing_call_in_progress",
            calling(),
            answer(2),
            Ok(vec![answered(1, 2)]),
        ),
        (
            "a_repeated_answer_records_nothing",
            in_progress(),
            answer(2),
            Ok(vec![]),
        ),
        (
            "a_late_answer_after_the_call_finished_records_nothing",
            completed(),
            answer(2),
            Ok(vec![]),
        ),
        (
            "an_answer_for_a_call_not_being_dialed_is_refused",
            pending(),
            answer(2),
            refused(Pending, "RecordAnswered"),
        ),
    ]);
}

#[test]
fn report_outcome() {
    let note = || Some("다음 주 화요일 희망".to_owned());
    let proposed_time = || Some("다음 주 화요일 오후 3시".to_owned());
    check_all::<Call>([
        (
            "an_outcome_during_the_conversation_is_recorded",
            in_progress(),
            CallCommand::ReportOutcome {
                result: CallResult::Rescheduled,
                note: note(),
                proposed_time: proposed_time(),
                at: t(3),
            },
            Ok(vec![CallEvent::OutcomeReported {
                attempt: 1,
                result: CallResult::Rescheduled,
                note: note(),
                proposed_time: proposed_time(),
                reported_at: t(3),
            }]),
        ),
        (
            "an_outcome_before_the_callee_answers_is_refused",
            calling(),
            CallCommand::ReportOutcome {
                result: CallResult::Success,
                note: None,
                proposed_time: None,
                at: t(2),
            },
            refused(CallStatus::Calling, "ReportOutcome"),
        ),
    ]);
}

#[test]
fn record_attempt_ended_after_an_answer() {
    use AttemptEnd::Completed;
    use CallResult::*;
    check_all::<Call>([
        (
            "an_answered_attempt_completes_with_the_last_reported_outcome",
            and(
                in_progress(),
                [outcome(1, Rescheduled, 3), outcome(1, Success, 4)],
            ),
            end(Completed, 95, 5),
            completes(1, Success, 95, 5),
        ),
        (
            "a_callee_hanging_up_without_an_outcome_completes_as_declined",
            in_progress(),
            end(Completed, 4, 3),
            completes(1, Declined, 4, 3),
        ),
        (
            "a_completed_end_counts_as_answered_even_if_the_answer_was_never_reported",
            calling(),
            end(Completed, 30, 3),
            completes(1, Declined, 30, 3),
        ),
        (
            "a_call_answered_on_the_third_attempt_completes_with_success",
            answered_on_last_attempt(outcome(3, Success, 45)),
            end(Completed, 70, 45),
            completes(3, Success, 70, 45),
        ),
    ]);
}

#[test]
fn record_attempt_ended_without_an_answer() {
    use AttemptEnd::*;
    let retryable = failure(Some("31005"), true);
    let last_retryable = failure(None, true);
    let unreachable = failure(Some("21211"), false);
    check_all::<Call>([
        (
            "a_no_answer_with_retries_left_schedules_a_retry",
            calling(),
            end(NoAnswer, 0, 2),
            unanswered(1, NoAnswer, 2, retry_scheduled(1, 12)),
        ),
        (
            "a_busy_line_on_the_second_attempt_schedules_the_second_retry",
            and(waiting_for_retry(), [dialed(2, 12)]),
            end(Busy, 0, 13),
            unanswered(2, Busy, 13, retry_scheduled(2, 43)),
        ),
        (
            "a_retryable_provider_failure_schedules_a_retry",
            calling(),
            end(retryable.clone(), 0, 2),
            unanswered(1, retryable, 2, retry_scheduled(1, 12)),
        ),
        (
            "a_no_answer_on_the_last_attempt_finishes_as_no_answer",
            calling_on_last_attempt(),
            end(NoAnswer, 0, 44),
            unanswered(3, NoAnswer, 44, finished_no_answer(3, 44)),
        ),
        (
            "a_busy_line_on_the_last_attempt_finishes_as_no_answer",
            calling_on_last_attempt(),
            end(Busy, 0, 44),
            unanswered(3, Busy, 44, finished_no_answer(3, 44)),
        ),
        (
            "a_retryable_failure_on_the_last_attempt_fails_the_call",
            calling_on_last_attempt(),
            end(last_retryable.clone(), 0, 44),
            unanswered(3, last_retryable, 44, call_failed("provider failure", 44)),
        ),
        (
            "an_unreachable_number_fails_without_retry",
            calling(),
            end(unreachable.clone(), 0, 2),
            unanswered(
                1,
                unreachable,
                2,
                call_failed("provider failure (code 21211)", 2),
            ),
        ),
        (
            "a_cancelled_attempt_cancels_the_call",
            calling(),
            end(Canceled, 0, 2),
            unanswered(1, Canceled, 2, cancelled(CancelReason::Provider, 2)),
        ),
    ]);
}

#[test]
fn record_attempt_ended_when_nothing_is_ringing() {
    check_all::<Call>([
        (
            "an_attempt_ending_again_after_the_call_finished_records_nothing",
            completed(),
            end(AttemptEnd::Completed, 60, 4),
            Ok(vec![]),
        ),
        (
            "an_attempt_ending_again_while_waiting_for_the_retry_records_nothing",
            waiting_for_retry(),
            end(AttemptEnd::NoAnswer, 0, 3),
            Ok(vec![]),
        ),
        (
            "an_attempt_ending_before_any_dial_is_refused",
            pending(),
            end(AttemptEnd::NoAnswer, 0, 1),
            refused(CallStatus::Pending, "RecordAttemptEnded"),
        ),
    ]);
}

#[test]
fn fail_and_cancel_call() {
    use CallStatus::*;
    let campaign_cancelled = CancelReason::CampaignCancelled;
    check_all::<Call>([
        (
            "failing_a_call_in_progress_records_the_reason",
            in_progress(),
            fail("5 recognition failures", 4),
            Ok(vec![call_failed("5 recognition failures", 4)]),
        ),
        (
            "failing_a_ringing_call_records_the_reason",
            calling(),
            fail("bridge lost", 2),
            Ok(vec![call_failed("bridge lost", 2)]),
        ),
        (
            "failing_a_call_that_is_not_on_the_line_is_refused",
            pending(),
            fail("x", 2),
            refused(Pending, "FailCall"),
        ),
        (
            "cancelling_a_never_dialed_call_cancels_it",
            pending(),
            cancel(1),
            Ok(vec![cancelled(campaign_cancelled, 1)]),
        ),
        (
            "cancelling_a_call_waiting_for_a_retry_cancels_it",
            waiting_for_retry(),
            cancel(5),
            Ok(vec![cancelled(campaign_cancelled, 5)]),
        ),
        (
            "cancelling_a_call_in_progress_is_refused",
            in_progress(),
            cancel(3),
            not_cancellable(InProgress),
        ),
        (
            "cancelling_a_finished_call_is_refused",
            completed(),
            cancel(9),
            not_cancellable(Completed),
        ),
    ]);
}

// --- Wire format and state ---

#[test]
fn statuses_results_and_ends_use_screaming_snake_case() {
    assert_eq!(json_of(CallStatus::InProgress), json!("IN_PROGRESS"));
    assert_eq!(
        json_of(CallResult::CallbackRequested),
        json!("CALLBACK_REQUESTED")
    );
    assert_eq!(CallResult::OptedOut.to_string(), "OPTED_OUT");
    assert_eq!(json_of(AttemptEnd::NoAnswer), json!("NO_ANSWER"));
    let failed = json!({ "FAILED": { "code": null, "retryable": true } });
    assert_eq!(json_of(failure(None, true)), failed);
    use CallStatus::*;
    for status in [Completed, Failed, NoAnswer, Cancelled] {
        assert!(status.is_final(), "{status}");
    }
    for status in [Pending, Calling, InProgress] {
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
    assert_eq!(retry_scheduled(1, 1).event_type(), "RetryScheduled");
}

#[test]
fn the_aggregate_exposes_what_the_bridge_needs() {
    let call: Call = replay(waiting_for_retry());
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

#[test]
fn record_cost() {
    check_all::<Call>([
        (
            "costs_are_recorded_even_after_the_call_is_final",
            vec![
                created(),
                CallEvent::CallCancelled {
                    cancelled_at: t(1),
                    reason: None,
                },
            ],
            CallCommand::RecordCost {
                component: CostComponent::Telephony,
                amount_micros: 42_000,
                at: t(2),
            },
            Ok(vec![CallEvent::CostRecorded {
                component: CostComponent::Telephony,
                amount_micros: 42_000,
                recorded_at: t(2),
            }]),
        ),
        (
            "a_cost_for_a_call_never_created_is_refused",
            vec![],
            CallCommand::RecordCost {
                component: CostComponent::Voice,
                amount_micros: 1,
                at: t(1),
            },
            Err(CallError::NotFound),
        ),
    ]);
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
fn voicemail_tables() {
    use AttemptEnd::Completed;
    use CallResult::*;
    check_all::<Call>([
        (
            "reaching_voicemail_while_answered_records_it_with_the_policy",
            in_progress(),
            record_voicemail(true, 2),
            Ok(vec![voicemail(1, true, 2)]),
        ),
        (
            "voicemail_before_the_answer_is_refused",
            calling(),
            record_voicemail(false, 2),
            refused(CallStatus::Calling, "RecordVoicemail"),
        ),
        (
            "voicemail_without_retry_completes_as_voicemail",
            and(in_progress(), [voicemail(1, false, 2)]),
            end(Completed, 20, 3),
            completes(1, Voicemail, 20, 3),
        ),
        (
            "voicemail_with_retry_on_voicemail_retries_like_no_answer",
            and(in_progress(), [voicemail(1, true, 2)]),
            end(Completed, 20, 3),
            Ok(vec![ended(1, Completed, 20, 3), retry_scheduled(1, 13)]),
        ),
        (
            "voicemail_on_the_last_attempt_completes_as_voicemail_even_with_retry",
            answered_on_last_attempt(voicemail(3, true, 44)),
            end(Completed, 20, 45),
            completes(3, Voicemail, 20, 45),
        ),
        (
            "a_person_answering_the_retry_after_voicemail_completes_normally",
            and(
                in_progress(),
                [
                    voicemail(1, true, 2),
                    ended(1, Completed, 20, 3),
                    retry_scheduled(1, 13),
                    dialed(2, 13),
                    answered(2, 14),
                    outcome(2, Success, 15),
                ],
            ),
            end(Completed, 60, 16),
            completes(2, Success, 60, 16),
        ),
    ]);
}

// --- ConversationEnded ---

/// The command and the event of a conversation ending, with the agent's close code and reason.
fn conversation_ended(
    reason: ConversationEndReason,
    close: Option<(u16, &str)>,
    minute: i64,
) -> (CallCommand, CallEvent) {
    let close_code = close.map(|(code, _)| code);
    let detail = close.map(|(_, detail)| detail.to_owned());
    let command = CallCommand::RecordConversationEnded {
        reason,
        close_code,
        detail: detail.clone(),
        at: t(minute),
    };
    let event = CallEvent::ConversationEnded {
        attempt: 1,
        reason,
        close_code,
        detail,
        ended_at: t(minute),
    };
    (command, event)
}

#[test]
fn record_conversation_ended() {
    use ConversationEndReason::*;
    let (closed, closed_event) =
        conversation_ended(AgentClosed, Some((1002, "asr_transcription_error")), 3);
    let (hung_up, hung_up_event) = conversation_ended(PhoneHungUp, None, 4);
    let (setup_failed, _) = conversation_ended(SetupFailed, None, 1);
    check_all::<Call>([
        (
            "the_end_of_the_conversation_is_recorded_with_the_agents_close_code",
            in_progress(),
            closed,
            Ok(vec![closed_event]),
        ),
        (
            "the_end_of_the_conversation_is_recorded_after_the_call_is_final",
            completed(),
            hung_up,
            Ok(vec![hung_up_event]),
        ),
        (
            "a_conversation_cannot_end_on_a_call_never_dialed",
            pending(),
            setup_failed,
            refused(CallStatus::Pending, "RecordConversationEnded"),
        ),
    ]);
}
