//! Test data the suites share: scripts, calls and stored events, the SPEC §9 test numbers, times
//! in Seoul, and readers of the API's answers; and the dialer's rig without the app around it.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use commands::dial_queue::DialPlacer;
use commands::dialer::InMemoryTelephony;
use commands::{CancellationToken, EventBus, EventStore, ManualClock, Relay};
use cqrs_es::persist::SerializedEvent;
use domain::PhoneNumber;
use domain::call::CallCommand;
use domain::script::{FlowStep, NextStep, ScriptContent};
use projections::dialer_view::ReadModelView;
use projections::{CampaignList, ProjectionHandle, ProjectionRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use workers::dial_consumer::StoreDialQueue;
use workers::dialer::Dialer;

/// A one-step script.
pub fn script(greeting: &str, purpose: &str, action: &str, variables: &[&str]) -> ScriptContent {
    ScriptContent {
        greeting: greeting.into(),
        purpose: purpose.into(),
        main_flow: vec![FlowStep {
            step: 1,
            action: action.into(),
            expected_responses: vec!["네".into(), "변경".into()],
            next_step: NextStep {
                positive: None,
                negative: None,
            },
        }],
        closing: "감사합니다.".into(),
        variables: variables.iter().map(|v| (*v).to_owned()).collect(),
    }
}

/// The dental clinic's appointment check the sandbox campaigns run.
pub fn clinic_script() -> ScriptContent {
    script(
        "안녕하세요, {customerName}님. 행복치과입니다.",
        "내일 오후 2시 예약 확인",
        "{appointmentTime} 예약이 맞는지 확인합니다.",
        &["customerName", "appointmentTime"],
    )
}

/// A call of `campaign_id` to `phone` with no name, no context and the default retry policy.
pub fn create_call(
    campaign_id: Uuid,
    owner_id: Uuid,
    phone: PhoneNumber,
    at: DateTime<Utc>,
) -> CallCommand {
    CallCommand::CreateCall {
        campaign_id,
        owner_id,
        phone,
        contact_name: None,
        context: Default::default(),
        retry: Default::default(),
        at,
    }
}

/// A stored `CallAnswered` of call `aggregate_id` at `sequence`, as the store's suites append it.
pub fn call_answered(aggregate_id: &str, sequence: usize) -> SerializedEvent {
    SerializedEvent::new(
        aggregate_id.to_owned(),
        sequence,
        "call".to_owned(),
        "CallAnswered".to_owned(),
        "1.0".to_owned(),
        json!({ "CallAnswered": { "attempt": sequence, "answered_at": "2026-11-21T05:00:00Z" } }),
        json!({ "actor": "twilio", "correlation_id": "c-1" }),
    )
}

/// A stored `Added` of the test-only `tally` aggregate: one more, `sequence` in all.
pub fn tally_added(aggregate_id: &str, sequence: usize) -> SerializedEvent {
    SerializedEvent::new(
        aggregate_id.to_owned(),
        sequence,
        "tally".to_owned(),
        "Added".to_owned(),
        "1.0".to_owned(),
        json!({ "Added": { "amount": 1, "total": sequence } }),
        json!({ "actor": "test" }),
    )
}

/// SPEC §9 test number `nn` as a user types it (`010-5550-01NN`).
pub fn number(nn: u32) -> String {
    format!("010-5550-01{nn:02}")
}

/// SPEC §9 test number `nn` in E.164.
pub fn e164(nn: u32) -> String {
    format!("+821055500{}", 100 + nn)
}

/// `hour:minute` on 2026-11-23 in Seoul.
pub fn seoul(hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Seoul
        .with_ymd_and_hms(2026, 11, 23, hour, minute, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// A JSON string's text; panics naming the value when it is not a string.
#[track_caller]
pub fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

/// The error code of an error answer (empty when there is none).
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Asserts that an answer is an error with `expected` status and error code `expected_code`.
#[track_caller]
pub fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, expected_code: &str) {
    assert_eq!((status, code(body)), (expected, expected_code), "{body}");
}

/// The error code and details of an error answer.
pub fn error_of(body: &Value) -> (&str, &Value) {
    (code(body), &body["error"]["details"])
}

/// A dollar amount as micro-dollars.
pub fn micros(value: &Value) -> i64 {
    (value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
        * 1_000_000.0)
        .round() as i64
}

/// The campaign list kept up to date from `store` through an in-process bus and the relay until
/// `stop`: the projection's handle.
pub fn project_campaign_list(store: &EventStore, stop: &CancellationToken) -> ProjectionHandle {
    let bus = EventBus::in_process();
    let runner = ProjectionRunner::new(store.clone(), bus.clone(), Arc::new(CampaignList));
    let handle = runner.handle();
    tokio::spawn(runner.run(stop.clone()));
    tokio::spawn(workers::relay::run(
        Relay::new(store.clone(), bus),
        stop.clone(),
    ));
    handle
}

/// The dialer deciding from the read models behind `handle`.
pub fn dialer(store: &EventStore, handle: &ProjectionHandle, clock: &Arc<ManualClock>) -> Dialer {
    let view = Arc::new(ReadModelView::new(store.clone(), handle.clone()));
    Dialer::new(store.clone(), view, clock.clone())
}

/// The dial consumer placing requested calls through `telephony` (drained by hand).
pub fn dial_queue(
    store: &EventStore,
    telephony: Arc<InMemoryTelephony>,
    clock: &Arc<ManualClock>,
) -> StoreDialQueue {
    StoreDialQueue::new(
        DialPlacer::new(store.clone(), telephony, clock.clone()),
        store.clone(),
    )
}
