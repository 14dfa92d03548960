//! The OpenAI summarizer: chat completions with the strict `call_summary` schema, through the
//! shared [`OpenAiChat`] (retries within the time budget, one repair attempt for an answer that is
//! refused, cut off or not the schema).

use std::time::Duration;

use async_trait::async_trait;

use super::wire;
use super::{CallSummary, Summarizer, SummaryError, SummaryRequest};
use crate::openai_chat::{ChatError, OpenAiChat, OpenAiConfig, StructuredOutput, Unusable};
use protocols::openai::summary::{self as protocol, SummaryAnswer};
use protocols::openai::{ChatCompletion, ChatMessage};

/// Time for one summary, retries and the repair included (not on the call's critical path).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(20);

/// The summary's schema, its checks and its repair message.
const SUMMARY: StructuredOutput<SummaryAnswer> = StructuredOutput {
    request: protocol::chat_request,
    repair_message: protocol::repair_message,
    interpret,
    // A summary is short.
    max_completion_tokens: 600,
    min_repair_time: Duration::ZERO,
};

/// The OpenAI-compatible summarizer.
#[derive(Debug, Clone)]
pub struct OpenAiSummarizer {
    chat: OpenAiChat,
}

impl OpenAiSummarizer {
    /// A summarizer for `config` (its budget bounds each summary).
    pub fn new(config: OpenAiConfig) -> Result<Self, SummaryError> {
        let chat = OpenAiChat::new(config).map_err(|e| SummaryError::Unreachable(e.to_string()))?;
        Ok(Self { chat })
    }
}

/// The answer of a completion, or what is wrong with it (and the text to send back).
fn interpret(completion: &ChatCompletion) -> Result<SummaryAnswer, Unusable> {
    let unusable = |problem: String, answer: &str| Unusable {
        problem,
        answer: answer.to_owned(),
    };
    let Some(choice) = completion.choices.first() else {
        return Err(unusable("the answer had no choices".into(), ""));
    };
    let answer = choice.message.content.clone().unwrap_or_default();
    if let Some(refusal) = &choice.message.refusal {
        return Err(unusable(
            format!("you refused (\"{refusal}\"); this is an ordinary business call"),
            refusal,
        ));
    }
    if choice.finish_reason.as_deref() == Some("length") {
        return Err(unusable(
            "the answer was cut off; write a shorter summary".into(),
            &answer,
        ));
    }
    let parsed: SummaryAnswer = serde_json::from_str(&answer).map_err(|e| {
        unusable(
            format!("the answer is not JSON of the schema ({e})"),
            &answer,
        )
    })?;
    if parsed.summary.trim().is_empty() {
        return Err(unusable("the summary was empty".into(), &answer));
    }
    if !protocol::OUTCOMES.contains(&parsed.outcome.as_str()) {
        return Err(unusable(
            format!("unknown outcome {:?}", parsed.outcome),
            &answer,
        ));
    }
    Ok(parsed)
}

impl From<ChatError> for SummaryError {
    fn from(error: ChatError) -> Self {
        match error {
            ChatError::TimedOut => Self::Unreachable(error.to_string()),
            ChatError::Provider { status, message } => Self::Provider { status, message },
            ChatError::Unreachable(reason) => Self::Unreachable(reason),
            ChatError::Unusable(reason) => Self::Failed(reason),
        }
    }
}

#[async_trait]
impl Summarizer for OpenAiSummarizer {
    #[tracing::instrument(skip_all, fields(model = %self.chat.config().model))]
    async fn summarize(&self, request: &SummaryRequest) -> Result<CallSummary, SummaryError> {
        let messages = vec![
            ChatMessage::system(protocol::SYSTEM_PROMPT),
            ChatMessage::user(wire::user_message(request)),
        ];
        let answered = self.chat.ask(&SUMMARY, messages).await?;
        let answer = answered.value;
        Ok(CallSummary {
            outcome: wire::outcome(&answer),
            summary: answer.summary.trim().to_owned(),
            follow_up_needed: answer.follow_up_needed,
            usage: answered.usage,
        })
    }

    fn name(&self) -> &'static str {
        "openai"
    }
}
