//! Campaigns, contacts, import, lifecycle, settings and the do-not-call list through the API.

use callbot_tests::fixtures::{assert_error, code, script, seoul};
use callbot_tests::{AppOptions, TestApp, spawn_app_with};
use domain::script::ScriptContent;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// 22:00 in Seoul: outside the default call window, so the dialer places nothing unless a test
/// moves the clock.
fn evening() -> chrono::DateTime<chrono::Utc> {
    seoul(22, 0)
}

async fn spawn() -> TestApp {
    spawn_app_with(AppOptions::default().manual_clock(evening())).await
}

fn content() -> ScriptContent {
    script(
        "안녕하세요, {businessName}입니다.",
        "예약 확인",
        "{customerName}님, {appointmentTime} 예약 확인 부탁드립니다.",
        &["businessName", "customerName", "appointmentTime"],
    )
}

/// The app with a saved script: the app and the script's id.
async fn spawn_with_script() -> (TestApp, Uuid) {
    let app = spawn().await;
    let script = app.save_script(content()).await;
    (app, script)
}

/// `POST /campaigns/{id}/contacts` with one number.
async fn add_contact(app: &TestApp, id: &str, phone: &str) -> (StatusCode, Value) {
    let body = json!({ "contacts": [{ "phoneNumber": phone }] });
    app.campaign_action(id, "contacts", Some(body)).await
}

/// A draft campaign over `numbers`, each with an appointment time.
async fn campaign(app: &TestApp, numbers: &[&str]) -> String {
    let script = app.save_script(content()).await;
    let contacts: Vec<Value> = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| json!({ "phoneNumber": n, "name": format!("고객{i}"), "context": { "appointmentTime": "14:00" } }))
        .collect();
    let body = json!({ "name": "2월 5일 예약 확인", "scriptId": script, "contacts": contacts });
    app.create_campaign_ok(body).await
}

#[tokio::test]
async fn creating_a_campaign_in_the_prd_shape_normalizes_numbers_and_reports_duplicates() {
    let (app, script) = spawn_with_script().await;
    let mut body = json!({
        "name": "2월 5일 예약 확인",
        "scriptId": script,
        "contacts": [
            { "phoneNumber": "+821012345678", "name": "김철수", "context": { "appointmentTime": "2026-02-06T14:00:00+09:00" } },
            { "phoneNumber": "010-8765-4321", "name": "이영희" },
            { "phoneNumber": "010 1234 5678", "name": "김철수 (again)" }
        ],
        "settings": { "maxConcurrency": 2, "retry": { "intervalsSeconds": [60] }, "callWindow": { "start": "10:00", "end": "24:00" } }
    });
    // 이영희 has no appointment time: nothing is created, and the answer says who lacks what.
    let (status, refused) = app.create_campaign(body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"]["code"], "MISSING_VARIABLES");
    let missing = &refused["error"]["details"]["variables"][0];
    assert_eq!(missing["name"], "appointmentTime", "{refused}");
    assert_eq!(
        missing["contacts"][0], "이영희 (010-8765-4321)",
        "{refused}"
    );
    let (_, list) = app.call("GET", "/campaigns", None).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0), "{list}");
    // A value given once for the campaign fills what a contact lacks.
    body["variables"] = json!({ "appointmentTime": "내일 오후 2시" });
    let (status, created) = app.create_campaign(body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let data = &created["data"];
    assert_eq!(data["status"], "DRAFT");
    assert_eq!(data["totalCalls"], 2);
    assert_eq!(data["duplicates"], json!(["+821012345678"]));
    assert!(data["createdAt"].is_string());
    let id = data["id"].as_str().unwrap();

    let (status, campaign) = app.get_campaign(id).await;
    assert_eq!(status, StatusCode::OK);
    let campaign = &campaign["data"];
    assert_eq!(campaign["settings"]["maxConcurrency"], 2);
    assert_eq!(
        campaign["settings"]["retry"]["maxRetries"], 3,
        "unset fields keep their defaults"
    );
    assert_eq!(campaign["settings"]["callWindow"]["end"], "24:00");
    assert_eq!(campaign["progress"]["pending"], 2);

    let (_, calls) = app.list_calls(id, "").await;
    let items = calls["data"]["items"].as_array().unwrap();
    assert_eq!(items[0]["phoneNumber"], "+821012345678");
    assert_eq!(items[1]["phoneNumber"], "+821087654321");
    assert_eq!(items[0]["name"], "김철수");
    assert_eq!(items[0]["status"], "PENDING");
    assert_eq!(items[0]["attempts"], 0);
    let (status, one) = app
        .call(
            "GET",
            &format!("/calls/{}", items[1]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        (status, one["data"]["name"].clone()),
        (StatusCode::OK, json!("이영희"))
    );

    let (_, list) = app.call("GET", "/campaigns", None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn invalid_contacts_reject_the_whole_request_with_a_list() {
    let (app, script) = spawn_with_script().await;
    let body = json!({
        "name": "x",
        "scriptId": script,
        "contacts": [
            { "phoneNumber": "010-1234-5678" },
            { "phoneNumber": "12345" },
            { "phoneNumber": "+1 415 555 2671" }
        ]
    });
    let (status, body) = app.create_campaign(body).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_PHONE");
    let errors = body["error"]["details"]["contacts"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(
        (errors[0]["index"].clone(), errors[0]["value"].clone()),
        (json!(1), json!("12345"))
    );
    assert_eq!(errors[1]["index"], 2);
    assert!(errors[1]["reason"].is_string());
    let (_, list) = app.call("GET", "/campaigns", None).await;
    assert!(
        list["data"].as_array().unwrap().is_empty(),
        "nothing was created"
    );

    let bad_script = json!({ "name": "x", "scriptId": Uuid::new_v4(), "contacts": [] });
    let (status, body) = app.create_campaign(bad_script).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    let bad_settings =
        json!({ "name": "x", "scriptId": script, "settings": { "maxConcurrency": 0 } });
    let (status, body) = app.create_campaign(bad_settings).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    let unknown = json!({ "name": "x", "scriptId": script, "settings": { "speed": 3 } });
    let (status, body) = app.create_campaign(unknown).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    assert!(body["error"]["message"].as_str().unwrap().contains("speed"));
}

#[tokio::test]
async fn the_lifecycle_follows_the_prd_codes() {
    let (app, script) = spawn_with_script().await;
    let empty = app
        .create_campaign_ok(json!({ "name": "빈", "scriptId": script }))
        .await;
    let (status, body) = app.start_campaign(&empty).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "NO_CONTACTS");
    let (status, added) = add_contact(&app, &empty, "010-5550-0101").await;
    assert_eq!(
        (status, added["data"]["added"].clone()),
        (StatusCode::OK, json!(1))
    );

    let id = campaign(&app, &["010-5550-0101", "010-5550-0102", "010-5550-0103"]).await;
    let started = app.start_campaign_ok(&id).await;
    assert_eq!(started["data"]["status"], "RUNNING");
    assert!(started["data"]["startedAt"].is_string());
    let (status, body) = app.start_campaign(&id).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_STATE");
    let (status, body) = add_contact(&app, &id, "010-5550-0104").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_STATE");
    let (_, detail) = app.get_campaign(&id).await;
    assert!(
        detail["data"]["eta"]["etaSeconds"].as_i64().unwrap() > 0,
        "{detail}"
    );
    let (status, body) = app.call("DELETE", &format!("/campaigns/{id}"), None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_STATE");

    let (_, paused) = app.campaign_action(&id, "pause", None).await;
    assert_eq!(paused["data"]["status"], "PAUSED");
    assert_eq!(paused["data"]["pauseReason"], "USER", "{paused}");
    let (_, resumed) = app.campaign_action(&id, "resume", None).await;
    assert_eq!(resumed["data"]["status"], "RUNNING");
    // Running again, it is paused for no reason.
    assert!(resumed["data"]["pauseReason"].is_null(), "{resumed}");
    let (_, detail) = app.get_campaign(&id).await;
    assert!(detail["data"]["pauseReason"].is_null(), "{detail}");
    let (status, cancelled) = app.campaign_action(&id, "cancel", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cancelled["data"]["status"], "CANCELLED");
    assert_eq!(
        cancelled["data"]["cancelledCalls"], 3,
        "outside the window nothing was dialed"
    );
    assert_eq!(cancelled["data"]["completedCalls"], 0);

    let (status, _) = app.call("DELETE", &format!("/campaigns/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get_campaign(&id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let later = campaign(&app, &["010-5550-0105"]).await;
    let at = (evening() + chrono::Duration::days(1)).to_rfc3339();
    let (status, scheduled) = app
        .campaign_action(&later, "start", Some(json!({ "scheduledAt": at })))
        .await;
    assert_eq!(status, StatusCode::OK, "{scheduled}");
    assert_eq!(scheduled["data"]["status"], "SCHEDULED");
    let past = (evening() - chrono::Duration::hours(1)).to_rfc3339();
    let other = campaign(&app, &["010-5550-0106"]).await;
    let (status, body) = app
        .campaign_action(&other, "start", Some(json!({ "scheduledAt": past })))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
}

#[tokio::test]
async fn a_start_without_the_business_name_is_refused_with_missing_variables() {
    let app = spawn().await;
    let id = campaign(&app, &["010-5550-0101"]).await;
    // The owner empties the business profile after creating the campaign.
    let (status, body) = app.call("PUT", "/settings", Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.start_campaign(&id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "MISSING_VARIABLES");
    assert_eq!(
        body["error"]["details"]["variables"][0]["name"],
        "businessName"
    );
    let (_, detail) = app.get_campaign(&id).await;
    assert_eq!(detail["data"]["status"], "DRAFT", "{detail}");
    // With the name back, it starts.
    let profile = json!({ "businessName": "행복치과" });
    let (status, _) = app.call("PUT", "/settings", Some(profile)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.start_campaign(&id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_start_over_budget_is_refused_with_402() {
    let app = spawn().await;
    let (status, settings) = app.call("GET", "/settings", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(settings["data"]["alertThresholdUsd"], 50.0);
    let mut settings = settings["data"].clone();
    settings["dailyBudgetUsd"] = json!(0.0);
    let (status, _) = app.call("PUT", "/settings", Some(settings.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let id = campaign(&app, &["010-5550-0101"]).await;
    let (status, body) = app.start_campaign(&id).await;
    assert_error(
        status,
        &body,
        StatusCode::PAYMENT_REQUIRED,
        "INSUFFICIENT_CREDITS",
    );

    settings["dailyBudgetUsd"] = json!(-1);
    let (status, body) = app.call("PUT", "/settings", Some(settings.clone())).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    settings["surprise"] = json!(true);
    let (status, _) = app.call("PUT", "/settings", Some(settings)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_do_not_call_list_can_be_listed_added_to_and_removed_from() {
    let app = spawn().await;
    let (status, body) = app
        .suppress(json!({ "phoneNumber": "010-5550-0111", "reason": "asked on the phone" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["phoneNumber"], "+821055500111");
    let (status, _) = app.suppress(json!({ "phoneNumber": "01055500111" })).await;
    assert_eq!(status, StatusCode::OK, "already listed");
    let (_, list) = app.call("GET", "/suppressions", None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let (status, body) = app.suppress(json!({ "phoneNumber": "nope" })).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_PHONE");
    let (status, _) = app
        .call("DELETE", "/suppressions/+821055500111", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call("DELETE", "/suppressions/+821055500111", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn another_account_cannot_see_or_touch_a_campaign() {
    let app = spawn().await;
    let id = campaign(&app, &["010-5550-0101"]).await;
    let (_, calls) = app.list_calls(&id, "").await;
    let call = calls["data"]["items"][0]["id"].as_str().unwrap().to_owned();
    let (other, _) = app.sign_up("rival@clinic.kr").await;
    for (method, path) in [
        ("GET", format!("/campaigns/{id}")),
        ("GET", format!("/campaigns/{id}/calls")),
        ("POST", format!("/campaigns/{id}/start")),
        ("POST", format!("/campaigns/{id}/cancel")),
        ("DELETE", format!("/campaigns/{id}")),
        ("GET", format!("/calls/{call}")),
    ] {
        let (status, body) = app.send(method, &path, Some(&other), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "NOT_FOUND"),
            "{method} {path}"
        );
    }
    let (_, list) = app.send("GET", "/campaigns", Some(&other), None).await;
    assert!(list["data"].as_array().unwrap().is_empty());
    let (status, _) = app.get_campaign(&id).await;
    assert_eq!(status, StatusCode::OK, "the owner still sees it");
}

#[tokio::test]
async fn starting_is_limited_to_five_a_minute() {
    let app = spawn().await;
    let id = campaign(&app, &["010-5550-0101"]).await;
    for _ in 0..5 {
        app.start_campaign(&id).await;
    }
    let (status, body) = app.start_campaign(&id).await;
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
}

#[tokio::test]
async fn a_cp949_csv_from_excel_imports_in_one_command_with_a_row_report() {
    let app = spawn().await;
    let id = campaign(&app, &["010-5550-0101"]).await;
    let sheet = "이름,전화번호,예약시간,메모\r\n김철수,010-5550-0102,14:00,첫 방문\r\n이영희,010-12,15:30,\r\n박민수,010-5550-0101,16:00,\r\n최지현,01055500103,17:00,\r\n";
    let (bytes, _, _) = encoding_rs::EUC_KR.encode(sheet);
    let (status, report) = app.import_csv(&id, bytes.into_owned()).await;
    assert_eq!(status, StatusCode::OK);
    let data = &report["data"];
    assert_eq!(data["encoding"], "EUC-KR");
    assert_eq!(data["imported"], 2, "{report}");
    assert_eq!(data["duplicates"], json!(["+821055500101"]));
    assert_eq!(data["rejected"][0]["line"], 3);
    assert_eq!(data["rejected"][0]["value"], "010-12");
    assert_eq!(data["totalCalls"], 3);
    let (_, calls) = app.list_calls(&id, "").await;
    let items = calls["data"]["items"].as_array().unwrap();
    assert_eq!(items[1]["name"], "김철수");
    assert_eq!(items[1]["context"]["appointmentTime"], "14:00");
    assert_eq!(items[1]["context"]["메모"], "첫 방문");

    let huge = vec![b'a'; 6 * 1024 * 1024];
    let (status, _) = app.import_csv(&id, huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}
