//! One campaign over the SPEC §9 test numbers 01–13, dialed by the real dialer through the real
//! Twilio adapter, webhooks and media bridge, against the Twilio and ElevenLabs sandboxes
//! started by the embedded default — nothing but HTTP and WebSockets between them — on SQLite
//! and on Postgres + NATS.

use std::sync::Arc;
use std::time::Duration;

use api::providers::Providers;
use api::{AppState, Application, Config, Role};
use chrono::Utc;
use commands::{CancellationToken, CommandContext, Commands};
use domain::script::{FlowStep, NextStep, Script, ScriptCommand, ScriptContent};
use reqwest::StatusCode;
use serde_json::{Value, json};
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
        let app = Application::build(config).await.unwrap();
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

    // Replaying the whole history into fresh read models gives identical tables.
    let head = app.state.store.head().await.unwrap();
    assert!(
        app.state
            .campaign_list
            .wait_for(head, std::time::Duration::from_secs(30))
            .await
    );
    let diffs = api::maintenance::replay_report(&app.database_url(), false)
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
}
