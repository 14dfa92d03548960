//! Given/when/then tests of conversations, transcripts, summaries and per-attempt costs.

use super::*;
use crate::testing::call::*;
use crate::testing::{and, check, check_all, replay, t};

fn conversation() -> CallEvent {
    CallEvent::ConversationStarted {
        attempt: 1,
        conversation_id: "conv_1".into(),
        started_at: t(2),
    }
}

fn record_conversation(conversation_id: &str, minute: i64) -> CallCommand {
    CallCommand::RecordConversation {
        conversation_id: conversation_id.into(),
        at: t(minute),
    }
}

/// Answered with a bridged conversation, then completed with `result`.
fn completed(result: CallResult) -> Vec<CallEvent> {
    let mut events = completed_with(result);
    events.insert(in_progress().len(), conversation());
    events
}

fn lines() -> Vec<TranscriptLine> {
    vec![
        TranscriptLine::new(Speaker::Agent, "안녕하세요, 행복치과입니다."),
        TranscriptLine::new(Speaker::User, "네, 맞습니다."),
    ]
}

/// The command and the event of one transcript of attempt `attempt`.
fn transcript(
    attempt: u32,
    lines: Vec<TranscriptLine>,
    source: TranscriptSource,
    conversation_id: Option<&str>,
    minute: i64,
) -> (CallCommand, CallEvent) {
    let conversation_id = conversation_id.map(str::to_owned);
    let command = CallCommand::RecordTranscript {
        attempt,
        lines: lines.clone(),
        source,
        conversation_id: conversation_id.clone(),
        at: t(minute),
    };
    let event = CallEvent::TranscriptRecorded {
        attempt,
        lines,
        source,
        conversation_id,
        recorded_at: t(minute),
    };
    (command, event)
}

fn bridge_transcript() -> (CallCommand, CallEvent) {
    transcript(1, lines(), TranscriptSource::Bridge, Some("conv_1"), 3)
}

fn summary_command(suggested: CallResult) -> CallCommand {
    CallCommand::RecordSummary {
        attempt: 1,
        summary: "예약을 확인했습니다.".into(),
        suggested_result: Some(suggested),
        follow_up_needed: false,
        source: SummarySource::Llm,
        at: t(4),
    }
}

fn cost(component: CostComponent, amount_micros: i64) -> CallCommand {
    CallCommand::RecordAttemptCost {
        attempt: 1,
        component,
        amount_micros,
        at: t(5),
    }
}

fn cost_recorded(component: CostComponent, amount_micros: i64) -> CallEvent {
    CallEvent::AttemptCostRecorded {
        attempt: 1,
        component,
        amount_micros,
        recorded_at: t(5),
    }
}

#[test]
fn record_conversation_and_transcript() {
    let success = || completed(CallResult::Success);
    let (record_bridge, bridge_recorded) = bridge_transcript();
    let (unknown_attempt, _) = transcript(2, lines(), TranscriptSource::Bridge, None, 3);
    let mut timed = lines();
    timed[0].time_in_call_secs = Some(0);
    timed[1].time_in_call_secs = Some(3);
    let (same_words, _) = transcript(1, timed, TranscriptSource::Provider, Some("conv_1"), 4);
    check_all::<Call>([
        (
            "a_live_attempt_records_its_conversation_once",
            in_progress(),
            record_conversation("conv_1", 2),
            Ok(vec![conversation()]),
        ),
        (
            "a_live_attempt_records_its_conversation_once (again)",
            and(in_progress(), [conversation()]),
            record_conversation("conv_1", 2),
            Ok(vec![]),
        ),
        (
            "a_conversation_for_a_finished_call_is_refused",
            success(),
            record_conversation("conv_2", 9),
            refused(CallStatus::Completed, "RecordConversation"),
        ),
        (
            "the_bridge_transcript_is_recorded_after_the_call_is_final",
            success(),
            record_bridge,
            Ok(vec![bridge_recorded.clone()]),
        ),
        (
            "a_provider_transcript_with_the_same_words_is_not_recorded_again",
            and(success(), [bridge_recorded]),
            same_words,
            Ok(vec![]),
        ),
        (
            "a_transcript_of_an_attempt_never_started_is_refused",
            success(),
            unknown_attempt,
            Err(CallError::UnknownAttempt { attempt: 2 }),
        ),
    ]);
}

#[test]
fn a_provider_transcript_that_differs_replaces_the_bridge_one_and_a_late_bridge_one_does_not() {
    let mut events = and(completed(CallResult::Success), [bridge_transcript().1]);
    let mut provider = lines();
    provider.push(TranscriptLine {
        role: Speaker::Agent,
        text: "확인 감사합니다.".into(),
        time_in_call_secs: Some(6),
    });
    let (replace, recorded) = transcript(
        1,
        provider.clone(),
        TranscriptSource::Provider,
        Some("conv_1"),
        4,
    );
    let case = "a provider transcript that differs replaces the bridge one";
    check::<Call>(case, events.clone(), replace, Ok(vec![recorded.clone()]));
    events.push(recorded);
    let (late_bridge, _) = transcript(1, lines(), TranscriptSource::Bridge, None, 5);
    let case = "a late bridge transcript does not";
    check::<Call>(case, events.clone(), late_bridge, Ok(vec![]));
    let call: Call = replay(events);
    let attempt = call.results().attempt(1).unwrap();
    assert_eq!(attempt.transcript.as_deref(), Some(&provider[..]));
    assert_eq!(attempt.transcript_source, Some(TranscriptSource::Provider));
    assert_eq!(attempt.conversation_id.as_deref(), Some("conv_1"));
}

#[test]
fn the_summary_suggestion_never_overrides_the_agents_result() {
    let events = completed(CallResult::Rescheduled);
    let summary = CallEvent::SummaryGenerated {
        attempt: 1,
        summary: "예약을 확인했습니다.".into(),
        suggested_result: Some(CallResult::Success),
        follow_up_needed: false,
        source: SummarySource::Llm,
        generated_at: t(4),
    };
    let first = summary_command(CallResult::Success);
    check::<Call>(
        "summarized",
        events.clone(),
        first,
        Ok(vec![summary.clone()]),
    );
    let all = and(events, [summary]);
    let call: Call = replay(all.clone());
    assert_eq!(call.result(), Some(CallResult::Rescheduled));
    assert_eq!(call.status(), Some(CallStatus::Completed));
    assert!(call.results().attempt(1).unwrap().summarized);
    let again = summary_command(CallResult::Declined);
    check::<Call>("once per attempt", all, again, Ok(vec![]));
}

#[test]
fn an_unanswered_attempt_gets_no_summary() {
    let events = vec![
        created(),
        dialed(1, 1),
        ended(1, AttemptEnd::NoAnswer, 0, 2),
        CallEvent::CallFinishedNoAnswer {
            attempts: 1,
            finished_at: t(2),
        },
    ];
    let error = CallError::NotAnswered { attempt: 1 };
    let summarize = summary_command(CallResult::Success);
    check::<Call>("no summary", events, summarize, Err(error));
}

#[test]
fn each_component_of_an_attempt_is_charged_once() {
    use CostComponent::*;
    let events = completed(CallResult::Success);
    let charged = and(events.clone(), [cost_recorded(Telephony, 13_500)]);
    check_all::<Call>([
        (
            "the first telephony charge is recorded",
            events,
            cost(Telephony, 13_500),
            Ok(vec![cost_recorded(Telephony, 13_500)]),
        ),
        (
            "a second telephony charge is not",
            charged.clone(),
            cost(Telephony, 99_000),
            Ok(vec![]),
        ),
        (
            "another component is charged",
            charged.clone(),
            cost(Voice, 9_000),
            Ok(vec![cost_recorded(Voice, 9_000)]),
        ),
        (
            "a_negative_cost_is_refused",
            completed(CallResult::Success),
            cost(Llm, -1),
            Err(CallError::NegativeCost),
        ),
        (
            "results_commands_for_a_call_never_created_are_refused",
            vec![],
            cost(Llm, 1),
            Err(CallError::NotFound),
        ),
    ]);
    assert_eq!(replay::<Call>(charged).cost_micros(), 13_500);
}

#[test]
fn results_events_keep_their_wire_shape() {
    let line = TranscriptLine {
        role: Speaker::User,
        text: "네".into(),
        time_in_call_secs: Some(3),
    };
    let (_, event) = transcript(1, vec![line], TranscriptSource::Provider, Some("conv_1"), 0);
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(
        json["TranscriptRecorded"]["lines"][0],
        serde_json::json!({"role": "user", "text": "네", "timeInCallSecs": 3})
    );
    assert_eq!(json["TranscriptRecorded"]["source"], "PROVIDER");
    assert_eq!(serde_json::from_value::<CallEvent>(json).unwrap(), event);
}
