//! What the official SDKs notice, over plain HTTP and WebSocket (`.ci/sdks.sh` runs the SDKs
//! themselves): inline TwiML, `start_time` and `answered_by`, a hang-up whose answer says
//! `completed`, a call's recordings, the account; an agent conversation that overrides nothing
//! and sends `user_activity` and `user_message`; the fields the SDK models require.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use sandbox::{elevenlabs, openai, twilio};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Polls `check` until it answers, or panics naming `what` after five seconds.
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

struct Rest {
    http: reqwest::Client,
    base: String,
}

impl Rest {
    fn of(sandbox: &twilio::TwilioSandbox) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!(
                "{}/2010-04-01/Accounts/{}",
                sandbox.api_base(),
                twilio::ACCOUNT_SID
            ),
        }
    }

    async fn send(&self, path: &str, form: Option<&[(&str, &str)]>) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        let request = match form {
            Some(form) => self.http.post(url).form(form),
            None => self.http.get(url),
        };
        let response = request
            .basic_auth(twilio::ACCOUNT_SID, Some(twilio::AUTH_TOKEN))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates a call to [`CALLEE`] running [`LONG_TWIML`], with `extra` fields: its sid.
    async fn create_inline(&self, extra: &[(&str, &str)]) -> String {
        let mut form = vec![
            ("To", CALLEE),
            ("From", twilio::PHONE_NUMBER),
            ("Twiml", LONG_TWIML),
        ];
        form.extend_from_slice(extra);
        let (status, call) = self.send("/Calls.json", Some(&form)).await;
        assert_eq!(status, StatusCode::CREATED, "{call}");
        assert_eq!(call["status"], "queued");
        call["sid"].as_str().unwrap().to_owned()
    }

    /// The call's REST status, once it is `status`.
    async fn wait_for_status(&self, sid: &str, status: &str) -> Value {
        wait_for(&format!("call {sid} to be {status}"), || async {
            let (_, call) = self.send(&format!("/Calls/{sid}.json"), None).await;
            (call["status"] == status).then_some(call)
        })
        .await
    }
}

async fn twilio_sandbox() -> twilio::TwilioSandbox {
    twilio::spawn(twilio::TwilioSandboxOptions {
        speed: 100.0,
        ..Default::default()
    })
    .await
}

const CALLEE: &str = "+821070000001";
const LONG_TWIML: &str =
    r#"<Response><Say language="ko-KR">안녕하세요</Say><Pause length="600"/></Response>"#;

#[tokio::test]
async fn a_call_runs_inline_twiml_and_a_rest_hang_up_answers_completed() {
    let sandbox = twilio_sandbox().await;
    let rest = Rest::of(&sandbox);
    let sid = rest.create_inline(&[]).await;
    let answered = rest.wait_for_status(&sid, "in-progress").await;
    assert!(answered["start_time"].is_string(), "{answered}");
    assert!(
        answered["answered_by"].is_null(),
        "no detection was asked for"
    );
    let log = &sandbox.calls()[0];
    assert_eq!(log.twiml.as_ref().map(Vec::len), Some(2), "{log:?}");

    let (status, recording) = rest
        .send(&format!("/Calls/{sid}/Recordings.json"), Some(&[]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{recording}");
    let recording_sid = recording["sid"].as_str().unwrap();
    let (_, listed) = rest
        .send(&format!("/Calls/{sid}/Recordings.json"), None)
        .await;
    assert_eq!(listed["recordings"][0]["sid"], recording_sid, "{listed}");
    let (status, fetched) = rest
        .send(
            &format!("/Calls/{sid}/Recordings/{recording_sid}.json"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["status"], "in-progress");
    assert!(fetched["date_created"].is_string() && fetched["start_time"].is_string());

    let (status, hung_up) = rest
        .send(
            &format!("/Calls/{sid}.json"),
            Some(&[("Status", "completed")]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hung_up["status"], "completed", "{hung_up}");
    assert!(hung_up["end_time"].is_string(), "{hung_up}");
    // The pause is cut short: the recording completes with the call, and the call stays over.
    wait_for("the recording to complete", || async {
        let (_, fetched) = rest
            .send(
                &format!("/Calls/{sid}/Recordings/{recording_sid}.json"),
                None,
            )
            .await;
        (fetched["status"] == "completed" && fetched["duration"].is_string()).then_some(())
    })
    .await;
    assert_eq!(rest.wait_for_status(&sid, "completed").await["sid"], sid);
}

#[tokio::test]
async fn a_create_needs_a_url_or_valid_twiml() {
    let sandbox = twilio_sandbox().await;
    let rest = Rest::of(&sandbox);
    let base = [("To", CALLEE), ("From", twilio::PHONE_NUMBER)];
    let (status, error) = rest.send("/Calls.json", Some(&base)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["code"], 21205, "{error}");
    let broken = [base[0], base[1], ("Twiml", "<Response><Say>")];
    let (status, error) = rest.send("/Calls.json", Some(&broken)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["code"], 12100, "{error}");
    assert!(sandbox.calls().is_empty());
}

#[tokio::test]
async fn machine_detection_fills_answered_by_and_the_account_can_be_fetched() {
    let sandbox = twilio_sandbox().await;
    let rest = Rest::of(&sandbox);
    let sid = rest.create_inline(&[("MachineDetection", "Enable")]).await;
    wait_for("the AMD verdict on the call", || async {
        let (_, call) = rest.send(&format!("/Calls/{sid}.json"), None).await;
        (call["answered_by"] == "human").then_some(())
    })
    .await;
    let (status, account) = rest.send(".json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account["sid"], twilio::ACCOUNT_SID);
    assert_eq!(account["status"], "active");
    assert_eq!(account["type"], "Full");
}

/// `GET {path}` on the ElevenLabs stand-in with its key, as JSON.
async fn elevenlabs_get(sandbox: &elevenlabs::ElevenLabsSandbox, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", sandbox.api_base()))
        .header("xi-api-key", sandbox.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A conversation as the official SDK holds it: no overrides at all, then `user_activity`,
/// `contextual_update` and `user_message`; tool calls answered. The close code and the events.
async fn converse_without_overrides(sandbox: &elevenlabs::ElevenLabsSandbox) -> (u16, Vec<Value>) {
    // The older spelling, which ElevenLabs' own examples still call (the bridge uses the other).
    let path = format!(
        "/v1/convai/conversation/get_signed_url?agent_id={}",
        elevenlabs::AGENT_ID
    );
    let signed = elevenlabs_get(sandbox, &path).await;
    let url = signed["signed_url"].as_str().unwrap();
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    for frame in [
        json!({"type": "conversation_initiation_client_data",
               "conversation_config_override": {"text_only": true},
               "source_info": {"source": "python_sdk", "version": "2.78.0"}}),
        json!({"type": "user_activity"}),
        json!({"type": "contextual_update", "text": "quiet room"}),
        json!({"type": "user_message", "text": "네, 맞습니다."}),
    ] {
        socket.send(Message::text(frame.to_string())).await.unwrap();
    }
    let mut events = Vec::new();
    while let Some(Ok(message)) = socket.next().await {
        match message {
            Message::Text(text) => {
                let event: Value = serde_json::from_str(text.as_str()).unwrap();
                if event["type"] == "client_tool_call" {
                    let id = &event["client_tool_call"]["tool_call_id"];
                    let result = json!({"type": "client_tool_result", "tool_call_id": id,
                                        "result": "ok", "is_error": false});
                    socket
                        .send(Message::text(result.to_string()))
                        .await
                        .unwrap();
                }
                events.push(event);
            }
            Message::Close(frame) => {
                let _ = socket.close(None).await;
                return (frame.map_or(1005, |f| f.code.into()), events);
            }
            _ => {}
        }
    }
    (1006, events)
}

#[tokio::test]
async fn an_agent_conversation_needs_no_overrides_and_takes_user_activity_and_messages() {
    let sandbox = elevenlabs::spawn(100.0).await;
    let (code, events) = converse_without_overrides(&sandbox).await;
    assert_eq!(code, 1000, "{events:#?}");
    let greeting = events
        .iter()
        .find(|e| e["type"] == "agent_response")
        .unwrap();
    assert_eq!(
        greeting["agent_response_event"]["agent_response"],
        elevenlabs::AGENT_FIRST_MESSAGE
    );
    let log = wait_for("the conversation's log", || async {
        sandbox.conversations().into_iter().next()
    })
    .await;
    assert_eq!(log.prompt, elevenlabs::AGENT_PROMPT);
    assert_eq!(log.language, elevenlabs::AGENT_LANGUAGE);
    assert_eq!(log.user_activity, 1);
    assert_eq!(log.contextual_updates, ["quiet room"]);
    assert!(
        log.transcript
            .contains(&("user".into(), "네, 맞습니다.".into()))
    );

    // The details carry what the SDK's GetConversationResponseModel requires.
    let path = format!("/v1/convai/conversations/{}", log.conversation_id);
    let details = elevenlabs_get(&sandbox, &path).await;
    for field in [
        "agent_id",
        "status",
        "conversation_id",
        "has_audio",
        "has_user_audio",
        "has_response_audio",
        "has_auxiliary_audio",
        "transcript",
    ] {
        assert!(!details[field].is_null(), "{field} missing: {details}");
    }
    assert!(details["metadata"]["start_time_unix_secs"].is_i64());
    assert!(details["metadata"]["call_duration_secs"].is_u64());
}

#[tokio::test]
async fn the_subscription_answer_has_every_field_the_sdk_requires() {
    let sandbox = elevenlabs::spawn(100.0).await;
    let answer = elevenlabs_get(&sandbox, "/v1/user/subscription").await;
    // elevenlabs-python 2.78's `Subscription`, its required fields.
    for field in [
        "tier",
        "character_count",
        "character_limit",
        "max_credit_limit_extension",
        "can_extend_character_limit",
        "allowed_to_extend_character_limit",
        "voice_slots_used",
        "professional_voice_slots_used",
        "professional_voice_slots_used_in_workspace",
        "voice_limit",
        "voice_add_edit_counter",
        "professional_voice_limit",
        "can_extend_voice_limit",
        "can_use_instant_voice_cloning",
        "can_use_professional_voice_cloning",
        "current_overage",
        "status",
        "open_invoices",
        "has_open_invoices",
    ] {
        assert!(!answer[field].is_null(), "{field} missing: {answer}");
    }
    assert_eq!(answer["current_overage"]["currency"], "usd");
}

/// The author the OpenAI stand-in answers with: any script will do here.
struct FixedAuthor;

impl openai::Author for FixedAuthor {
    fn write_script(
        &self,
        _brief: &protocols::openai::script::ScriptBrief,
    ) -> domain::script::ScriptContent {
        serde_json::from_value(json!({
            "greeting": "안녕하세요", "purpose": "확인",
            "mainFlow": [{"step": 1, "action": "확인", "expectedResponses": ["네"],
                          "nextStep": {"positive": null, "negative": null}}],
            "closing": "감사합니다", "variables": []
        }))
        .unwrap()
    }

    fn summarize(
        &self,
        _brief: &protocols::openai::summary::SummaryBrief,
    ) -> protocols::openai::summary::SummaryAnswer {
        unreachable!("no summaries asked for here")
    }
}

#[tokio::test]
async fn a_pydantic_schema_with_defs_refs_and_any_of_is_accepted() {
    let sandbox = openai::spawn(Arc::new(FixedAuthor)).await;
    let schema = json!({
        "$defs": {"NextStep": {"type": "object", "additionalProperties": false,
            "properties": {"positive": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                           "negative": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
            "required": ["positive", "negative"]}},
        "type": "object", "additionalProperties": false,
        "properties": {"greeting": {"type": "string"},
                       "next": {"$ref": "#/$defs/NextStep"}},
        "required": ["greeting", "next"]
    });
    let body = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "내일 예약 확인"}],
        "response_format": {"type": "json_schema",
            "json_schema": {"name": "Script", "strict": true, "schema": schema}}
    });
    let response = reqwest::Client::new()
        .post(format!("{}/chat/completions", sandbox.base_url()))
        .bearer_auth(sandbox.api_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
}
