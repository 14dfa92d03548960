//! The summarizer's request on the wire: a [`SummaryRequest`] as the user message (the
//! `protocols::openai::summary` brief) and back, and the model's outcome as a [`CallResult`]. The
//! schema, prompt and answer type live in `protocols`; this is the conversion at the edge.

use domain::call::{CallResult, Speaker, TranscriptLine};
use protocols::openai::summary::{SpokenLine, SummaryAnswer, SummaryBrief};
use serde_json::Value;

use super::SummaryRequest;

/// The brief a request becomes.
pub fn brief(request: &SummaryRequest) -> SummaryBrief {
    SummaryBrief {
        reported_outcome: request
            .reported_result
            .map(|result| result.as_str().to_owned()),
        transcript: request
            .transcript
            .iter()
            .map(|line| SpokenLine {
                speaker: line.role.as_str().to_owned(),
                text: line.text.clone(),
            })
            .collect(),
    }
}

/// The request a brief carries (an outcome that is no [`CallResult`] is dropped).
pub fn request_from(brief: &SummaryBrief) -> SummaryRequest {
    SummaryRequest {
        reported_result: brief
            .reported_outcome
            .as_deref()
            .and_then(|outcome| serde_json::from_value(Value::String(outcome.to_owned())).ok()),
        transcript: brief
            .transcript
            .iter()
            .filter_map(|line| {
                let role = match line.speaker.as_str() {
                    "agent" => Speaker::Agent,
                    "user" => Speaker::User,
                    _ => return None,
                };
                Some(TranscriptLine::new(role, line.text.clone()))
            })
            .collect(),
    }
}

/// The user message for a request.
pub fn user_message(request: &SummaryRequest) -> String {
    brief(request).to_message()
}

/// Reads a message written by [`user_message`] back.
pub fn parse_user_message(message: &str) -> SummaryRequest {
    request_from(&SummaryBrief::from_message(message))
}

/// The answer's outcome as a result (`UNKNOWN` and anything else unknown → `None`).
pub fn outcome(answer: &SummaryAnswer) -> Option<CallResult> {
    serde_json::from_value(Value::String(answer.outcome.clone())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            outcome(&answer("CALLBACK_REQUESTED")),
            Some(CallResult::CallbackRequested)
        );
        assert_eq!(outcome(&answer("UNKNOWN")), None);
    }
}
