//! Summarizing a finished call: the [`Summarizer`] port, [`OpenAiSummarizer`] (an
//! OpenAI-compatible chat-completions API with a strict JSON schema: a Korean summary, the
//! outcome, whether to follow up) and [`OfflineSummarizer`] (extractive, needs no key,
//! deterministic), which is also the fallback when the model fails.

use async_trait::async_trait;
use domain::call::{CallResult, TranscriptLine};

pub mod offline;
pub mod openai;
pub mod wire;

pub use offline::OfflineSummarizer;
pub use openai::OpenAiSummarizer;

use crate::script_writer::TokenUsage;

/// What there is to summarize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRequest {
    /// The conversation, in order.
    pub transcript: Vec<TranscriptLine>,
    /// The outcome the agent reported during the call, if any.
    pub reported_result: Option<CallResult>,
}

/// A summary of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSummary {
    /// In Korean.
    pub summary: String,
    /// The outcome read from the conversation (a suggestion: it never replaces the agent's).
    pub outcome: Option<CallResult>,
    /// Whether someone should call the person back or act on what they said.
    pub follow_up_needed: bool,
    /// Token usage when a model wrote it.
    pub usage: Option<TokenUsage>,
}

/// Why no summary came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SummaryError {
    /// The model's answers were unusable, also after the repair attempt.
    #[error("the summary could not be generated: {0}")]
    Failed(String),
    /// The provider answered with an error retrying did not fix.
    #[error("the model provider answered {status}: {message}")]
    Provider { status: u16, message: String },
    /// The provider could not be reached in time.
    #[error("cannot reach the model provider: {0}")]
    Unreachable(String),
}

/// Turns a call's transcript into a summary.
#[async_trait]
pub trait Summarizer: Send + Sync {
    /// Summarizes one call.
    async fn summarize(&self, request: &SummaryRequest) -> Result<CallSummary, SummaryError>;

    /// A short name for logs (`openai`, `offline`).
    fn name(&self) -> &'static str;
}
