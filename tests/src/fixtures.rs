//! Test data the suites share: scripts, calls and stored events, the SPEC §9 test numbers, times
//! in Seoul, and readers of the API's answers; projections run, rebuilt and replayed by hand; and
//! the dialer's rig without the app around it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use commands::dial_queue::DialPlacer;
use commands::dialer::InMemoryTelephony;
use commands::{
    CancellationToken, CommandContext, Commands, EventBus, EventStore, ManualClock, Relay,
};
use cqrs_es::persist::SerializedEvent;
use domain::PhoneNumber;
use domain::call::CallCommand;
use domain::campaign::{CampaignCommand, Contact};
use domain::policy::CampaignSettings;
use domain::script::{FlowStep, NextStep, Script, ScriptCommand, ScriptContent};
use projections::dialer_view::ReadModelView;
use projections::{CampaignList, Projection, ProjectionHandle, ProjectionRunner};
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

/// Saves `content` as a script of `owner` through its aggregate (no writer involved): its id.
pub async fn save_script(store: &EventStore, owner: Uuid, content: ScriptContent) -> Uuid {
    let id = Uuid::new_v4();
    let create = ScriptCommand::CreateScript {
        owner_id: owner,
        name: "예약 확인".into(),
        natural_input: "내일 오후 2시 예약 고객에게 확인 전화".into(),
        content,
        at: Utc::now(),
    };
    Commands::<Script>::new(store.clone(), ())
        .execute(
            &id.to_string(),
            create,
            &CommandContext::new(owner.to_string()),
        )
        .await
        .expect("the script is saved");
    id
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

/// A contact at `number` (as a user types it) called `name`, with a fresh call id.
pub fn contact(number: &str, name: &str) -> Contact {
    Contact {
        call_id: Uuid::new_v4(),
        phone: PhoneNumber::parse_kr(number).expect("a valid number"),
        name: Some(name.to_owned()),
        context: Default::default(),
    }
}

/// A campaign of `owner_id` called `name` over `contacts`, on a fresh script's first version.
pub fn create_campaign(
    owner_id: Uuid,
    name: &str,
    settings: CampaignSettings,
    contacts: Vec<Contact>,
    at: DateTime<Utc>,
) -> CampaignCommand {
    CampaignCommand::CreateCampaign {
        owner_id,
        name: name.to_owned(),
        script_id: Uuid::new_v4(),
        script_version: 1,
        settings,
        contacts,
        variables: Default::default(),
        at,
    }
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

/// Settings whose daily budget one answered sandbox call already crosses (Twilio alone charges
/// $0.0135), with the alert at the same cent.
pub fn one_cent_daily_budget() -> Value {
    json!({ "businessName": "행복치과", "dailyBudgetUsd": 0.01, "alertThresholdUsd": 0.01 })
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

/// Runs `projection` from `store` through `bus` until `stop`, and waits until it has applied
/// everything in the store: its handle.
pub async fn project_to_head(
    store: &EventStore,
    bus: &EventBus,
    projection: Arc<dyn Projection>,
    stop: &CancellationToken,
) -> ProjectionHandle {
    let runner = ProjectionRunner::new(store.clone(), bus.clone(), projection);
    let handle = runner.handle();
    tokio::spawn(runner.run(stop.clone()));
    wait_for_head(store, &handle).await;
    handle
}

/// Waits until the projection behind `handle` has applied everything in `store`; the head.
pub async fn wait_for_head(store: &EventStore, handle: &ProjectionHandle) -> i64 {
    let head = store.head().await.expect("the store's head");
    assert!(
        handle.wait_for(head, Duration::from_secs(30)).await,
        "projection stalled"
    );
    head
}

/// Forgets a projection's `tables` and its `checkpoint`, so its next run rebuilds them from the
/// history.
pub async fn forget_projection(store: &EventStore, tables: &[&str], checkpoint: &str) {
    let pool = store.db().pool();
    for table in tables {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(pool)
            .await
            .expect("the rows are deleted");
    }
    sqlx::query("DELETE FROM checkpoints WHERE name = $1")
        .bind(checkpoint)
        .execute(pool)
        .await
        .expect("the checkpoint is deleted");
}

/// Moves a projection's `checkpoint` back to `position`, as a crash before it was saved would:
/// its next run applies those events again.
pub async fn rewind_projection(store: &EventStore, checkpoint: &str, position: i64) {
    sqlx::query("UPDATE checkpoints SET position = $1 WHERE name = $2")
        .bind(position)
        .bind(checkpoint)
        .execute(store.db().pool())
        .await
        .expect("the checkpoint is moved");
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

/// Signs `email` up with the harness password on a server running at `base` (`…/api/v1`): the
/// token and the account id. For the load binaries, which run the real application. Like every
/// test business it has a profile (campaigns cannot start without its name).
pub async fn sign_up_at(client: &reqwest::Client, base: &str, email: &str) -> (String, Uuid) {
    let credentials = json!({ "email": email, "password": crate::PASSWORD });
    post_json(client, &format!("{base}/auth/register"), None, &credentials).await;
    let login = post_json(client, &format!("{base}/auth/login"), None, &credentials).await;
    let token = text(&login["data"]["accessToken"]).to_owned();
    let profile =
        json!({ "businessName": crate::api::BUSINESS_NAME, "businessPhone": "02-555-0100" });
    let saved = client
        .put(format!("{base}/settings"))
        .bearer_auth(&token)
        .json(&profile)
        .send()
        .await
        .expect("the app answers");
    assert!(
        saved.status().is_success(),
        "the profile: {}",
        saved.status()
    );
    let me: Value = client
        .get(format!("{base}/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("the app answers")
        .json()
        .await
        .expect("a JSON answer");
    let account = text(&me["data"]["id"]).parse().expect("a uuid");
    (token, account)
}

/// `POST` of `body` as JSON to `url`, with `token` as the bearer when given: the JSON answer
/// (`null` when there is none).
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> Value {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the app answers");
    response.json().await.unwrap_or(Value::Null)
}
