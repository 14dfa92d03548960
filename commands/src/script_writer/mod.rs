//! Writing a call script from what the owner typed: the [`ScriptWriter`] port and its two
//! adapters, [`OpenAiWriter`] (an OpenAI-compatible chat-completions API with a strict JSON
//! schema) and [`OfflineWriter`] (rule-based, needs no key, deterministic).

use std::time::Duration;

use async_trait::async_trait;
use domain::script::{FieldError, Language, ScriptContent};

pub mod offline;
pub mod openai;

pub use offline::OfflineWriter;
pub use openai::{OpenAiConfig, OpenAiWriter};

/// What the owner asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRequest {
    /// The owner's own words, e.g. "내일 오후 2시 예약 고객들에게 전화해서 예약 확인하고…".
    pub natural_input: String,
    /// `clinic`, `salon`, `restaurant`, `academy`, … when the owner said.
    pub business_type: Option<String>,
    /// The language the call is held in.
    pub language: Language,
}

impl ScriptRequest {
    /// A request in `language` without a business type.
    pub fn new(natural_input: impl Into<String>, language: Language) -> Self {
        Self {
            natural_input: natural_input.into(),
            business_type: None,
            language,
        }
    }

    /// The same request for a business of `business_type`.
    pub fn for_business(mut self, business_type: impl Into<String>) -> Self {
        self.business_type = Some(business_type.into());
        self
    }
}

/// Tokens a model call used (summed over retries and the repair attempt).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

impl TokenUsage {
    /// Both counts added.
    pub fn total(&self) -> u32 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// A script a writer produced; it has passed [`domain::script::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenScript {
    pub content: ScriptContent,
    /// Token usage when a model wrote it.
    pub usage: Option<TokenUsage>,
}

/// Why no script came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriterError {
    /// The model's answers were unusable (refused, truncated, not the schema, or breaking the
    /// script rules), also after the repair attempt.
    #[error("failed to generate the script: {reason}")]
    GenerationFailed { reason: String },
    /// No usable answer within the time budget.
    #[error("no script within {} ms", .budget.as_millis())]
    TimedOut { budget: Duration },
    /// The provider answered with an error that retrying did not (or cannot) fix.
    #[error("the model provider answered {status}: {message}")]
    Provider { status: u16, message: String },
    /// The provider could not be reached.
    #[error("cannot reach the model provider: {0}")]
    Unreachable(String),
}

impl WriterError {
    /// A generation failure for the reason given.
    pub fn failed(reason: impl Into<String>) -> Self {
        Self::GenerationFailed {
            reason: reason.into(),
        }
    }
}

/// Turns an owner's request into a structured, valid script.
#[async_trait]
pub trait ScriptWriter: Send + Sync {
    /// Writes a script for `request`.
    async fn write(&self, request: &ScriptRequest) -> Result<WrittenScript, WriterError>;

    /// A short name for logs and events (`openai`, `offline`).
    fn name(&self) -> &'static str;
}

/// The rule problems of a script, joined for a message.
pub(crate) fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
