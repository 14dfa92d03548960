//! The OpenAI summarizer: chat completions with the strict `call_summary` schema. 429, 5xx and
//! connection failures are retried with backoff within the time budget; an answer that is
//! refused, cut off or not the schema gets one repair attempt.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use tokio::time::Instant;

use super::wire;
use super::{CallSummary, Summarizer, SummaryError, SummaryRequest};
use crate::script_writer::TokenUsage;
use crate::script_writer::openai::OpenAiConfig;
use protocols::openai::summary::{self as protocol, SummaryAnswer};
use protocols::openai::{ChatCompletion, ChatMessage, ErrorBody};

/// A summary is short.
const MAX_COMPLETION_TOKENS: u32 = 600;
/// Time for one summary, retries and the repair included (not on the call's critical path).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(20);

/// The OpenAI-compatible summarizer.
#[derive(Debug, Clone)]
pub struct OpenAiSummarizer {
    client: reqwest::Client,
    endpoint: String,
    config: OpenAiConfig,
}

impl OpenAiSummarizer {
    /// A summarizer for `config` (its budget bounds each summary).
    pub fn new(config: OpenAiConfig) -> Result<Self, SummaryError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| SummaryError::Unreachable(e.to_string()))?;
        let endpoint = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        Ok(Self {
            client,
            endpoint,
            config,
        })
    }

    fn redact(&self, text: &str) -> String {
        if self.config.api_key.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.config.api_key, "***")
        }
    }

    async fn complete(
        &self,
        messages: &[ChatMessage],
        deadline: Instant,
    ) -> Result<ChatCompletion, SummaryError> {
        let body =
            protocol::chat_request(&self.config.model, messages.to_vec(), MAX_COMPLETION_TOKENS);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(SummaryError::Unreachable(
                    "no answer within the budget".into(),
                ));
            }
            let sent = self
                .client
                .post(&self.endpoint)
                .bearer_auth(&self.config.api_key)
                .json(&body)
                .timeout(remaining)
                .send()
                .await;
            let error = match sent {
                Err(err) => SummaryError::Unreachable(self.redact(&err.without_url().to_string())),
                Ok(response) if response.status().is_success() => {
                    return response.json::<ChatCompletion>().await.map_err(|e| {
                        SummaryError::Failed(format!(
                            "the answer is not a chat completion: {}",
                            e.without_url()
                        ))
                    });
                }
                Ok(response) => {
                    let status = response.status();
                    let message = match response.json::<ErrorBody>().await {
                        Ok(body) => body.error.message,
                        Err(_) => status.canonical_reason().unwrap_or("error").to_owned(),
                    };
                    let error = SummaryError::Provider {
                        status: status.as_u16(),
                        message: self.redact(&message).chars().take(300).collect(),
                    };
                    if !(status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()) {
                        return Err(error);
                    }
                    error
                }
            };
            if attempt >= self.config.max_attempts {
                return Err(error);
            }
            let wait = Duration::from_millis(200 * 2u64.pow(attempt.min(5)));
            if wait >= deadline.saturating_duration_since(Instant::now()) {
                return Err(error);
            }
            tracing::warn!(error = %error, attempt, "summary model call failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

/// The answer of a completion, or what is wrong with it (and the text to send back).
fn interpret(completion: &ChatCompletion) -> Result<SummaryAnswer, (String, String)> {
    let Some(choice) = completion.choices.first() else {
        return Err(("the answer had no choices".into(), String::new()));
    };
    let answer = choice.message.content.clone().unwrap_or_default();
    if let Some(refusal) = &choice.message.refusal {
        return Err((
            format!("you refused (\"{refusal}\"); this is an ordinary business call"),
            refusal.clone(),
        ));
    }
    if choice.finish_reason.as_deref() == Some("length") {
        return Err((
            "the answer was cut off; write a shorter summary".into(),
            answer,
        ));
    }
    let parsed: SummaryAnswer = serde_json::from_str(&answer).map_err(|e| {
        (
            format!("the answer is not JSON of the schema ({e})"),
            answer.clone(),
        )
    })?;
    if parsed.summary.trim().is_empty() {
        return Err(("the summary was empty".into(), answer));
    }
    if !protocol::OUTCOMES.contains(&parsed.outcome.as_str()) {
        return Err((format!("unknown outcome {:?}", parsed.outcome), answer));
    }
    Ok(parsed)
}

#[async_trait]
impl Summarizer for OpenAiSummarizer {
    #[tracing::instrument(skip_all, fields(model = %self.config.model))]
    async fn summarize(&self, request: &SummaryRequest) -> Result<CallSummary, SummaryError> {
        let deadline = Instant::now() + self.config.budget;
        let mut messages = vec![
            ChatMessage::system(protocol::SYSTEM_PROMPT),
            ChatMessage::user(wire::user_message(request)),
        ];
        let mut usage: Option<TokenUsage> = None;
        let mut repaired = false;
        loop {
            let completion = self.complete(&messages, deadline).await?;
            if let Some(used) = completion.usage {
                let total = usage.get_or_insert_with(TokenUsage::default);
                total.prompt_tokens += used.prompt_tokens;
                total.completion_tokens += used.completion_tokens;
            }
            match interpret(&completion) {
                Ok(answer) => {
                    return Ok(CallSummary {
                        outcome: wire::outcome(&answer),
                        summary: answer.summary.trim().to_owned(),
                        follow_up_needed: answer.follow_up_needed,
                        usage,
                    });
                }
                Err((problem, _)) if repaired => {
                    return Err(SummaryError::Failed(format!(
                        "the model's answer was unusable twice; last: {problem}"
                    )));
                }
                Err((problem, answer)) => {
                    tracing::warn!(%problem, "summary answer unusable; asking for a repair");
                    messages.push(ChatMessage::assistant(answer));
                    messages.push(ChatMessage::user(protocol::repair_message(&problem)));
                    repaired = true;
                }
            }
        }
    }

    fn name(&self) -> &'static str {
        "openai"
    }
}
