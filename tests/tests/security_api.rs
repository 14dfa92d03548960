//! The API-side findings of the security probe (issue #17), each replayed over HTTP: a test
//! per finding, named after it.

use callbot_tests::api::BUSINESS_NAME;
use callbot_tests::fixtures::{assert_error, clinic_script, error_of, number, text};
use callbot_tests::{AppOptions, TestApp, spawn_app, spawn_app_with};
use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A caller id the Twilio sandbox account owns.
const OWNED: &str = "+15005550006";
/// A well-formed number the sandbox account neither owns nor has verified.
const UNVERIFIED: &str = "+15005550007";

/// A 400 `INVALID_INPUT` whose details give `reason`.
fn assert_invalid_because(status: StatusCode, body: &Value, reason: &str) {
    assert_error(status, body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    assert_eq!(error_of(body).1["reason"], reason, "{body}");
}

/// A campaign over the clinic script with one contact, `settings` as given.
async fn campaign_body(app: &TestApp, settings: Value) -> Value {
    let script = app.save_script(clinic_script()).await;
    json!({
        "name": "보안 점검",
        "scriptId": script,
        "contacts": [{
            "phoneNumber": number(1),
            "name": "고객01",
            "context": { "appointmentTime": "14:00" },
        }],
        "settings": settings,
    })
}

/// `PUT /settings` with the business profile the harness keeps, plus `extra`.
async fn put_settings(app: &TestApp, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({ "businessName": BUSINESS_NAME, "businessPhone": "02-555-0100" });
    for (key, value) in extra.as_object().expect("an object") {
        body[key] = value.clone();
    }
    app.call("PUT", "/settings", Some(body)).await
}

/// Asserts a 400 naming `field` over its limit `limit`.
#[track_caller]
fn assert_too_large(status: StatusCode, body: &Value, field: &str, limit: u64) {
    assert_error(status, body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    let (_, details) = error_of(body);
    assert_eq!(details["reason"], "TOO_LARGE", "{body}");
    assert_eq!(details["field"], field, "{body}");
    assert_eq!(details["limit"], limit, "{body}");
}

#[tokio::test]
async fn finding_3_wrong_current_password_locks_out() {
    let app = spawn_app_with(AppOptions::default().manual_clock(Utc::now())).await;
    for attempt in 1..=5 {
        let (status, body) = app
            .change_password(&app.token, "wrong-pass1", "n3w-s3cret-pass")
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
        let message = text(&body["error"]["message"]);
        assert!(
            message.contains("currentPassword"),
            "attempt {attempt}: {body}"
        );
    }
    // Five wrong guesses lock the account: the right password does not change it either, and
    // signing in answers the same lock.
    let (status, body) = app
        .change_password(&app.token, "password123", "n3w-s3cret-pass")
        .await;
    assert_error(status, &body, StatusCode::LOCKED, "ACCOUNT_LOCKED");
    assert!(
        body["error"]["details"]["lockedUntil"].is_string(),
        "{body}"
    );
    let (status, body) = app.login(callbot_tests::OWNER, "password123").await;
    assert_error(status, &body, StatusCode::LOCKED, "ACCOUNT_LOCKED");
}

#[tokio::test]
async fn finding_5_campaign_and_default_caller_ids_pass_the_verified_caller_id_check() {
    let app = spawn_app().await;
    // The defaults new campaigns start from: the same checks as the account's caller id.
    let (status, body) = put_settings(
        &app,
        json!({ "campaignDefaults": { "callerId": "<script>" } }),
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    let (status, body) = put_settings(
        &app,
        json!({ "campaignDefaults": { "callerId": UNVERIFIED } }),
    )
    .await;
    assert_invalid_because(status, &body, "CALLER_ID_NOT_VERIFIED");
    let (_, saved) = app.call("GET", "/settings", None).await;
    assert!(
        saved["data"]["campaignDefaults"]["callerId"].is_null(),
        "{saved}"
    );

    // A campaign's own caller id.
    let body = campaign_body(&app, json!({ "callerId": "<script>" })).await;
    let (status, answer) = app.create_campaign(body).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    let body = campaign_body(&app, json!({ "callerId": UNVERIFIED })).await;
    let (status, answer) = app.create_campaign(body).await;
    assert_invalid_because(status, &answer, "CALLER_ID_NOT_VERIFIED");

    // Numbers the account may call from pass.
    let (status, body) =
        put_settings(&app, json!({ "campaignDefaults": { "callerId": OWNED } })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body = campaign_body(&app, json!({ "callerId": OWNED })).await;
    let id = app.create_campaign_ok(body).await;
    let (_, campaign) = app.get_campaign(&id).await;
    assert_eq!(
        campaign["data"]["settings"]["callerId"], OWNED,
        "{campaign}"
    );
}

#[tokio::test]
async fn finding_6_unknown_time_zones_are_refused_wherever_one_enters() {
    let app = spawn_app().await;
    for zone in ["Mars/Olympus", "../../../etc/passwd", "+09:00"] {
        let window = json!({ "callWindow": { "timezone": zone } });
        let body = campaign_body(&app, window.clone()).await;
        let (status, answer) = app.create_campaign(body).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "INVALID_INPUT");
        let message = text(&answer["error"]["message"]);
        assert!(message.contains("unknown time zone"), "{zone}: {answer}");
        let (status, answer) = put_settings(&app, json!({ "campaignDefaults": window })).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    }
    let (_, saved) = app.call("GET", "/settings", None).await;
    assert_eq!(
        saved["data"]["campaignDefaults"]["callWindow"]["timezone"], "Asia/Seoul",
        "{saved}"
    );
}

#[tokio::test]
async fn finding_10_oversized_inputs_are_refused_naming_the_field_and_the_limit() {
    let app = spawn_app().await;
    // A 900,000-character contact name.
    let mut body = campaign_body(&app, json!({})).await;
    body["contacts"][0]["name"] = json!("가".repeat(300_000));
    let (status, answer) = app.create_campaign(body).await;
    assert_too_large(status, &answer, "contacts[0].name", 100);

    // 12,000 contacts in one JSON body (a CSV file stops at 10,000).
    let mut body = campaign_body(&app, json!({})).await;
    body["contacts"] = (0..12_000)
        .map(
            |i| json!({ "phoneNumber": format!("010-{:04}-{:04}", 1000 + i / 10_000, i % 10_000) }),
        )
        .collect();
    let (status, answer) = app.create_campaign(body).await;
    assert_too_large(status, &answer, "contacts", 10_000);

    // 10,000 retry intervals and a 50,000-character voicemail message.
    let settings = json!({ "retry": { "intervalsSeconds": vec![60; 10_000] } });
    let (status, answer) = app
        .create_campaign(campaign_body(&app, settings).await)
        .await;
    assert_too_large(status, &answer, "settings.retry.intervalsSeconds", 10);
    let settings = json!({ "voicemail": { "message": "안".repeat(50_000) } });
    let (status, answer) = app
        .create_campaign(campaign_body(&app, settings).await)
        .await;
    assert_too_large(status, &answer, "settings.voicemail.message", 500);

    // A 100 kB do-not-call reason.
    let reason = "x".repeat(100_000);
    let (status, answer) = app
        .suppress(json!({ "phoneNumber": number(2), "reason": reason }))
        .await;
    assert_too_large(status, &answer, "reason", 200);
    let (_, listed) = app.call("GET", "/suppressions", None).await;
    assert_eq!(listed["data"], json!([]), "nothing was stored: {listed}");
}

#[tokio::test]
async fn finding_11_emails_are_one_account_in_any_compatibility_form_and_names_refuse_control_characters()
 {
    let app = spawn_app_with(AppOptions::default().signed_out()).await;
    app.register_ok("case@x.kr").await;
    for twin in ["ｃａｓｅ@x.kr", "caſe@x.kr", "CASE@X.KR"] {
        let (status, body) = app.register(twin, "password123").await;
        assert_error(status, &body, StatusCode::CONFLICT, "CONFLICT");
    }
    let (status, body) = app.login("ＣＡＳＥ@x.kr", "password123").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for bad in ["nul\0l@x.kr", "<script>@x.kr", "kim@x.kr\u{202E}"] {
        let (status, body) = app.register(bad, "password123").await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    }

    let app = spawn_app().await;
    let mut body = campaign_body(&app, json!({})).await;
    body["contacts"][0]["name"] = json!("김\0민수");
    let (status, answer) = app.create_campaign(body).await;
    assert_invalid_because(status, &answer, "CONTROL_CHARACTERS");
    assert_eq!(error_of(&answer).1["field"], "contacts[0].name", "{answer}");
    let (status, answer) = app
        .call(
            "PUT",
            "/settings",
            Some(json!({ "businessName": "행복\u{1b}[31m치과" })),
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    // Markup in a name is text: kept as typed (the pages escape it).
    let mut body = campaign_body(&app, json!({})).await;
    body["contacts"][0]["name"] = json!("<b>김민수</b>");
    app.create_campaign_ok(body).await;
}

/// Sign-up attempts (refused at once, but counted by the per-address limit) from the client
/// that `forwarded` names in `X-Forwarded-For`: their statuses.
async fn sign_ups_from(app: &TestApp, forwarded: &str, times: usize) -> Vec<StatusCode> {
    let mut statuses = Vec::with_capacity(times);
    for _ in 0..times {
        let response = app
            .client
            .post(format!("{}/auth/register", app.base))
            .header("x-forwarded-for", forwarded)
            .json(&json!({ "email": "not-an-email", "password": "password123" }))
            .send()
            .await
            .expect("the app answers");
        statuses.push(response.status());
    }
    statuses
}

#[tokio::test]
async fn finding_13_behind_a_trusted_proxy_each_client_has_its_own_sign_in_limit() {
    let options = AppOptions::default().manual_clock(Utc::now()).signed_out();
    // The test's own address is the proxy.
    let app = spawn_app_with(
        options
            .clone()
            .var("TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8"),
    )
    .await;
    let first = sign_ups_from(&app, "203.0.113.1", 31).await;
    assert!(
        first[..30].iter().all(|s| *s == StatusCode::BAD_REQUEST),
        "{first:?}"
    );
    assert_eq!(first[30], StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy has its own bucket; a forged left-most entry does
    // not move the first client out of its bucket.
    let other = sign_ups_from(&app, "203.0.113.2", 1).await;
    assert_eq!(other, [StatusCode::BAD_REQUEST]);
    let forged = sign_ups_from(&app, "198.51.100.7, 203.0.113.1", 1).await;
    assert_eq!(forged, [StatusCode::TOO_MANY_REQUESTS]);

    // Without TRUSTED_PROXIES the header is ignored: every "client" shares the peer's bucket.
    let app = spawn_app_with(options).await;
    let mut statuses = Vec::new();
    for i in 0..31 {
        statuses.extend(sign_ups_from(&app, &format!("203.0.113.{i}"), 1).await);
    }
    assert_eq!(statuses[30], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

#[tokio::test]
async fn finding_15_metrics_need_the_token_or_a_local_unforwarded_request() {
    let app = spawn_app_with(
        AppOptions::default()
            .signed_out()
            .var("METRICS_TOKEN", "scrape-me-1"),
    )
    .await;
    let metrics = |token: Option<&str>| {
        let mut request = app.client.get(format!("{}/metrics", app.origin));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let response = metrics(None).await.expect("answers");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let response = metrics(Some("guess")).await.expect("answers");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = metrics(Some("scrape-me-1")).await.expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.expect("a body").contains("callbot_"));

    // No token configured: a local request is answered, one through a proxy is not.
    let app = spawn_app_with(AppOptions::default().signed_out()).await;
    assert_eq!(app.get_raw("/metrics").await.status(), StatusCode::OK);
    let response = app
        .client
        .get(format!("{}/metrics", app.origin))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Health and readiness stay open.
    assert_eq!(app.get_raw("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn finding_10_a_csv_row_over_a_limit_is_rejected_like_a_row_without_a_number() {
    let app = spawn_app().await;
    let body = campaign_body(&app, json!({})).await;
    let id = app.create_campaign_ok(body).await;
    let long_name = "가".repeat(150);
    let csv = format!(
        "phone,name,appointmentTime\n010-5550-0102,{long_name},14:00\n010-5550-0103,\"김\u{7}민수\",14:00\n010-5550-0104,이영희,15:00\n"
    );
    let (status, answer) = app.import_csv(&id, csv.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["data"]["imported"], 1, "{answer}");
    let rejected = answer["data"]["rejected"]
        .as_array()
        .expect("rejected rows");
    let lines: Vec<&Value> = rejected.iter().map(|row| &row["line"]).collect();
    assert_eq!(lines, [&json!(2), &json!(3)], "{answer}");
    let reason = rejected[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("at most 100 characters"), "{answer}");
}
