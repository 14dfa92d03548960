//! The call summary over Chat Completions: the strict schema of the answer, the prompt, and the
//! user message that carries the transcript (a [`SummaryBrief`]; the summarizer converts its own
//! request).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::chat::{ChatMessage, ChatRequest, JsonSchemaFormat};

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

/// One line of the transcript as the message carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpokenLine {
    /// `agent` or `user`.
    pub speaker: String,
    pub text: String,
}

/// What the user message says about the call to summarize.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SummaryBrief {
    /// The outcome the agent reported (one of [`OUTCOMES`]), if any.
    pub reported_outcome: Option<String>,
    pub transcript: Vec<SpokenLine>,
}

impl SummaryBrief {
    /// The user message: the reported outcome and the transcript, one line per turn.
    pub fn to_message(&self) -> String {
        let reported = self.reported_outcome.as_deref().unwrap_or("none");
        let lines: Vec<String> = self
            .transcript
            .iter()
            .map(|line| format!("{}: {}", line.speaker, line.text.replace('\n', " ")))
            .collect();
        format!(
            "{REPORTED_LINE} {reported}\n{TRANSCRIPT_LINE}\n{}",
            lines.join("\n")
        )
    }

    /// Reads a message written by [`Self::to_message`] back (what a model understands from it;
    /// the sandbox uses this). Lines of speakers other than `agent` and `user` are skipped.
    pub fn from_message(message: &str) -> Self {
        let mut brief = Self::default();
        let mut in_transcript = false;
        for line in message.lines() {
            if let Some(reported) = line.strip_prefix(REPORTED_LINE) {
                let reported = reported.trim();
                brief.reported_outcome = (reported != "none").then(|| reported.to_owned());
            } else if line.trim() == TRANSCRIPT_LINE {
                in_transcript = true;
            } else if in_transcript {
                let Some((speaker @ ("agent" | "user"), text)) = line.split_once(':') else {
                    continue;
                };
                brief.transcript.push(SpokenLine {
                    speaker: speaker.to_owned(),
                    text: text.trim().to_owned(),
                });
            }
        }
        brief
    }
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
    let description = "A summary of one phone call.";
    let format = JsonSchemaFormat::strict(SCHEMA_NAME, description, summary_schema());
    ChatRequest::structured(model, messages, max_tokens, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_request_is_told_from_a_script_request() {
        assert!(is_summary_request(&chat_request(
            "gpt-4o-mini",
            vec![],
            100
        )));
        let script = crate::openai::script::chat_request("gpt-4o-mini", vec![], 100);
        assert!(!is_summary_request(&script));
    }

    #[test]
    fn the_brief_round_trips_through_the_message() {
        let brief = SummaryBrief {
            reported_outcome: Some("RESCHEDULED".into()),
            transcript: vec![
                SpokenLine {
                    speaker: "agent".into(),
                    text: "안녕하세요: 행복치과입니다.".into(),
                },
                SpokenLine {
                    speaker: "user".into(),
                    text: "네, 맞습니다.".into(),
                },
            ],
        };
        assert_eq!(SummaryBrief::from_message(&brief.to_message()), brief);
        assert_eq!(
            SummaryBrief::from_message("Reported outcome: none\nTranscript:\n"),
            SummaryBrief::default()
        );
    }
}
