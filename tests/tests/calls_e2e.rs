//! One campaign over the SPEC §9 test numbers 01–13, dialed by the real dialer through the real
//! Twilio adapter, webhooks and media bridge, against the Twilio and ElevenLabs sandboxes
//! started by the embedded default — nothing but HTTP and WebSockets between them — on SQLite
//! and on Postgres + NATS.

use std::sync::Arc;
use std::time::Duration;

use api::AppState;
use callbot::providers::Providers;
use callbot::{Application, Config, Role};
use chrono::Utc;
use commands::{CancellationToken, Clock, CommandContext, Commands, ManualClock};
use domain::PhoneNumber;
use domain::call::{AttemptEnd, CallCommand};
use domain::script::{FlowStep, NextStep, Script, ScriptCommand, ScriptContent};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use callbot_tests::{TestDb, TestNats};

/// Where the app keeps its events.
enum Backend {
    Sqlite,
    Postgres(TestDb, TestNats),
}

impl Backend {
    async fn postgres_and_nats() -> Self {
        Self::Postgres(TestDb::postgres().await, TestNats::start())
    }

    fn vars(&self) -> Vec<(String, String)> {
        match self {
            Self::Sqlite => Vec::new(),
            Self::Postgres(db, nats) => vec![
                ("DATABASE_URL".into(), db.url.clone()),
                ("NATS_URL".into(), nats.url()),
                (
                    "NATS_STREAM".into(),
                    format!("CALLBOT_{}", Uuid::new_v4().simple()),
                ),
                (
                    "JWT_SECRET".into(),
                    "e2e-jwt-secret-e2e-jwt-secret-e2e-jwt".into(),
                ),
                (
                    "RECORDING_KEY".into(),
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
                ),
            ],
        }
    }
}

struct TestApp {
    base: String,
    client: reqwest::Client,
    state: AppState,
    providers: Arc<Providers>,
    token: String,
    account: Uuid,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
    _backend: Backend,
}

impl TestApp {
    /// The database the app runs on.
    fn database_url(&self) -> String {
        match &self._backend {
            Backend::Sqlite => {
                let file = std::path::absolute(self._dir.path().join("callbot.db")).unwrap();
                format!("sqlite://{}", file.display())
            }
            Backend::Postgres(db, _) => db.url.clone(),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TestApp {
    async fn spawn(backend: Backend) -> Self {
        Self::spawn_with_clock(backend, None).await
    }

    /// Like [`TestApp::spawn`]; with a clock of the test's when given (the rate limiter then
    /// refills only when the test moves time).
    async fn spawn_with_clock(backend: Backend, clock: Option<Arc<ManualClock>>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut vars: Vec<(String, String)> = vec![
            ("SANDBOX_SPEED".into(), "40".into()),
            ("PUBLIC_BASE_URL".into(), "https://callbot.example".into()),
        ];
        vars.extend(backend.vars());
        let config = Config::from_lookup(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().to_path_buf(),
            vec![Role::All],
            |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
        )
        .unwrap();
        let app = match clock {
            Some(clock) => Application::build_with_clock(config, clock).await.unwrap(),
            None => Application::build(config).await.unwrap(),
        };
        let base = format!("http://127.0.0.1:{}/api/v1", app.port());
        let state = app.state().clone();
        let providers = app.providers();
        let stop = CancellationToken::new();
        tokio::spawn(app.run_until_stopped(stop.clone()));
        let mut app = Self {
            base,
            client: reqwest::Client::new(),
            state,
            providers,
            token: String::new(),
            account: Uuid::nil(),
            stop,
            _dir: dir,
            _backend: backend,
        };
        let credentials = json!({ "email": "owner@clinic.kr", "password": "password123" });
        let (status, _) = app
            .call("POST", "/auth/register", Some(credentials.clone()))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, login) = app.call("POST", "/auth/login", Some(credentials)).await;
        app.token = login["data"]["accessToken"].as_str().unwrap().to_owned();
        let (_, me) = app.call("GET", "/me", None).await;
        app.account = me["data"]["id"].as_str().unwrap().parse().unwrap();
        app
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn script(&self) -> Uuid {
        let id = Uuid::new_v4();
        let content = ScriptContent {
            greeting: "안녕하세요, {customerName}님. 행복치과입니다.".into(),
            purpose: "내일 오후 2시 예약 확인".into(),
            main_flow: vec![FlowStep {
                step: 1,
                action: "{appointmentTime} 예약이 맞는지 확인합니다.".into(),
                expected_responses: vec!["네".into(), "변경".into()],
                next_step: NextStep {
                    positive: None,
                    negative: None,
                },
            }],
            closing: "감사합니다.".into(),
            variables: vec!["customerName".into(), "appointmentTime".into()],
        };
        let create = ScriptCommand::CreateScript {
            owner_id: self.account,
            name: "예약 확인".into(),
            natural_input: "내일 오후 2시 예약 고객에게 확인 전화".into(),
            content,
            at: Utc::now(),
        };
        Commands::<Script>::new(self.state.store.clone(), ())
            .execute(
                &id.to_string(),
                create,
                &CommandContext::new(self.account.to_string()),
            )
            .await
            .unwrap();
        id
    }
}

fn number(nn: u32) -> String {
    format!("010-5550-01{nn:02}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_campaign_over_the_test_numbers_ends_as_the_spec_table_says_on_sqlite() {
    campaign_over_the_test_numbers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_campaign_over_the_test_numbers_ends_as_the_spec_table_says_on_postgres_and_nats() {
    campaign_over_the_test_numbers(Backend::postgres_and_nats().await).await;
}

async fn campaign_over_the_test_numbers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let script = app.script().await;
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
    let (status, created) = app.call("POST", "/campaigns", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let (status, started) = app
        .call("POST", &format!("/campaigns/{id}/start"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");

    // Wait for the campaign to complete, with a deadline.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(150);
    loop {
        let (_, campaign) = app.call("GET", &format!("/campaigns/{id}"), None).await;
        if campaign["data"]["status"] == "COMPLETED" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "campaign not completed in time: {campaign}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let (_, calls) = app
        .call("GET", &format!("/campaigns/{id}/calls?pageSize=100"), None)
        .await;
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
        assert_eq!(call.stream_problem, None, "{}", call.request.to);
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
    assert!(by_number(8)[0].recordings.is_empty());
    assert_eq!(by_number(13)[0].recordings_stopped.len(), 1);
    assert!(by_number(1)[0].media_frames_received > 0);
    assert!(by_number(1)[0].clears >= 1);
    assert!(by_number(1)[0].stream_closed_by_backend);
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
    let head = callbot_tests::quiesce(&app.state.store).await;
    assert!(
        app.state
            .campaign_list
            .wait_for(head, std::time::Duration::from_secs(30))
            .await
    );
    let diffs = callbot::maintenance::replay_report(&app.database_url(), false)
        .await
        .unwrap();
    assert_eq!(diffs, vec![], "replay differs from the live read models");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_closing_with_1002_fails_the_call_with_the_reason_and_hangs_up() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let script = app.script().await;
    let body = json!({
        "name": "에이전트 오류",
        "scriptId": script,
        "contacts": [{ "phoneNumber": "010-5550-0199", "name": "오류" }],
        "settings": { "callWindow": { "start": "00:00", "end": "24:00" } }
    });
    let (status, created) = app.call("POST", "/campaigns", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .call("POST", &format!("/campaigns/{id}/start"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let call = loop {
        let (_, calls) = app
            .call("GET", &format!("/campaigns/{id}/calls"), None)
            .await;
        let call = calls["data"]["items"][0].clone();
        // Final on our side and over on Twilio's.
        let twilio_over = app
            .providers
            .twilio_sandbox()
            .unwrap()
            .calls()
            .iter()
            .all(|c| c.status == "completed");
        if call["status"] == "FAILED" && twilio_over {
            break call;
        }
        assert!(tokio::time::Instant::now() < deadline, "{call}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let reason = call["statusReason"].as_str().unwrap();
    assert!(reason.contains("1002"), "{reason}");
    assert!(reason.contains("asr_transcription_error"), "{reason}");
    assert_eq!(call["attempts"], 1);
    let twilio = app.providers.twilio_sandbox().unwrap().calls();
    assert_eq!(twilio.len(), 1);
    // The bridge closed the media socket and hung up: the call did not stay open.
    assert!(twilio[0].stream_closed_by_backend);
    assert_eq!(twilio[0].status, "completed");
    let conversations = app.providers.elevenlabs_sandbox().unwrap().conversations();
    assert_eq!(conversations[0].closed_with, Some(1002));
    // Why the conversation ended is on record and in the call's detail.
    let call_id = call["id"].as_str().unwrap().to_owned();
    let end = loop {
        let (status, detail) = app.call("GET", &format!("/calls/{call_id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        if !detail["data"]["conversationEnd"].is_null() {
            break detail["data"]["conversationEnd"].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "{detail}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(end["reason"], "AGENT_CLOSED", "{end}");
    assert_eq!(end["closeCode"], 1002, "{end}");
    assert_eq!(end["detail"], "asr_transcription_error", "{end}");
    let events = app
        .state
        .store
        .read_aggregate(&call_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect::<Vec<_>>();
    assert!(
        events.contains(&"ConversationEnded".to_owned()),
        "{events:?}"
    );
}

/// The error code and details of an error answer.
fn error_of(body: &Value) -> (&str, &Value) {
    (
        body["error"]["code"].as_str().unwrap_or_default(),
        &body["error"]["details"],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_caller_id_is_saved_only_if_the_twilio_account_may_call_from_it() {
    let app = TestApp::spawn(Backend::Sqlite).await;
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
    let (status, saved) = app.call("PUT", "/settings", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_campaign_starts_only_when_twilio_and_elevenlabs_can_pay_for_it() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let twilio = app.providers.twilio_sandbox().unwrap();
    let elevenlabs = app.providers.elevenlabs_sandbox().unwrap();
    let script = app.script().await;
    let body = json!({
        "name": "잔액 확인",
        "scriptId": script,
        "contacts": [{ "phoneNumber": number(1) }, { "phoneNumber": number(2) }],
        "settings": { "callWindow": { "start": "00:00", "end": "24:00" } }
    });
    let (status, created) = app.call("POST", "/campaigns", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
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
    let (_, campaign) = app.call("GET", &format!("/campaigns/{id}"), None).await;
    assert_eq!(campaign["data"]["status"], "DRAFT", "{campaign}");

    twilio.set_account_unavailable(false);
    let (status, body) = start().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "RUNNING");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_retry_on_voicemail_a_voicemail_is_dialed_again() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let script = app.script().await;
    let body = json!({
        "name": "음성사서함 재시도",
        "scriptId": script,
        "contacts": [{ "phoneNumber": number(7), "name": "고객07" }],
        "settings": {
            "retry": { "maxRetries": 1, "intervalsSeconds": [1] },
            "callWindow": { "start": "00:00", "end": "24:00" },
            "voicemail": { "action": "hang_up", "retry": true }
        }
    });
    let (status, created) = app.call("POST", "/campaigns", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let (status, started) = app
        .call("POST", &format!("/campaigns/{id}/start"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let (_, campaign) = app.call("GET", &format!("/campaigns/{id}"), None).await;
        if campaign["data"]["status"] == "COMPLETED" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{campaign}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, calls) = app
        .call("GET", &format!("/campaigns/{id}/calls"), None)
        .await;
    let call = &calls["data"]["items"][0];
    // Out of retries, the call ends as the voicemail it reached, after two attempts.
    assert_eq!(call["status"], "COMPLETED", "{call}");
    assert_eq!(call["result"], "VOICEMAIL", "{call}");
    assert_eq!(call["attempts"], 2, "{call}");
    let twilio = app.providers.twilio_sandbox().unwrap().calls();
    assert_eq!(twilio.len(), 2, "dialed twice");
    assert!(twilio.iter().all(|c| c.hung_up_by_api), "hang_up policy");
}

/// The frames of an SSE response as (event, data), read in a task of their own.
fn sse_frames(mut response: reqwest::Response) -> mpsc::UnboundedReceiver<(String, Value)> {
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(str::to_owned)
                };
                let (Some(event), Some(data)) = (field("event: "), field("data: ")) else {
                    continue;
                };
                let data = serde_json::from_str(&data).unwrap_or(Value::Null);
                if sender.send((event, data)).is_err() {
                    return;
                }
            }
        }
    });
    receiver
}

async fn next_frame(frames: &mut mpsc::UnboundedReceiver<(String, Value)>) -> (String, Value) {
    tokio::time::timeout(Duration::from_secs(30), frames.recv())
        .await
        .expect("a frame within 30 s")
        .expect("the stream is open")
}

/// Creates each contact's call and fails it at once: two `call_update`s per contact.
async fn dial_and_fail(state: &AppState, owner: Uuid, campaign: &str, calls: &Value) {
    let context = CommandContext::new("system");
    for item in calls["data"]["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let phone = PhoneNumber::parse_kr(item["phoneNumber"].as_str().unwrap()).unwrap();
        for command in [
            CallCommand::CreateCall {
                campaign_id: campaign.parse().unwrap(),
                owner_id: owner,
                phone,
                contact_name: None,
                context: Default::default(),
                retry: Default::default(),
                at: Utc::now(),
            },
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
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with_clock(Backend::Sqlite, Some(clock.clone())).await;
    let script = app.script().await;
    let contacts: Vec<Value> = (0..70)
        .map(|i| json!({ "phoneNumber": format!("010-7000-{i:04}") }))
        .collect();
    let body = json!({ "name": "많은 프레임", "scriptId": script, "contacts": contacts });
    let (status, created) = app.call("POST", "/campaigns", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let (_, calls) = app
        .call("GET", &format!("/campaigns/{id}/calls?pageSize=100"), None)
        .await;
    let response = app
        .client
        .get(format!("{}/campaigns/{id}/status", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut frames = sse_frames(response);
    assert_eq!(next_frame(&mut frames).await.0, "status");

    dial_and_fail(&app.state, app.account, &id, &calls).await;
    let mut updates = 0;
    let mut failed = 0;
    while failed < 70 {
        let (event, data) = next_frame(&mut frames).await;
        if event == "call_update" {
            updates += 1;
            if data["status"] == "FAILED" {
                failed += 1;
            }
        }
    }
    assert!(updates > 100, "{updates} call updates on one stream");

    // GET /me at spawn, the campaign, its calls and the stream: 4 of the 100 a minute.
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
    assert_eq!(allowed, 96);
    // The stream still runs after the account hit its limit.
    app.state
        .campaigns
        .execute(
            &id,
            domain::campaign::CampaignCommand::CancelCampaign { at: clock.now() },
            &CommandContext::new(app.account.to_string()),
        )
        .await
        .unwrap();
    loop {
        let (event, data) = next_frame(&mut frames).await;
        if event == "status" && data["status"] == "CANCELLED" {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_projector_in_another_process_commands_settle_and_frames_follow_the_read_model() {
    let dir = tempfile::tempdir().unwrap();
    let config = |roles: Vec<Role>| {
        Config::from_lookup(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().to_path_buf(),
            roles,
            |name| match name {
                "PUBLIC_BASE_URL" => Some("https://callbot.example".to_owned()),
                _ => None,
            },
        )
        .unwrap()
    };
    let api = Application::build(config(vec![Role::Api])).await.unwrap();
    let projector = Application::build(config(vec![Role::Projector]))
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}/api/v1", api.port());
    let state = api.state().clone();
    let stop = CancellationToken::new();
    tokio::spawn(api.run_until_stopped(stop.clone()));
    tokio::spawn(projector.run_until_stopped(stop.clone()));
    let _stop = StopOnDrop(stop);

    let client = reqwest::Client::new();
    let credentials = json!({ "email": "split@clinic.kr", "password": "password123" });
    let response = client
        .post(format!("{base}/auth/register"))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let login: Value = client
        .post(format!("{base}/auth/login"))
        .json(&credentials)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["data"]["accessToken"].as_str().unwrap().to_owned();
    let call = |method: &str, path: &str, body: Option<Value>| {
        let mut request = client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (_, me) = call("GET", "/me", None).await;
    let account: Uuid = me["data"]["id"].as_str().unwrap().parse().unwrap();
    let script = Uuid::new_v4();
    let content = ScriptContent {
        greeting: "안녕하세요.".into(),
        purpose: "예약 확인".into(),
        main_flow: vec![FlowStep {
            step: 1,
            action: "예약이 맞는지 확인합니다.".into(),
            expected_responses: vec!["네".into()],
            next_step: NextStep {
                positive: None,
                negative: None,
            },
        }],
        closing: "감사합니다.".into(),
        variables: vec![],
    };
    Commands::<Script>::new(state.store.clone(), ())
        .execute(
            &script.to_string(),
            ScriptCommand::CreateScript {
                owner_id: account,
                name: "분리".into(),
                natural_input: "분리".into(),
                content,
                at: Utc::now(),
            },
            &CommandContext::new(account.to_string()),
        )
        .await
        .unwrap();
    let contacts: Vec<Value> = (0..5)
        .map(|i| json!({ "phoneNumber": format!("010-7100-{i:04}") }))
        .collect();
    let body = json!({ "name": "분리 실행", "scriptId": script, "contacts": contacts });
    let (status, created) = call("POST", "/campaigns", Some(body)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "settles on the other process's projector: {created}"
    );
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let (_, calls) = call("GET", &format!("/campaigns/{id}/calls"), None).await;
    assert_eq!(
        calls["data"]["items"].as_array().unwrap().len(),
        5,
        "{calls}"
    );

    let response = client
        .get(format!("{base}/campaigns/{id}/status"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let mut frames = sse_frames(response);
    assert_eq!(next_frame(&mut frames).await.0, "status");
    dial_and_fail(&state, account, &id, &calls).await;
    // Every status frame shows what the read model already shows.
    let mut finished = 0;
    while finished < 5 {
        let (event, data) = next_frame(&mut frames).await;
        if event != "status" {
            continue;
        }
        finished = data["progress"]["finished"].as_u64().unwrap();
        let (_, campaign) = call("GET", &format!("/campaigns/{id}"), None).await;
        let shown = &campaign["data"]["progress"];
        assert!(
            shown["finished"].as_u64().unwrap() >= finished
                && shown["failed"].as_u64().unwrap()
                    >= data["progress"]["failed"].as_u64().unwrap(),
            "frame {data} ahead of the read model {shown}"
        );
    }
}

struct StopOnDrop(CancellationToken);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}
