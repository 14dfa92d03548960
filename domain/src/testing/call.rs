//! Histories of one [`Call`]: created, ringing, answered, waiting for a retry, completed.

use serde_json::json;
use uuid::Uuid;

use super::{Then, t};
use crate::PhoneNumber;
use crate::call::*;
use crate::policy::RetryPolicy;

/// The campaign every test call belongs to.
pub(crate) const CAMPAIGN: Uuid = Uuid::from_u128(0xCA);
/// The account that owns it.
pub(crate) const OWNER: Uuid = Uuid::from_u128(0x0A);

pub(crate) fn phone() -> PhoneNumber {
    PhoneNumber::parse_kr("010-5550-0112").unwrap()
}

pub(crate) fn context() -> serde_json::Map<String, serde_json::Value> {
    let mut context = serde_json::Map::new();
    context.insert("예약시간".to_owned(), json!("14:00"));
    context
}

/// Two retries, 10 then 30 minutes apart.
pub(crate) fn retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        intervals_seconds: vec![600, 1800],
    }
}

pub(crate) fn created() -> CallEvent {
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

pub(crate) fn dialed(attempt: u32, minute: i64) -> CallEvent {
    CallEvent::DialRequested {
        attempt,
        requested_at: t(minute),
    }
}

pub(crate) fn provider(attempt: u32, sid: &str, minute: i64) -> CallEvent {
    CallEvent::ProviderCallCreated {
        attempt,
        provider_call_sid: sid.to_owned(),
        created_at: t(minute),
    }
}

pub(crate) fn answered(attempt: u32, minute: i64) -> CallEvent {
    CallEvent::CallAnswered {
        attempt,
        answered_at: t(minute),
    }
}

pub(crate) fn ended(attempt: u32, end: AttemptEnd, duration_secs: u32, minute: i64) -> CallEvent {
    CallEvent::AttemptEnded {
        attempt,
        end,
        duration_secs,
        ended_at: t(minute),
    }
}

pub(crate) fn outcome(attempt: u32, result: CallResult, minute: i64) -> CallEvent {
    CallEvent::OutcomeReported {
        attempt,
        result,
        note: None,
        proposed_time: None,
        reported_at: t(minute),
    }
}

pub(crate) fn retry_scheduled(retry_number: u32, minute: i64) -> CallEvent {
    CallEvent::RetryScheduled {
        retry_at: t(minute),
        retry_number,
    }
}

pub(crate) fn call_completed(result: CallResult, duration_secs: u32, minute: i64) -> CallEvent {
    CallEvent::CallCompleted {
        result,
        duration_secs,
        completed_at: t(minute),
    }
}

/// The provider says how the current attempt ended.
pub(crate) fn end(end: AttemptEnd, duration_secs: u32, minute: i64) -> CallCommand {
    CallCommand::RecordAttemptEnded {
        end,
        duration_secs,
        at: t(minute),
    }
}

/// The refusal of `command` in `status`.
pub(crate) fn refused(status: CallStatus, command: &'static str) -> Then<Call> {
    Err(CallError::InvalidTransition { status, command })
}

/// Created, never dialed.
pub(crate) fn pending() -> Vec<CallEvent> {
    vec![created()]
}

/// Attempt 1 ringing with provider call `CA001`.
pub(crate) fn calling() -> Vec<CallEvent> {
    vec![created(), dialed(1, 1), provider(1, "CA001", 1)]
}

/// Attempt 1 answered at minute 2.
pub(crate) fn in_progress() -> Vec<CallEvent> {
    let mut events = calling();
    events.push(answered(1, 2));
    events
}

/// Attempt 1 unanswered, retry 1 due at minute 12.
pub(crate) fn waiting_for_retry() -> Vec<CallEvent> {
    let mut events = calling();
    events.extend([ended(1, AttemptEnd::NoAnswer, 0, 2), retry_scheduled(1, 12)]);
    events
}

/// Attempts 1 and 2 unanswered; attempt 3 (the last retry) ringing.
pub(crate) fn calling_on_last_attempt() -> Vec<CallEvent> {
    let mut events = waiting_for_retry();
    events.extend([
        dialed(2, 12),
        ended(2, AttemptEnd::NoAnswer, 0, 13),
        retry_scheduled(2, 43),
        dialed(3, 43),
    ]);
    events
}

/// Attempt 1 answered and completed with `result` at minute 3 after 60 seconds.
pub(crate) fn completed_with(result: CallResult) -> Vec<CallEvent> {
    let mut events = in_progress();
    events.extend([
        outcome(1, result, 3),
        ended(1, AttemptEnd::Completed, 60, 3),
        call_completed(result, 60, 3),
    ]);
    events
}

/// Attempt 1 answered and completed with success.
pub(crate) fn completed() -> Vec<CallEvent> {
    completed_with(CallResult::Success)
}
