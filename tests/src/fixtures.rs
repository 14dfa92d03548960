//! Test data the suites share: scripts, the SPEC §9 test numbers, times in Seoul, and readers of
//! the API's answers.

use chrono::{DateTime, TimeZone, Utc};
use domain::script::{FlowStep, NextStep, ScriptContent};
use reqwest::StatusCode;
use serde_json::Value;

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
