//! One campaign over the SPEC §9 test numbers 01–13, dialed by the real dialer through the real
//! Twilio adapter, webhooks and media bridge, against the Twilio and ElevenLabs sandboxes
//! started by the embedded default — nothing but HTTP and WebSockets between them — on SQLite
//! and on Postgres + NATS.

use std::time::Duration;

use callbot_tests::fixtures::{clinic_script, create_call, error_of, number, script};
use callbot_tests::{AppOptions, AppState, Backend, PUBLIC_URL, Role, poll_api, spawn_app_with};
use chrono::Utc;
use commands::{Clock, CommandContext};
use domain::PhoneNumber;
use domain::call::{AttemptEnd, CallCommand};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

callbot_tests::app_backend_tests!(a_campaign_over_the_test_numbers_ends_as_the_spec_table_says);

async fn a_campaign_over_the_test_numbers_ends_as_the_spec_table_says(backend: Backend) {
    let app = spawn_app_with(AppOptions::sandbox_calls().backend(backend)).await;
    let script = app.save_script(clinic_script()).await;
    let contacts: Vec<Value> = (1..=13)
        .map(|nn| json!({ "phoneNumber": number(nn), "name": format!("고객{nn:02}"), "context": { "appointmentTime": "내일 오후 2시" } }))
        .collect();
    let body = json!({
        "name": "예약 확인 전화",
        "scriptId": script,
        "contacts": contacts,
        "settings": {
            "maxConcurrency": 5,
            "retry": { "maxRetries": 3, "intervalsSeconds": [1, 1, 1] },
            "callWindow": { "start": "00:00", "end": "24:00" }
        }
    });
    let id = app.create_campaign_ok(body).await;
    app.start_campaign_ok(&id).await;

    app.wait_for_campaign(&id, "COMPLETED").await;

    let (_, calls) = app.list_calls(&id, "?pageSize=100").await;
    let items = calls["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 13);
    let row = |nn: u32| {
        let phone = format!("+821055500{}", 100 + nn);
        items
            .iter()
            .find(|c| c["phoneNumber"] == phone.as_str())
            .unwrap_or_else(|| panic!("no call for {phone}: {calls}"))
            .clone()
    };
    let expect = |nn: u32, status: &str, result: Option<&str>, attempts: u64| {
        let call = row(nn);
        assert_eq!(call["status"], status, "{nn:02}: {call}");
        match result {
            Some(result) => assert_eq!(call["result"], result, "{nn:02}: {call}"),
            None => assert!(call["result"].is_null(), "{nn:02}: {call}"),
        }
        assert_eq!(call["attempts"], attempts, "{nn:02}: {call}");
    };
    expect(1, "COMPLETED", Some("SUCCESS"), 1);
    expect(2, "COMPLETED", Some("RESCHEDULED"), 1);
    expect(3, "COMPLETED", Some("DECLINED"), 1);
    expect(4, "COMPLETED", Some("CALLBACK_REQUESTED"), 1);
    expect(5, "NO_ANSWER", None, 4);
    expect(6, "NO_ANSWER", None, 4);
    expect(7, "COMPLETED", Some("VOICEMAIL"), 1);
    expect(8, "COMPLETED", Some("DECLINED"), 1);
    expect(9, "FAILED", None, 1);
    assert!(
        row(9)["statusReason"]
            .as_str()
            .unwrap_or_default()
            .contains("recognition"),
        "{}",
        row(9)
    );
    expect(10, "FAILED", None, 1);
    expect(11, "COMPLETED", Some("OPTED_OUT"), 1);
    expect(12, "COMPLETED", Some("SUCCESS"), 3);
    expect(13, "COMPLETED", Some("SUCCESS"), 1);

    // 11 is on the do-not-call list now.
    let (_, suppressions) = app.call("GET", "/suppressions", None).await;
    assert!(
        suppressions.to_string().contains("+821055500111"),
        "{suppressions}"
    );

    // What Twilio saw: every call is over, every voice answer passed the checks, the notice
    // came before the stream, recordings started only on conversations, 13's was stopped,
    // 07 got the voicemail message.
    let twilio = app.providers.twilio_sandbox().unwrap().calls();
    assert!(!twilio.is_empty());
    for call in &twilio {
        let status = call.status.as_str();
        assert!(
            matches!(
                status,
                "completed" | "busy" | "no-answer" | "failed" | "canceled"
            ),
            "{} left {status}",
            call.request.to
        );
        assert!(call.refused_callbacks.is_empty(), "{call:?}");
        if call.twiml.is_some() {
            assert_eq!(call.twiml_problem, None, "{}", call.request.to);
        }
        assert_eq!(call.stream.problem, None, "{}", call.request.to);
    }
    let by_number = |nn: u32| {
        let to = format!("+821055500{}", 100 + nn);
        twilio
            .iter()
            .filter(|c| c.request.to == to)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(by_number(7)[0].twiml_updates.len(), 1);
    assert!(by_number(7)[0].twiml_updates[0].contains("<Hangup/>"));
    assert!(by_number(8)[0].recordings.started.is_empty());
    assert_eq!(by_number(13)[0].recordings.stopped.len(), 1);
    assert!(by_number(1)[0].stream.frames_received > 0);
    assert!(by_number(1)[0].stream.clears >= 1);
    assert!(by_number(1)[0].stream.closed_by_backend);
    assert!(by_number(10).is_empty(), "10 was refused at create");
    assert_eq!(by_number(12).len(), 3);

    // What the agent saw: the script as the prompt, the greeting with the name filled in,
    // Korean, pongs, and the ask-again nudge for 09.
    let conversations = app.providers.elevenlabs_sandbox().unwrap().conversations();
    let first = conversations
        .iter()
        .find(|c| c.persona.as_deref() == Some("01"))
        .expect("a conversation with 01");
    assert_eq!(first.language, "ko");
    assert_eq!(first.first_message, "안녕하세요, 고객01님. 행복치과입니다.");
    assert!(first.prompt.contains("내일 오후 2시 예약 확인"));
    assert_eq!(first.dynamic_variables["appointmentTime"], "내일 오후 2시");
    assert!(first.pongs >= 1);
    let nine = conversations
        .iter()
        .find(|c| c.persona.as_deref() == Some("09"))
        .expect("a conversation with 09");
    assert_eq!(nine.contextual_updates.len(), 1);

    // Replaying the whole history into fresh read models gives identical tables, once the
    // background workers (recordings, post-call results) are done.
    let head = app.wait_for_workers_finished().await;
    app.assert_replay_matches_live_tables(head).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_closing_with_1002_fails_the_call_with_the_reason_and_hangs_up() {
    let app = spawn_app_with(AppOptions::sandbox_calls()).await;
    let contacts = json!([{ "phoneNumber": "010-5550-0199", "name": "오류" }]);
    let id = app
        .create_clinic_campaign_ok("에이전트 오류", contacts, json!({}))
        .await;
    let (status, _) = app.start_campaign(&id).await;
    assert_eq!(status, StatusCode::OK);
    let call = poll_api(
        "the call failed on our side and over on Twilio's",
        Duration::from_secs(60),
        || async {
            let (_, calls) = app.list_calls(&id, "").await;
            let call = calls["data"]["items"][0].clone();
            let twilio_over = app
                .providers
                .twilio_sandbox()
                .unwrap()
                .calls()
                .iter()
                .all(|c| c.status == "completed");
            (call["status"] == "FAILED" && twilio_over).then_some(call)
        },
    )
    .await;
    let reason = call["statusReason"].as_str().unwrap();
    assert!(reason.contains("1002"), "{reason}");
    assert!(reason.contains("asr_transcription_error"), "{reason}");
    assert_eq!(call["attempts"], 1);
    let twilio = app.providers.twilio_sandbox().unwrap().calls();
    assert_eq!(twilio.len(), 1);
    // The bridge closed the media socket and hung up: the call did not stay open.
    assert!(twilio[0].stream.closed_by_backend);
    assert_eq!(twilio[0].status, "completed");
    let conversations = app.providers.elevenlabs_sandbox().unwrap().conversations();
    assert_eq!(conversations[0].closed_with, Some(1002));
    // Why the conversation ended is on record and in the call's detail.
    let call_id = call["id"].as_str().unwrap().to_owned();
    let end = poll_api(
        "why the conversation ended in the call's detail",
        Duration::from_secs(60),
        || async {
            let (status, detail) = app.get_call(&call_id).await;
            assert_eq!(status, StatusCode::OK, "{detail}");
            let end = &detail["data"]["conversationEnd"];
            (!end.is_null()).then(|| end.clone())
        },
    )
    .await;
    assert_eq!(end["reason"], "AGENT_CLOSED", "{end}");
    assert_eq!(end["closeCode"], 1002, "{end}");
    assert_eq!(end["detail"], "asr_transcription_error", "{end}");
    let events = app.event_types(&call_id).await;
    assert!(
        events.contains(&"ConversationEnded".to_owned()),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_caller_id_is_saved_only_if_the_twilio_account_may_call_from_it() {
    let app = spawn_app_with(AppOptions::sandbox_calls()).await;
    let twilio = app.providers.twilio_sandbox().unwrap();
    let put = |caller: &str| Some(json!({ "callerId": caller }));

    let (status, body) = app.call("PUT", "/settings", put("+15005550006")).await;
    assert_eq!(status, StatusCode::OK, "an owned number: {body}");

    let (status, body) = app.call("PUT", "/settings", put("+15005550007")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (code, details) = error_of(&body);
    assert_eq!(code, "INVALID_INPUT");
    assert_eq!(details["field"], "callerId");
    assert_eq!(details["reason"], "CALLER_ID_NOT_VERIFIED");
    let (_, saved) = app.call("GET", "/settings", None).await;
    assert_eq!(
        saved["data"]["callerId"], "+15005550006",
        "unchanged: {saved}"
    );

    twilio.set_verified_caller_ids(&["+15005550007"]);
    let (status, body) = app.call("PUT", "/settings", put("+15005550007")).await;
    assert_eq!(status, StatusCode::OK, "a verified caller id: {body}");

    // A domestic Korean form is checked (and stored) in E.164.
    twilio.set_owned_numbers(&["+8223123456"]);
    let (status, body) = app.call("PUT", "/settings", put("02-312-3456")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["callerId"], "+8223123456");

    twilio.set_account_unavailable(true);
    let (status, body) = app.call("PUT", "/settings", put("+15005550008")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (code, details) = error_of(&body);
    assert_eq!(code, "PROVIDER_UNAVAILABLE");
    assert_eq!(details["provider"], "twilio");
    // The caller id already checked is not asked about again: budgets can still change.
    let body = json!({ "callerId": "+8223123456", "monthlyBudgetUsd": 80.0 });
    app.put_settings_ok(body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_campaign_starts_only_when_twilio_and_elevenlabs_can_pay_for_it() {
    let app = spawn_app_with(AppOptions::sandbox_calls()).await;
    let twilio = app.providers.twilio_sandbox().unwrap();
    let elevenlabs = app.providers.elevenlabs_sandbox().unwrap();
    let contacts = json!([
        { "phoneNumber": number(1), "name": "고객01" },
        { "phoneNumber": number(2), "name": "고객02" }
    ]);
    let id = app
        .create_clinic_campaign_ok("잔액 확인", contacts, json!({}))
        .await;
    let start_path = format!("/campaigns/{id}/start");
    let start = || app.call("POST", &start_path, None);

    twilio.set_balance("0.50");
    let (status, body) = start().await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    let (code, details) = error_of(&body);
    assert_eq!(code, "INSUFFICIENT_CREDITS");
    assert_eq!(details["provider"], "twilio", "{body}");
    assert_eq!(details["balance"], "0.50");

    twilio.set_balance("500.00");
    elevenlabs.set_credits(999_500, 1_000_000);
    let (status, body) = start().await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    let (code, details) = error_of(&body);
    assert_eq!(code, "INSUFFICIENT_CREDITS");
    assert_eq!(details["provider"], "elevenlabs", "{body}");
    assert_eq!(details["remaining"], 500);

    elevenlabs.set_credits(0, 1_000_000);
    twilio.set_account_unavailable(true);
    let (status, body) = start().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_of(&body).0, "PROVIDER_UNAVAILABLE");
    let (_, campaign) = app.get_campaign(&id).await;
    assert_eq!(campaign["data"]["status"], "DRAFT", "{campaign}");

    twilio.set_account_unavailable(false);
    let (status, body) = start().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "RUNNING");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_retry_on_voicemail_a_voicemail_is_dialed_again() {
    let app = spawn_app_with(AppOptions::sandbox_calls()).await;
    let contacts = json!([{ "phoneNumber": number(7), "name": "고객07" }]);
    let settings = json!({
        "retry": { "maxRetries": 1, "intervalsSeconds": [1] },
        "voicemail": { "action": "hang_up", "retry": true }
    });
    let id = app
        .create_clinic_campaign_ok("음성사서함 재시도", contacts, settings)
        .await;
    app.start_campaign_ok(&id).await;
    app.wait_for_campaign(&id, "COMPLETED").await;
    let (_, calls) = app.list_calls(&id, "").await;
    let call = &calls["data"]["items"][0];
    // Out of retries, the call ends as the voicemail it reached, after two attempts.
    assert_eq!(call["status"], "COMPLETED", "{call}");
    assert_eq!(call["result"], "VOICEMAIL", "{call}");
    assert_eq!(call["attempts"], 2, "{call}");
    let twilio = app.providers.twilio_sandbox().unwrap().calls();
    assert_eq!(twilio.len(), 2, "dialed twice");
    assert!(twilio.iter().all(|c| c.hung_up_by_api), "hang_up policy");
}

/// Creates each contact's call and fails it at once: two `call_update`s per contact.
async fn dial_and_fail(state: &AppState, owner: Uuid, campaign: &str, calls: &Value) {
    let context = CommandContext::new("system");
    for item in calls["data"]["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let phone = PhoneNumber::parse_kr(item["phoneNumber"].as_str().unwrap()).unwrap();
        for command in [
            create_call(campaign.parse().unwrap(), owner, phone, Utc::now()),
            CallCommand::RequestDial { at: Utc::now() },
            CallCommand::RecordAttemptEnded {
                end: AttemptEnd::Failed {
                    code: Some("21211".into()),
                    retryable: false,
                },
                duration_secs: 0,
                at: Utc::now(),
            },
        ] {
            state.calls.execute(id, command, &context).await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_status_stream_counts_once_against_the_rate_limit_however_many_frames_it_carries() {
    // Time stands still: no token comes back while the test runs.
    let app = spawn_app_with(AppOptions::sandbox_calls().manual_clock(Utc::now())).await;
    let script = app.save_script(clinic_script()).await;
    let contacts: Vec<Value> = (0..70)
        .map(|i| json!({ "phoneNumber": format!("010-7000-{i:04}"), "name": format!("고객{i}") }))
        .collect();
    let variables = json!({ "appointmentTime": "내일 오후 2시" });
    let body = json!({ "name": "많은 프레임", "scriptId": script, "contacts": contacts, "variables": variables });
    let id = app.create_campaign_ok(body).await;
    let (_, calls) = app.list_calls(&id, "?pageSize=100").await;
    let mut frames = app.subscribe(&id, None).await.into_channel();
    assert_eq!(frames.next().await.0, "status");

    dial_and_fail(&app.state, app.account, &id, &calls).await;
    let mut updates = 0;
    let mut failed = 0;
    while failed < 70 {
        let (event, data) = frames.next().await;
        if event == "call_update" {
            updates += 1;
            if data["status"] == "FAILED" {
                failed += 1;
            }
        }
    }
    assert!(updates > 100, "{updates} call updates on one stream");

    // The business profile and GET /me at spawn, the campaign, its calls and the stream: 5 of
    // the 100 a minute.
    let mut allowed = 0;
    loop {
        let (status, _) = app.call("GET", "/me", None).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        allowed += 1;
        assert!(allowed <= 100, "the limit never applied");
    }
    assert_eq!(allowed, 95);
    // The stream still runs after the account hit its limit.
    app.state
        .campaigns
        .execute(
            &id,
            domain::campaign::CampaignCommand::CancelCampaign {
                at: app.manual_clock().now(),
            },
            &CommandContext::new(app.account.to_string()),
        )
        .await
        .unwrap();
    loop {
        let (event, data) = frames.next().await;
        if event == "status" && data["status"] == "CANCELLED" {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_projector_in_another_process_commands_settle_and_frames_follow_the_read_model() {
    let options = AppOptions::default()
        .public_base_url(PUBLIC_URL)
        .roles(vec![Role::Api])
        .signed_out();
    let mut app = spawn_app_with(options).await;
    app.spawn_process(vec![Role::Projector]).await;
    (app.token, app.account) = app.sign_up("split@clinic.kr").await;
    let script = app
        .save_script(script(
            "안녕하세요.",
            "예약 확인",
            "예약이 맞는지 확인합니다.",
            &[],
        ))
        .await;
    let contacts: Vec<Value> = (0..5)
        .map(|i| json!({ "phoneNumber": format!("010-7100-{i:04}") }))
        .collect();
    let body = json!({ "name": "분리 실행", "scriptId": script, "contacts": contacts });
    let (status, created) = app.create_campaign(body).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "settles on the other process's projector: {created}"
    );
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let (_, calls) = app.list_calls(&id, "").await;
    assert_eq!(
        calls["data"]["items"].as_array().unwrap().len(),
        5,
        "{calls}"
    );

    let mut frames = app.subscribe(&id, None).await.into_channel();
    assert_eq!(frames.next().await.0, "status");
    dial_and_fail(&app.state, app.account, &id, &calls).await;
    // Every status frame shows what the read model already shows.
    let mut finished = 0;
    while finished < 5 {
        let (event, data) = frames.next().await;
        if event != "status" {
            continue;
        }
        finished = data["progress"]["finished"].as_u64().unwrap();
        let (_, campaign) = app.get_campaign(&id).await;
        let shown = &campaign["data"]["progress"];
        assert!(
            shown["finished"].as_u64().unwrap() >= finished
                && shown["failed"].as_u64().unwrap()
                    >= data["progress"]["failed"].as_u64().unwrap(),
            "frame {data} ahead of the read model {shown}"
        );
    }
}
