//! One structured-output call to an OpenAI-compatible chat-completions API, shared by the
//! script writer and the summarizer.
//!
//! Everything happens within one time budget: 429 and 5xx answers and connection failures are
//! retried with exponential backoff and jitter (or the server's `retry-after-ms`/`Retry-After`
//! when that fits the budget); an answer that arrives but cannot be used (refused, cut off, not
//! the schema, breaking the caller's rules) gets one repair attempt with the problem sent back.

use std::fmt;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use tokio::time::Instant;

use crate::script_writer::TokenUsage;
use protocols::openai::{ChatCompletion, ChatMessage, ChatRequest, ErrorBody};

/// Where and how to reach the model.
#[derive(Clone)]
pub struct OpenAiConfig {
    pub api_key: String,
    /// E.g. `https://api.openai.com/v1` (no trailing slash needed).
    pub base_url: String,
    pub model: String,
    /// Total time for one answer, retries and the repair included.
    pub budget: Duration,
    /// HTTP attempts per model call (the first and its retries).
    pub max_attempts: u32,
    /// The longest server-requested wait honoured before a retry.
    pub max_retry_wait: Duration,
}

impl OpenAiConfig {
    /// A configuration with the script writer's budget (5 s), 3 attempts and waits up to 2 s.
    pub fn new(
        api_key: impl Into<String>,
        base_url: impl Into<String>,
        model: impl Into<String>,
    ) -> Self {
        Self {
            api_key: api_key.into(),
            base_url: base_url.into(),
            model: model.into(),
            budget: crate::script_writer::openai::DEFAULT_BUDGET,
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

/// What one kind of structured answer needs from the shared call.
pub struct StructuredOutput<T> {
    /// The request body for a conversation (the protocol's `chat_request`).
    pub request: fn(&str, Vec<ChatMessage>, u32) -> ChatRequest,
    /// The message that asks for a repaired answer.
    pub repair_message: fn(&str) -> String,
    /// Takes the value out of a completion, or says what is wrong with it.
    pub interpret: fn(&ChatCompletion) -> Result<T, Unusable>,
    /// The longest answer asked for.
    pub max_completion_tokens: u32,
    /// Below this much time left, a repair attempt cannot finish; fail at once instead.
    pub min_repair_time: Duration,
}

/// An answer that arrived but cannot be used, with what to tell the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    pub problem: String,
    pub answer: String,
}

/// A usable answer and the tokens it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered<T> {
    pub value: T,
    /// Summed over every completion (the repair included).
    pub usage: Option<TokenUsage>,
}

/// Why no usable answer came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// No answer within the time budget.
    #[error("no answer within the budget")]
    TimedOut,
    /// The provider answered with an error that retrying did not (or cannot) fix.
    #[error("the model provider answered {status}: {message}")]
    Provider { status: u16, message: String },
    /// The provider could not be reached.
    #[error("cannot reach the model provider: {0}")]
    Unreachable(String),
    /// Answers came but could not be used (also after the repair), or were not completions.
    #[error("{0}")]
    Unusable(String),
}

/// A failed HTTP attempt and the wait the server asked for.
struct Attempt {
    error: ChatError,
    retry_after: Option<Duration>,
}

impl Attempt {
    fn is_retryable(&self) -> bool {
        match &self.error {
            ChatError::Unreachable(_) => true,
            ChatError::Provider { status, .. } => {
                let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
                status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            }
            ChatError::TimedOut | ChatError::Unusable(_) => false,
        }
    }
}

impl From<ChatError> for Attempt {
    fn from(error: ChatError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

/// The OpenAI-compatible chat client.
#[derive(Debug, Clone)]
pub struct OpenAiChat {
    client: reqwest::Client,
    endpoint: String,
    config: OpenAiConfig,
}

impl OpenAiChat {
    /// A client for `config`.
    pub fn new(config: OpenAiConfig) -> Result<Self, ChatError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.budget.min(Duration::from_secs(2)))
            .build()
            .map_err(|e| ChatError::Unreachable(format!("cannot build the HTTP client: {e}")))?;
        let endpoint = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        Ok(Self {
            client,
            endpoint,
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// Asks for one structured answer to `messages`, repairing an unusable one once.
    pub async fn ask<T>(
        &self,
        output: &StructuredOutput<T>,
        mut messages: Vec<ChatMessage>,
    ) -> Result<Answered<T>, ChatError> {
        let deadline = Instant::now() + self.config.budget;
        let mut usage: Option<TokenUsage> = None;
        let mut repaired = false;
        loop {
            let body = (output.request)(
                &self.config.model,
                messages.clone(),
                output.max_completion_tokens,
            );
            let completion = self.complete(&body, deadline).await?;
            if let Some(used) = completion.usage {
                let total = usage.get_or_insert_with(TokenUsage::default);
                total.prompt_tokens += used.prompt_tokens;
                total.completion_tokens += used.completion_tokens;
            }
            let unusable = match (output.interpret)(&completion) {
                Ok(value) => return Ok(Answered { value, usage }),
                Err(unusable) => unusable,
            };
            if repaired {
                return Err(ChatError::Unusable(format!(
                    "the model's answer was unusable twice; last: {}",
                    unusable.problem
                )));
            }
            if deadline.saturating_duration_since(Instant::now()) < output.min_repair_time {
                return Err(ChatError::Unusable(format!(
                    "{}; no time left to repair it",
                    unusable.problem
                )));
            }
            tracing::warn!(problem = %unusable.problem, "model answer unusable; asking for a repair");
            messages.push(ChatMessage::assistant(unusable.answer));
            messages.push(ChatMessage::user((output.repair_message)(
                &unusable.problem,
            )));
            repaired = true;
        }
    }

    /// One model call, retried on 429, 5xx and connection failures while the budget allows.
    async fn complete(
        &self,
        body: &ChatRequest,
        deadline: Instant,
    ) -> Result<ChatCompletion, ChatError> {
        let policy = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.config.max_attempts.saturating_sub(1) as usize);
        (|| self.complete_once(body, deadline))
            .retry(policy)
            .when(Attempt::is_retryable)
            .adjust(|attempt, backoff| {
                let wait = attempt.retry_after.unwrap_or(backoff?);
                let remaining = deadline.saturating_duration_since(Instant::now());
                if wait > self.config.max_retry_wait || wait >= remaining {
                    tracing::warn!(error = %attempt.error, wait_ms = wait.as_millis() as u64, "the next try would not fit the budget; giving up");
                    return None;
                }
                Some(wait)
            })
            .notify(|attempt, wait| {
                tracing::warn!(error = %attempt.error, wait_ms = wait.as_millis() as u64, "model call failed; retrying");
            })
            .await
            .map_err(|attempt| attempt.error)
    }

    async fn complete_once(
        &self,
        body: &ChatRequest,
        deadline: Instant,
    ) -> Result<ChatCompletion, Attempt> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(ChatError::TimedOut.into());
        }
        let sent = self
            .client
            .post(&self.endpoint)
            .bearer_auth(&self.config.api_key)
            .json(body)
            .timeout(remaining)
            .send()
            .await;
        let response = match sent {
            Err(err) if err.is_timeout() => return Err(ChatError::TimedOut.into()),
            Err(err) => return Err(ChatError::Unreachable(self.redact(&without_url(&err))).into()),
            Ok(response) => response,
        };
        let status = response.status();
        if status.is_success() {
            return match response.json::<ChatCompletion>().await {
                Ok(completion) => Ok(completion),
                Err(err) if err.is_timeout() => Err(ChatError::TimedOut.into()),
                Err(err) => Err(ChatError::Unusable(format!(
                    "the provider's answer is not a chat completion: {}",
                    without_url(&err)
                ))
                .into()),
            };
        }
        let retry_after = retry_after(response.headers());
        let message = match response.json::<ErrorBody>().await {
            Ok(body) => body.error.message,
            Err(_) => status
                .canonical_reason()
                .unwrap_or("unknown error")
                .to_owned(),
        };
        Err(Attempt {
            error: ChatError::Provider {
                status: status.as_u16(),
                message: self.redact(&message).chars().take(300).collect(),
            },
            retry_after,
        })
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
    crate::with_causes(text, err)
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
    fn only_rate_limits_server_errors_and_unreachable_providers_are_retried() {
        let provider = |status| {
            Attempt::from(ChatError::Provider {
                status,
                message: String::new(),
            })
        };
        assert!(provider(429).is_retryable());
        assert!(provider(503).is_retryable());
        assert!(!provider(401).is_retryable());
        assert!(Attempt::from(ChatError::Unreachable(String::new())).is_retryable());
        assert!(!Attempt::from(ChatError::TimedOut).is_retryable());
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let config = OpenAiConfig::new("sk-secret-123", "http://127.0.0.1:1/v1", "gpt-4o-mini");
        assert!(!format!("{config:?}").contains("sk-secret-123"));
        let chat = OpenAiChat::new(config).unwrap();
        assert!(!format!("{chat:?}").contains("sk-secret-123"));
        assert_eq!(chat.redact("bad key sk-secret-123"), "bad key ***");
    }
}
