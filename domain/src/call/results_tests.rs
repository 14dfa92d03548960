//! Given/when/then tests of conversations, transcripts, summaries and per-attempt costs.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::Aggregate;
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::PhoneNumber;
use crate::policy::RetryPolicy;

type Fixture = TestFramework<Call>;

fn t(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(minute)
}

fn created() -> CallEvent {
    CallEvent::CallCreated {
        campaign_id: Uuid::from_u128(0xCA),
        owner_id: Uuid::from_u128(0x0A),
        phone: PhoneNumber::parse_kr("010-5550-0101").unwrap(),
        contact_name: Some("김민수".into()),
        context: serde_json::Map::new(),
        retry: RetryPolicy {
            max_retries: 1,
            intervals_seconds: vec![60],
        },
        created_at: t(0),
    }
}

fn in_progress() -> Vec<CallEvent> {
    vec![
        created(),
        CallEvent::DialRequested {
            attempt: 1,
            requested_at: t(1),
        },
        CallEvent::ProviderCallCreated {
            attempt: 1,
            provider_call_sid: "CA001".into(),
            created_at: t(1),
        },
        CallEvent::CallAnswered {
            attempt: 1,
            answered_at: t(2),
        },
    ]
}

fn conversation() -> CallEvent {
    CallEvent::ConversationStarted {
        attempt: 1,
        conversation_id: "conv_1".into(),
        started_at: t(2),
    }
}

fn completed(result: CallResult) -> Vec<CallEvent> {
    let mut events = in_progress();
    events.extend([
        conversation(),
        CallEvent::OutcomeReported {
            attempt: 1,
            result,
            note: None,
            proposed_time: None,
            reported_at: t(3),
        },
        CallEvent::AttemptEnded {
            attempt: 1,
            end: AttemptEnd::Completed,
            duration_secs: 60,
            ended_at: t(3),
        },
        CallEvent::CallCompleted {
            result,
            duration_secs: 60,
            completed_at: t(3),
        },
    ]);
    events
}

fn lines() -> Vec<TranscriptLine> {
    vec![
        TranscriptLine::new(Speaker::Agent, "안녕하세요, 행복치과입니다."),
        TranscriptLine::new(Speaker::User, "네, 맞습니다."),
    ]
}

fn bridge_transcript() -> CallEvent {
    CallEvent::TranscriptRecorded {
        attempt: 1,
        lines: lines(),
        source: TranscriptSource::Bridge,
        conversation_id: Some("conv_1".into()),
        recorded_at: t(3),
    }
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

fn replay(events: Vec<CallEvent>) -> Call {
    let mut call = Call::default();
    for event in events {
        call.apply(event);
    }
    call
}

#[test]
fn a_live_attempt_records_its_conversation_once() {
    Fixture::with(())
        .given(in_progress())
        .when(CallCommand::RecordConversation {
            conversation_id: "conv_1".into(),
            at: t(2),
        })
        .then_expect_events(vec![conversation()]);
    let mut events = in_progress();
    events.push(conversation());
    Fixture::with(())
        .given(events)
        .when(CallCommand::RecordConversation {
            conversation_id: "conv_1".into(),
            at: t(2),
        })
        .then_expect_events(vec![]);
}

#[test]
fn a_conversation_for_a_finished_call_is_refused() {
    Fixture::with(())
        .given(completed(CallResult::Success))
        .when(CallCommand::RecordConversation {
            conversation_id: "conv_2".into(),
            at: t(9),
        })
        .then_expect_error(CallError::InvalidTransition {
            status: CallStatus::Completed,
            command: "RecordConversation",
        });
}

#[test]
fn the_bridge_transcript_is_recorded_after_the_call_is_final() {
    Fixture::with(())
        .given(completed(CallResult::Success))
        .when(CallCommand::RecordTranscript {
            attempt: 1,
            lines: lines(),
            source: TranscriptSource::Bridge,
            conversation_id: Some("conv_1".into()),
            at: t(3),
        })
        .then_expect_events(vec![bridge_transcript()]);
}

#[test]
fn a_provider_transcript_with_the_same_words_is_not_recorded_again() {
    let mut events = completed(CallResult::Success);
    events.push(bridge_transcript());
    let mut timed = lines();
    timed[0].time_in_call_secs = Some(0);
    timed[1].time_in_call_secs = Some(3);
    Fixture::with(())
        .given(events)
        .when(CallCommand::RecordTranscript {
            attempt: 1,
            lines: timed,
            source: TranscriptSource::Provider,
            conversation_id: Some("conv_1".into()),
            at: t(4),
        })
        .then_expect_events(vec![]);
}

#[test]
fn a_provider_transcript_that_differs_replaces_the_bridge_one_and_a_late_bridge_one_does_not() {
    let mut events = completed(CallResult::Success);
    events.push(bridge_transcript());
    let mut provider = lines();
    provider.push(TranscriptLine {
        role: Speaker::Agent,
        text: "확인 감사합니다.".into(),
        time_in_call_secs: Some(6),
    });
    let recorded = CallEvent::TranscriptRecorded {
        attempt: 1,
        lines: provider.clone(),
        source: TranscriptSource::Provider,
        conversation_id: Some("conv_1".into()),
        recorded_at: t(4),
    };
    Fixture::with(())
        .given(events.clone())
        .when(CallCommand::RecordTranscript {
            attempt: 1,
            lines: provider.clone(),
            source: TranscriptSource::Provider,
            conversation_id: Some("conv_1".into()),
            at: t(4),
        })
        .then_expect_events(vec![recorded.clone()]);
    events.push(recorded);
    Fixture::with(())
        .given(events.clone())
        .when(CallCommand::RecordTranscript {
            attempt: 1,
            lines: lines(),
            source: TranscriptSource::Bridge,
            conversation_id: None,
            at: t(5),
        })
        .then_expect_events(vec![]);
    let call = replay(events);
    let attempt = call.results().attempt(1).unwrap();
    assert_eq!(attempt.transcript.as_deref(), Some(&provider[..]));
    assert_eq!(attempt.transcript_source, Some(TranscriptSource::Provider));
    assert_eq!(attempt.conversation_id.as_deref(), Some("conv_1"));
}

#[test]
fn a_transcript_of_an_attempt_never_started_is_refused() {
    Fixture::with(())
        .given(completed(CallResult::Success))
        .when(CallCommand::RecordTranscript {
            attempt: 2,
            lines: lines(),
            source: TranscriptSource::Bridge,
            conversation_id: None,
            at: t(3),
        })
        .then_expect_error(CallError::UnknownAttempt { attempt: 2 });
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
    Fixture::with(())
        .given(events.clone())
        .when(summary_command(CallResult::Success))
        .then_expect_events(vec![summary.clone()]);
    let mut all = events;
    all.push(summary);
    let call = replay(all.clone());
    assert_eq!(call.result(), Some(CallResult::Rescheduled));
    assert_eq!(call.status(), Some(CallStatus::Completed));
    assert!(call.results().attempt(1).unwrap().summarized);
    // Once per attempt.
    Fixture::with(())
        .given(all)
        .when(summary_command(CallResult::Declined))
        .then_expect_events(vec![]);
}

#[test]
fn an_unanswered_attempt_gets_no_summary() {
    let events = vec![
        created(),
        CallEvent::DialRequested {
            attempt: 1,
            requested_at: t(1),
        },
        CallEvent::AttemptEnded {
            attempt: 1,
            end: AttemptEnd::NoAnswer,
            duration_secs: 0,
            ended_at: t(2),
        },
        CallEvent::CallFinishedNoAnswer {
            attempts: 1,
            finished_at: t(2),
        },
    ];
    Fixture::with(())
        .given(events)
        .when(summary_command(CallResult::Success))
        .then_expect_error(CallError::NotAnswered { attempt: 1 });
}

#[test]
fn each_component_of_an_attempt_is_charged_once() {
    let events = completed(CallResult::Success);
    let telephony = CallEvent::AttemptCostRecorded {
        attempt: 1,
        component: CostComponent::Telephony,
        amount_micros: 13_500,
        recorded_at: t(5),
    };
    Fixture::with(())
        .given(events.clone())
        .when(cost(CostComponent::Telephony, 13_500))
        .then_expect_events(vec![telephony.clone()]);
    let mut charged = events;
    charged.push(telephony);
    Fixture::with(())
        .given(charged.clone())
        .when(cost(CostComponent::Telephony, 99_000))
        .then_expect_events(vec![]);
    Fixture::with(())
        .given(charged.clone())
        .when(cost(CostComponent::Voice, 9_000))
        .then_expect_events(vec![CallEvent::AttemptCostRecorded {
            attempt: 1,
            component: CostComponent::Voice,
            amount_micros: 9_000,
            recorded_at: t(5),
        }]);
    assert_eq!(replay(charged).cost_micros(), 13_500);
}

#[test]
fn a_negative_cost_is_refused() {
    Fixture::with(())
        .given(completed(CallResult::Success))
        .when(cost(CostComponent::Llm, -1))
        .then_expect_error(CallError::NegativeCost);
}

#[test]
fn results_commands_for_a_call_never_created_are_refused() {
    Fixture::with(())
        .given_no_previous_events()
        .when(cost(CostComponent::Llm, 1))
        .then_expect_error(CallError::NotFound);
}

#[test]
fn results_events_keep_their_wire_shape() {
    let event = CallEvent::TranscriptRecorded {
        attempt: 1,
        lines: vec![TranscriptLine {
            role: Speaker::User,
            text: "네".into(),
            time_in_call_secs: Some(3),
        }],
        source: TranscriptSource::Provider,
        conversation_id: Some("conv_1".into()),
        recorded_at: t(0),
    };
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(
        json["TranscriptRecorded"]["lines"][0],
        serde_json::json!({"role": "user", "text": "네", "timeInCallSecs": 3})
    );
    assert_eq!(json["TranscriptRecorded"]["source"], "PROVIDER");
    assert_eq!(serde_json::from_value::<CallEvent>(json).unwrap(), event);
}
