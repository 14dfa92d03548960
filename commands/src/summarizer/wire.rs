//! The summary's strict JSON schema, prompt and messages. One place, used by the adapter and by
//! the sandbox that stands in for OpenAI.

use domain::call::{CallResult, Speaker, TranscriptLine};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::SummaryRequest;
use crate::script_writer::openai::wire::{
    ChatMessage, ChatRequest, JsonSchemaFormat, ResponseFormat,
};

/// `response_format.json_schema.name` of the summary schema.
pub const SCHEMA_NAME: &str = "call_summary";

/// The outcomes the model may choose from (`UNKNOWN` when the conversation does not say).
pub const OUTCOMES: [&str; 8] = [
    "SUCCESS",
    "VOICEMAIL",
    "DECLINED",
    "RESCHEDULED",
    "CALLBACK_REQUESTED",
    "OTHER",
    "OPTED_OUT",
    "UNKNOWN",
];

/// The model's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SummaryAnswer {
    pub summary: String,
    pub outcome: String,
    pub follow_up_needed: bool,
}

impl SummaryAnswer {
    /// The outcome as a result (`UNKNOWN` and anything else unknown → `None`).
    pub fn result(&self) -> Option<CallResult> {
        serde_json::from_value(Value::String(self.outcome.clone())).ok()
    }
}

/// The strict schema of [`SummaryAnswer`].
pub fn summary_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["summary", "outcome", "followUpNeeded"],
        "properties": {
            "summary": {
                "type": "string",
                "description": "Two or three sentences in Korean (존댓말): why the call was made, what the callee said, what was agreed."
            },
            "outcome": {
                "type": "string",
                "enum": OUTCOMES,
                "description": "What came of the call, read from the conversation."
            },
            "followUpNeeded": {
                "type": "boolean",
                "description": "True when someone must act: a new time to arrange, a call back, a question left open."
            }
        }
    })
}

/// The instructions every summary request starts with.
pub const SYSTEM_PROMPT: &str = "\
You summarize phone calls that a small business's AI voice agent made to its customers. You get \
the transcript (agent = the business's agent, user = the customer) and the outcome the agent \
reported during the call. Answer as JSON in the given schema: summary in Korean (존댓말, two or \
three sentences, only facts from the transcript), outcome (what the conversation shows; UNKNOWN \
when it does not say), followUpNeeded (true when a new time must be arranged, a call back was \
asked for, or a question was left open).";

const REPORTED_LINE: &str = "Reported outcome:";
const TRANSCRIPT_LINE: &str = "Transcript:";

/// The user message for a request.
pub fn user_message(request: &SummaryRequest) -> String {
    let reported = request
        .reported_result
        .map_or("none", CallResult::as_str)
        .to_owned();
    let lines: Vec<String> = request
        .transcript
        .iter()
        .map(|line| format!("{}: {}", line.role.as_str(), line.text.replace('\n', " ")))
        .collect();
    format!(
        "{REPORTED_LINE} {reported}\n{TRANSCRIPT_LINE}\n{}",
        lines.join("\n")
    )
}

/// Reads a message written by [`user_message`] back (what a model understands from it; the
/// sandbox uses this).
pub fn parse_user_message(message: &str) -> SummaryRequest {
    let mut request = SummaryRequest {
        transcript: Vec::new(),
        reported_result: None,
    };
    let mut in_transcript = false;
    for line in message.lines() {
        if let Some(reported) = line.strip_prefix(REPORTED_LINE) {
            request.reported_result =
                serde_json::from_value(Value::String(reported.trim().to_owned())).ok();
        } else if line.trim() == TRANSCRIPT_LINE {
            in_transcript = true;
        } else if in_transcript {
            let (role, text) = match line.split_once(':') {
                Some(("agent", text)) => (Speaker::Agent, text),
                Some(("user", text)) => (Speaker::User, text),
                _ => continue,
            };
            request
                .transcript
                .push(TranscriptLine::new(role, text.trim()));
        }
    }
    request
}

/// The follow-up asking the model to fix its previous answer.
pub fn repair_message(problem: &str) -> String {
    format!(
        "Your previous answer could not be used: {problem}\nReply again with the summary as JSON \
         matching the schema."
    )
}

/// Whether a request asks for a summary (rather than a script).
pub fn is_summary_request(request: &ChatRequest) -> bool {
    request
        .response_format
        .json_schema
        .as_ref()
        .is_some_and(|format| format.name == SCHEMA_NAME)
}

/// The request body for a conversation.
pub fn chat_request(model: &str, messages: Vec<ChatMessage>, max_tokens: u32) -> ChatRequest {
    ChatRequest {
        model: model.to_owned(),
        messages,
        response_format: ResponseFormat {
            kind: "json_schema".to_owned(),
            json_schema: Some(JsonSchemaFormat {
                name: SCHEMA_NAME.to_owned(),
                description: Some("A summary of one phone call.".to_owned()),
                strict: Some(true),
                schema: summary_schema(),
            }),
        },
        max_completion_tokens: Some(max_tokens),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script_writer::openai::wire::check_strict_format;

    #[test]
    fn the_summary_schema_keeps_the_strict_rules() {
        let request = chat_request("gpt-4o-mini", vec![], 100);
        assert!(is_summary_request(&request));
        check_strict_format(request.response_format.json_schema.as_ref().unwrap()).unwrap();
    }

    #[test]
    fn the_user_message_round_trips() {
        let request = SummaryRequest {
            transcript: vec![
                TranscriptLine::new(Speaker::Agent, "안녕하세요: 행복치과입니다."),
                TranscriptLine::new(Speaker::User, "네, 맞습니다."),
            ],
            reported_result: Some(CallResult::Rescheduled),
        };
        assert_eq!(parse_user_message(&user_message(&request)), request);
    }

    #[test]
    fn outcomes_map_to_results() {
        let answer = |outcome: &str| SummaryAnswer {
            summary: String::new(),
            outcome: outcome.into(),
            follow_up_needed: false,
        };
        assert_eq!(
            answer("CALLBACK_REQUESTED").result(),
            Some(CallResult::CallbackRequested)
        );
        assert_eq!(answer("UNKNOWN").result(), None);
    }
}
