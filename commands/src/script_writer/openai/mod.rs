//! The OpenAI adapter: chat completions with a strict `json_schema` response format.
//!
//! The call itself (retries within the PRD's 5 s budget, one repair) is the shared
//! [`OpenAiChat`]; this module says what a usable script is: an answer that is refused, cut off
//! (`finish_reason: "length"`), not JSON of the schema, or breaks the script rules gets one repair
//! attempt with the problem sent back; after that the writer gives up with
//! [`WriterError::GenerationFailed`].

use std::time::Duration;

use async_trait::async_trait;
use domain::script::{ScriptContent, validate};

use super::{ScriptRequest, ScriptWriter, WriterError, WrittenScript, describe};
use crate::openai_chat::{ChatError, OpenAiChat, StructuredOutput, Unusable};

pub mod wire;

pub use crate::openai_chat::OpenAiConfig;
use protocols::openai::script as protocol;
use protocols::openai::{ChatCompletion, ChatMessage};

/// The PRD's limit for generating a script.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(5);

/// The script's schema, its rules and its repair message.
const SCRIPT: StructuredOutput<ScriptContent> = StructuredOutput {
    request: protocol::chat_request,
    repair_message: protocol::repair_message,
    interpret,
    // A Korean script of six steps takes about 1,000.
    max_completion_tokens: 2_000,
    min_repair_time: Duration::from_millis(250),
};

/// The OpenAI-compatible writer.
#[derive(Debug, Clone)]
pub struct OpenAiWriter {
    chat: OpenAiChat,
}

impl OpenAiWriter {
    /// A writer for `config`.
    pub fn new(config: OpenAiConfig) -> Result<Self, WriterError> {
        let chat = OpenAiChat::new(config).map_err(|e| WriterError::Unreachable(e.to_string()))?;
        Ok(Self { chat })
    }

    /// The model asked for.
    pub fn model(&self) -> &str {
        &self.chat.config().model
    }

    /// Why the chat gave no script, as the writer says it.
    fn refused(&self, error: ChatError) -> WriterError {
        match error {
            ChatError::TimedOut => WriterError::TimedOut {
                budget: self.chat.config().budget,
            },
            ChatError::Provider { status, message } => WriterError::Provider { status, message },
            ChatError::Unreachable(reason) => WriterError::Unreachable(reason),
            ChatError::Unusable(reason) => WriterError::failed(reason),
        }
    }
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
    #[tracing::instrument(skip_all, fields(model = %self.model()))]
    async fn write(&self, request: &ScriptRequest) -> Result<WrittenScript, WriterError> {
        let messages = vec![
            ChatMessage::system(protocol::SYSTEM_PROMPT),
            ChatMessage::user(wire::user_message(request)),
        ];
        let answered = self
            .chat
            .ask(&SCRIPT, messages)
            .await
            .map_err(|error| self.refused(error))?;
        Ok(WrittenScript {
            content: answered.value,
            usage: answered.usage,
        })
    }

    fn name(&self) -> &'static str {
        "openai"
    }
}
