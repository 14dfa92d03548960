//! The OpenAI adapter: chat completions with a strict `json_schema` response format.
//!
//! Everything happens within one time budget (the PRD's 5 s for generating a script): 429 and
//! 5xx answers and connection failures are retried with a short backoff (or the server's
//! `retry-after-ms`/`Retry-After` when that fits the budget); an answer that is refused, cut off
//! (`finish_reason: "length"`), not JSON of the schema, or breaks the script rules gets one repair
//! attempt with the problem sent back; after that the writer gives up with
//! [`WriterError::GenerationFailed`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use domain::script::{ScriptContent, validate};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use tokio::time::Instant;

use super::{ScriptRequest, ScriptWriter, TokenUsage, WriterError, WrittenScript, describe};

pub mod wire;

use protocols::openai::script as protocol;
use protocols::openai::{ChatCompletion, ChatMessage, ErrorBody};

/// The PRD's limit for generating a script.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(5);
/// Longest answer asked for; a Korean script of six steps takes about 1,000.
const MAX_COMPLETION_TOKENS: u32 = 2_000;
/// Below this much time left, a repair attempt cannot finish; fail at once instead.
const MIN_REPAIR_TIME: Duration = Duration::from_millis(250);

/// Where and how to reach the model.
#[derive(Clone)]
pub struct OpenAiConfig {
    pub api_key: String,
    /// E.g. `https://api.openai.com/v1` (no trailing slash needed).
    pub base_url: String,
    pub model: String,
    /// Total time for one script, retries and the repair included.
    pub budget: Duration,
    /// HTTP attempts per model call (the first and its retries).
    pub max_attempts: u32,
    /// The longest server-requested wait honoured before a retry.
    pub max_retry_wait: Duration,
}

impl OpenAiConfig {
    /// A configuration with the default budget (5 s), 3 attempts and waits up to 2 s.
    pub fn new(
        api_key: impl Into<String>,
        base_url: impl Into<String>,
        model: impl Into<String>,
    ) -> Self {
        Self {
            api_key: api_key.into(),
            base_url: base_url.into(),
            model: model.into(),
            budget: DEFAULT_BUDGET,
            max_attempts: 3,
            max_retry_wait: Duration::from_secs(2),
        }
    }

    /// The same configuration with another time budget.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("api_key", &"***")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("budget", &self.budget)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

/// The OpenAI-compatible writer.
#[derive(Debug, Clone)]
pub struct OpenAiWriter {
    client: reqwest::Client,
    endpoint: String,
    config: OpenAiConfig,
}

/// An answer that arrived but cannot be used, with what to tell the model.
struct Unusable {
    problem: String,
    answer: String,
}

impl OpenAiWriter {
    /// A writer for `config`.
    pub fn new(config: OpenAiConfig) -> Result<Self, WriterError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.budget.min(Duration::from_secs(2)))
            .build()
            .map_err(|e| WriterError::Unreachable(format!("cannot build the HTTP client: {e}")))?;
        let endpoint = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        Ok(Self {
            client,
            endpoint,
            config,
        })
    }

    /// The model asked for.
    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// One model call, retried on 429, 5xx and connection failures while the budget allows.
    async fn complete(
        &self,
        messages: &[ChatMessage],
        deadline: Instant,
    ) -> Result<ChatCompletion, WriterError> {
        let body =
            protocol::chat_request(&self.config.model, messages.to_vec(), MAX_COMPLETION_TOKENS);
        let timed_out = WriterError::TimedOut {
            budget: self.config.budget,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(timed_out);
            }
            let sent = self
                .client
                .post(&self.endpoint)
                .bearer_auth(&self.config.api_key)
                .json(&body)
                .timeout(remaining)
                .send()
                .await;
            let (error, wait) = match sent {
                Err(err) if err.is_timeout() => return Err(timed_out),
                Err(err) => (
                    WriterError::Unreachable(self.redact(&without_url(&err))),
                    None,
                ),
                Ok(response) if response.status().is_success() => {
                    return match response.json::<ChatCompletion>().await {
                        Ok(completion) => Ok(completion),
                        Err(err) if err.is_timeout() => Err(timed_out),
                        Err(err) => Err(WriterError::failed(format!(
                            "the provider's answer is not a chat completion: {}",
                            without_url(&err)
                        ))),
                    };
                }
                Ok(response) => {
                    let status = response.status();
                    let wait = retry_after(response.headers());
                    let message = match response.json::<ErrorBody>().await {
                        Ok(body) => body.error.message,
                        Err(_) => status
                            .canonical_reason()
                            .unwrap_or("unknown error")
                            .to_owned(),
                    };
                    let error = WriterError::Provider {
                        status: status.as_u16(),
                        message: self.redact(&message).chars().take(300).collect(),
                    };
                    if !retryable(status) {
                        return Err(error);
                    }
                    (error, wait)
                }
            };
            if attempt >= self.config.max_attempts {
                return Err(error);
            }
            let wait = wait.unwrap_or_else(|| backoff(attempt));
            let remaining = deadline.saturating_duration_since(Instant::now());
            if wait > self.config.max_retry_wait || wait >= remaining {
                tracing::warn!(error = %error, wait_ms = wait.as_millis() as u64, "model provider asks for a wait beyond the budget; giving up");
                return Err(error);
            }
            tracing::warn!(error = %error, attempt, wait_ms = wait.as_millis() as u64, "model call failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// Never lets the key into a message that may be logged or shown.
    fn redact(&self, text: &str) -> String {
        if self.config.api_key.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.config.api_key, "***")
        }
    }
}

fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// 200 ms, 400 ms, 800 ms…
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 * 2u64.pow(attempt.saturating_sub(1).min(5)))
}

/// The wait a 429/503 asks for: `retry-after-ms` (OpenAI's), else `Retry-After` in seconds.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| -> Option<f64> {
        headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite() && *value >= 0.0)
    };
    number("retry-after-ms")
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .or_else(|| number("retry-after").map(Duration::from_secs_f64))
}

/// A reqwest error's text without the URL (which is ours anyway, and long).
fn without_url(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text
            .replace(&format!(" ({url})"), "")
            .replace(url.as_str(), "");
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Takes the script out of a completion, or says what is wrong with it.
fn interpret(completion: &ChatCompletion) -> Result<ScriptContent, Unusable> {
    let Some(choice) = completion.choices.first() else {
        return Err(Unusable {
            problem: "the answer had no choices".into(),
            answer: String::new(),
        });
    };
    let answer = choice.message.content.clone().unwrap_or_default();
    let unusable = |problem: String| Unusable {
        problem,
        answer: answer.clone(),
    };
    if let Some(refusal) = &choice.message.refusal {
        return Err(Unusable {
            problem: format!(
                "you refused (\"{refusal}\"), but this is an ordinary business call script \
                 the owner asked for"
            ),
            answer: refusal.clone(),
        });
    }
    match choice.finish_reason.as_deref() {
        Some("stop") | None => {}
        Some("length") => {
            return Err(unusable(
                "the answer was cut off (finish_reason: length) before the JSON was complete; \
                 write a shorter script"
                    .into(),
            ));
        }
        Some(other) => {
            return Err(unusable(format!(
                "the answer ended with finish_reason \"{other}\" instead of \"stop\""
            )));
        }
    }
    if answer.trim().is_empty() {
        return Err(unusable("the answer was empty".into()));
    }
    let content: ScriptContent = serde_json::from_str(&answer)
        .map_err(|e| unusable(format!("the answer is not JSON of the schema ({e})")))?;
    validate(&content).map_err(|errors| {
        unusable(format!(
            "the script breaks these rules: {}",
            describe(&errors)
        ))
    })?;
    Ok(content)
}

#[async_trait]
impl ScriptWriter for OpenAiWriter {
    #[tracing::instrument(skip_all, fields(model = %self.config.model))]
    async fn write(&self, request: &ScriptRequest) -> Result<WrittenScript, WriterError> {
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
            let problem = match interpret(&completion) {
                Ok(content) => return Ok(WrittenScript { content, usage }),
                Err(unusable) => unusable,
            };
            if repaired {
                return Err(WriterError::failed(format!(
                    "the model's answer was unusable twice; last: {}",
                    problem.problem
                )));
            }
            if deadline.saturating_duration_since(Instant::now()) < MIN_REPAIR_TIME {
                return Err(WriterError::failed(format!(
                    "{}; no time left to repair it",
                    problem.problem
                )));
            }
            tracing::warn!(problem = %problem.problem, "model answer unusable; asking for a repair");
            messages.push(ChatMessage::assistant(problem.answer));
            messages.push(ChatMessage::user(protocol::repair_message(
                &problem.problem,
            )));
            repaired = true;
        }
    }

    fn name(&self) -> &'static str {
        "openai"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_prefers_milliseconds() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(150)));
        headers.insert("retry-after-ms", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_doubles() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(2), Duration::from_millis(400));
        assert_eq!(backoff(3), Duration::from_millis(800));
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let config = OpenAiConfig::new("sk-secret-123", "http://127.0.0.1:1/v1", "gpt-4o-mini");
        assert!(!format!("{config:?}").contains("sk-secret-123"));
        let writer = OpenAiWriter::new(config).unwrap();
        assert!(!format!("{writer:?}").contains("sk-secret-123"));
        assert_eq!(writer.redact("bad key sk-secret-123"), "bad key ***");
    }
}
