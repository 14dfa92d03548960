//! The real OpenAI adapter against the sandbox over HTTP: success, refusal, truncated JSON,
//! rule-breaking output, rate limits, server errors, timeouts and a wrong key.

use std::time::Duration;

use commands::script_writer::{
    OfflineWriter, OpenAiConfig, OpenAiWriter, ScriptRequest, ScriptWriter, WriterError,
    WrittenScript,
};
use domain::script::{Language, validate};
use protocols::openai::script::{SCHEMA_NAME, SYSTEM_PROMPT, ScriptBrief};
use protocols::openai::summary::{SummaryAnswer, SummaryBrief};
use sandbox::openai::{Author, SandboxServer};

/// The composition root's author for scripts: the offline writer. These tests drive the
/// script writer only, so no summary is ever asked for.
struct OfflineAuthor;

impl Author for OfflineAuthor {
    fn write_script(&self, brief: &ScriptBrief) -> domain::script::ScriptContent {
        OfflineWriter::compose(&commands::script_writer::openai::wire::request_from(brief))
    }

    fn summarize(&self, _: &SummaryBrief) -> SummaryAnswer {
        unreachable!("the script writer's tests ask for no summary")
    }
}

async fn spawn() -> SandboxServer {
    sandbox::openai::spawn(std::sync::Arc::new(OfflineAuthor)).await
}

const SEED: &str = "내일 오후 2시에 예약된 고객들에게 전화해서 예약 확인하고, 변경 원하면 다른 \
                    시간 제안해줘. 취소하면 취소 사유도 물어봐줘.";

fn seed() -> ScriptRequest {
    ScriptRequest::new(SEED, Language::Ko).for_business("clinic")
}

fn writer(sandbox: &SandboxServer, model: &str) -> OpenAiWriter {
    OpenAiWriter::new(OpenAiConfig::new(
        sandbox.api_key(),
        sandbox.base_url(),
        model,
    ))
    .unwrap()
}

/// What the writer sent back with its one repair attempt: the last message of the second request.
fn repair_prompt(sandbox: &SandboxServer) -> String {
    sandbox.requests()[1].messages[3].content.clone()
}

/// The seed written through a fresh sandbox answering as `model`: the sandbox and the outcome.
async fn write_seed(model: &str) -> (SandboxServer, Result<WrittenScript, WriterError>) {
    let sandbox = spawn().await;
    let result = writer(&sandbox, model).write(&seed()).await;
    (sandbox, result)
}

/// The seed written as `model`, which must succeed: the sandbox and the script.
async fn written_seed(model: &str) -> (SandboxServer, WrittenScript) {
    let (sandbox, result) = write_seed(model).await;
    (sandbox, result.expect("the writer succeeds"))
}

/// The seed written as `model`, which must fail to generate: the sandbox and the reason.
async fn failed_seed(model: &str) -> (SandboxServer, String) {
    match write_seed(model).await {
        (sandbox, Err(WriterError::GenerationFailed { reason })) => (sandbox, reason),
        (_, other) => panic!("expected GenerationFailed, got {other:?}"),
    }
}

/// As `model` the writer fails after one repair, saying `why`: the sandbox.
async fn assert_fails_after_one_repair(model: &str, why: &str) -> SandboxServer {
    let (sandbox, reason) = failed_seed(model).await;
    assert!(reason.contains(why), "{reason}");
    assert_eq!(sandbox.request_count(), 2, "one repair, no more");
    sandbox
}

/// As `model` the writer gets a valid script with its second request: the sandbox and the script.
async fn assert_written_on_the_second_request(model: &str) -> (SandboxServer, WrittenScript) {
    let (sandbox, written) = written_seed(model).await;
    assert_eq!(validate(&written.content), Ok(()));
    assert_eq!(sandbox.request_count(), 2);
    (sandbox, written)
}

#[tokio::test]
async fn a_script_comes_back_from_one_strict_json_schema_request() {
    let (sandbox, written) = written_seed("gpt-4o-mini").await;

    assert_eq!(validate(&written.content), Ok(()));
    assert_eq!(written.content, OfflineWriter::compose(&seed()));
    let usage = written.usage.expect("the sandbox reports usage");
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
    assert_eq!(sandbox.request_count(), 1);
    let request = &sandbox.requests()[0];
    assert_eq!(request.model, "gpt-4o-mini");
    assert_eq!(request.messages[0].role, "system");
    assert_eq!(request.messages[0].content, SYSTEM_PROMPT);
    assert_eq!(request.messages[1].role, "user");
    assert!(request.messages[1].content.contains(SEED));
    assert!(request.messages[1].content.contains("clinic"));
    let format = request.response_format.json_schema.as_ref().unwrap();
    assert_eq!(request.response_format.kind, "json_schema");
    assert_eq!(
        (format.name.as_str(), format.strict),
        (SCHEMA_NAME, Some(true))
    );
    assert_eq!(writer(&sandbox, "gpt-4o-mini").name(), "openai");
}

#[tokio::test]
async fn an_english_request_gets_an_english_script() {
    let sandbox = spawn().await;
    let request = ScriptRequest::new("Remind members their payment is due Friday", Language::En);
    let written = writer(&sandbox, "gpt-4o-mini")
        .write(&request)
        .await
        .unwrap();
    assert_eq!(written.content.language(), Language::En);
    assert!(
        written.content.purpose.contains("due on Friday"),
        "{}",
        written.content.purpose
    );
}

#[tokio::test]
async fn a_refusal_gets_one_repair_attempt_then_fails() {
    let sandbox = assert_fails_after_one_repair("sandbox-refusal", "refused").await;
    let repair = &sandbox.requests()[1];
    assert_eq!(repair.messages.len(), 4);
    assert_eq!(repair.messages[2].role, "assistant");
    assert!(repair.messages[2].content.contains("can't help"));
    let prompt = repair_prompt(&sandbox);
    assert!(prompt.contains("ordinary business call script"), "{prompt}");
}

#[tokio::test]
async fn a_refusal_that_the_repair_overcomes_gives_the_script_and_counts_both_calls() {
    let (_, written) = assert_written_on_the_second_request("sandbox-refusal-once").await;
    assert_eq!(written.content, OfflineWriter::compose(&seed()));
    let single = written_seed("gpt-4o-mini").await.1.usage.unwrap();
    let both = written.usage.unwrap();
    assert!(
        both.prompt_tokens > single.prompt_tokens,
        "usage adds up over the repair"
    );
}

#[tokio::test]
async fn truncated_json_is_repaired_once_or_fails() {
    assert_fails_after_one_repair("sandbox-truncated", "cut off").await;

    let (sandbox, _) = assert_written_on_the_second_request("sandbox-truncated-once").await;
    let prompt = repair_prompt(&sandbox);
    assert!(prompt.contains("finish_reason: length"), "{prompt}");
}

#[tokio::test]
async fn a_script_that_breaks_the_rules_is_sent_back_with_the_fields_to_fix() {
    let (sandbox, written) = assert_written_on_the_second_request("sandbox-invalid-once").await;
    assert_eq!(written.content, OfflineWriter::compose(&seed()));
    let prompt = repair_prompt(&sandbox);
    assert!(prompt.contains("mainFlow[0].nextStep.negative"), "{prompt}");
    assert!(prompt.contains("not declared in variables"), "{prompt}");

    assert_fails_after_one_repair("sandbox-invalid", "breaks these rules").await;
}

#[tokio::test]
async fn an_answer_that_is_not_json_fails_after_the_repair() {
    assert_fails_after_one_repair("sandbox-garbage", "not JSON of the schema").await;
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_when_it_fits_the_budget() {
    assert_written_on_the_second_request("sandbox-429-once").await;
}

#[tokio::test]
async fn a_rate_limit_asking_for_too_long_a_wait_fails_at_once() {
    let (sandbox, result) = write_seed("sandbox-429").await;
    assert!(
        matches!(result, Err(WriterError::Provider { status: 429, .. })),
        "{result:?}"
    );
    assert_eq!(
        sandbox.request_count(),
        1,
        "Retry-After 30 s does not fit 5 s"
    );
}

#[tokio::test]
async fn a_server_error_is_retried() {
    assert_written_on_the_second_request("sandbox-500-once").await;
}

#[tokio::test]
async fn a_slow_provider_times_out_within_the_budget() {
    let sandbox = spawn().await;
    let config = OpenAiConfig::new(sandbox.api_key(), sandbox.base_url(), "sandbox-slow")
        .with_budget(Duration::from_millis(400));
    let result = OpenAiWriter::new(config).unwrap().write(&seed()).await;
    assert_eq!(
        result,
        Err(WriterError::TimedOut {
            budget: Duration::from_millis(400)
        })
    );
    assert_eq!(sandbox.request_count(), 1);
}

#[tokio::test]
async fn a_wrong_key_is_not_retried_and_never_echoed() {
    let sandbox = spawn().await;
    let config = OpenAiConfig::new("sk-wrong-key", sandbox.base_url(), "gpt-4o-mini");
    let result = OpenAiWriter::new(config).unwrap().write(&seed()).await;
    let Err(WriterError::Provider { status, message }) = result else {
        panic!("expected a provider error, got {result:?}");
    };
    assert_eq!(status, 401);
    assert!(message.contains("Incorrect API key"), "{message}");
    assert!(!message.contains("sk-wrong-key"));
    assert_eq!(sandbox.request_count(), 1);
}

#[tokio::test]
async fn an_unreachable_provider_is_retried_then_reported() {
    // A port that was free a moment ago: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = OpenAiConfig::new("sk-x", format!("http://127.0.0.1:{port}/v1"), "gpt-4o-mini");
    let result = OpenAiWriter::new(config).unwrap().write(&seed()).await;
    assert!(
        matches!(result, Err(WriterError::Unreachable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn the_sandbox_refuses_requests_that_break_openais_rules() {
    let sandbox = spawn().await;
    let client = reqwest::Client::new();
    let url = format!("{}/chat/completions", sandbox.base_url());
    let loose = serde_json::json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "예약 확인"}],
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "call_script", "strict": true,
            "schema": {"type": "object", "properties": {"greeting": {"type": "string"}}}
        }}
    });
    let response = client
        .post(&url)
        .bearer_auth(sandbox.api_key())
        .json(&loose)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("additionalProperties"),
        "{body}"
    );
    let response = client.post(&url).json(&loose).send().await.unwrap();
    assert_eq!(response.status(), 401, "no Bearer key");
}
