//! What a call leaves behind once an attempt is over: its conversation, transcript, summary and
//! costs, per attempt. Prices and provider details arrive late (also after the call is final), so
//! these never change the call's status or result; they are idempotent per attempt.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CallEvent, CallResult, CostComponent};

/// Who said a line of the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    /// The voice agent.
    Agent,
    /// The callee.
    User,
}

impl Speaker {
    /// `agent` or `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::User => "user",
        }
    }
}

/// One line of a call's transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptLine {
    /// Who said it.
    pub role: Speaker,
    /// What was said.
    pub text: String,
    /// Seconds into the conversation, when the source knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_in_call_secs: Option<u32>,
}

impl TranscriptLine {
    /// A line without a time.
    pub fn new(role: Speaker, text: impl Into<String>) -> Self {
        Self {
            role,
            text: text.into(),
            time_in_call_secs: None,
        }
    }
}

/// Whether two transcripts say the same words by the same speakers (times aside).
pub fn same_words(a: &[TranscriptLine], b: &[TranscriptLine]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.role == y.role && x.text.trim() == y.text.trim())
}

/// Where a transcript came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TranscriptSource {
    /// Kept live by the media bridge.
    Bridge,
    /// The voice provider's conversation details (authoritative when they arrive).
    Provider,
}

/// Who wrote a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SummarySource {
    /// A language model.
    Llm,
    /// The offline extractive summarizer (no model, or the model failed).
    Offline,
}

/// What one attempt has left behind so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttemptResults {
    /// Provider call id (Twilio `CallSid`).
    pub provider_call_sid: Option<String>,
    /// Whether the callee answered.
    pub answered: bool,
    /// Whether the attempt is over.
    pub ended: bool,
    /// The voice provider's conversation id.
    pub conversation_id: Option<String>,
    /// The latest transcript.
    pub transcript: Option<Vec<TranscriptLine>>,
    /// Where the latest transcript came from.
    pub transcript_source: Option<TranscriptSource>,
    /// Whether a summary was written.
    pub summarized: bool,
    /// Components whose cost was recorded for this attempt.
    pub costs: Vec<CostComponent>,
}

/// Results of every attempt of a call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallResults {
    attempts: BTreeMap<u32, AttemptResults>,
    current: u32,
    /// The outcome the agent reported during the call (the summary's suggestion never replaces it).
    reported: Option<CallResult>,
}

impl CallResults {
    /// What attempt `attempt` left behind, if it was started.
    pub fn attempt(&self, attempt: u32) -> Option<&AttemptResults> {
        self.attempts.get(&attempt)
    }

    /// Every attempt started, in order.
    pub fn attempts(&self) -> impl Iterator<Item = (u32, &AttemptResults)> {
        self.attempts.iter().map(|(n, a)| (*n, a))
    }

    /// The outcome the agent reported last, if any.
    pub fn reported(&self) -> Option<CallResult> {
        self.reported
    }

    /// The current (or last) attempt number (0 before the first dial).
    pub fn current(&self) -> u32 {
        self.current
    }

    /// Follows the call's events.
    pub(crate) fn apply(&mut self, event: &CallEvent) {
        match event {
            CallEvent::DialRequested { attempt, .. } => {
                self.current = *attempt;
                self.reported = None;
            }
            CallEvent::OutcomeReported { result, .. } => self.reported = Some(*result),
            _ => {}
        }
        let Some(attempt) = self.attempt_of(event) else {
            return;
        };
        let entry = self.attempts.entry(attempt).or_default();
        match event {
            CallEvent::ProviderCallCreated {
                provider_call_sid, ..
            } => entry.provider_call_sid = Some(provider_call_sid.clone()),
            CallEvent::CallAnswered { .. } => entry.answered = true,
            CallEvent::AttemptEnded { end, .. } => {
                entry.ended = true;
                if *end == super::AttemptEnd::Completed {
                    entry.answered = true;
                }
            }
            CallEvent::CallFailed { .. } | CallEvent::CallCompleted { .. } => entry.ended = true,
            CallEvent::ConversationStarted {
                conversation_id, ..
            } => entry.conversation_id = Some(conversation_id.clone()),
            CallEvent::TranscriptRecorded {
                lines,
                source,
                conversation_id,
                ..
            } => {
                entry.transcript = Some(lines.clone());
                entry.transcript_source = Some(*source);
                if conversation_id.is_some() {
                    entry.conversation_id.clone_from(conversation_id);
                }
            }
            CallEvent::SummaryGenerated { .. } => entry.summarized = true,
            CallEvent::AttemptCostRecorded { component, .. }
                if !entry.costs.contains(component) =>
            {
                entry.costs.push(*component);
            }
            _ => {}
        }
    }

    /// The attempt an event leaves something behind for: the one it names, or for the call's
    /// end the current one (none before the first dial).
    fn attempt_of(&self, event: &CallEvent) -> Option<u32> {
        match event {
            CallEvent::DialRequested { attempt, .. }
            | CallEvent::ProviderCallCreated { attempt, .. }
            | CallEvent::CallAnswered { attempt, .. }
            | CallEvent::AttemptEnded { attempt, .. }
            | CallEvent::ConversationStarted { attempt, .. }
            | CallEvent::TranscriptRecorded { attempt, .. }
            | CallEvent::SummaryGenerated { attempt, .. }
            | CallEvent::AttemptCostRecorded { attempt, .. } => Some(*attempt),
            CallEvent::CallFailed { .. } | CallEvent::CallCompleted { .. } => {
                (self.current > 0).then_some(self.current)
            }
            _ => None,
        }
    }
}

impl CallResults {
    /// The event a results command records, `None` when it repeats what is known, or why it is
    /// refused. Only the four results commands come here.
    pub(crate) fn decide(
        &self,
        status: Option<super::CallStatus>,
        command: super::CallCommand,
    ) -> Result<Option<CallEvent>, super::CallError> {
        use super::{CallCommand, CallError, CallStatus};
        let status = status.ok_or(CallError::NotFound)?;
        let started = |attempt: u32| {
            self.attempts
                .get(&attempt)
                .filter(|_| attempt >= 1 && attempt <= self.current)
                .ok_or(CallError::UnknownAttempt { attempt })
        };
        match command {
            CallCommand::RecordConversation {
                conversation_id,
                at,
            } => {
                if !matches!(status, CallStatus::Calling | CallStatus::InProgress) {
                    return Err(CallError::InvalidTransition {
                        status,
                        command: "RecordConversation",
                    });
                }
                let attempt = self.current;
                let known = started(attempt)?;
                if known.conversation_id.as_deref() == Some(conversation_id.as_str()) {
                    return Ok(None);
                }
                Ok(Some(CallEvent::ConversationStarted {
                    attempt,
                    conversation_id,
                    started_at: at,
                }))
            }
            CallCommand::RecordTranscript {
                attempt,
                lines,
                source,
                conversation_id,
                at,
            } => {
                let known = started(attempt)?;
                let unchanged = match &known.transcript {
                    Some(existing) => same_words(existing, &lines),
                    None => lines.is_empty(),
                };
                // The provider's transcript wins over the bridge's, never the other way round.
                let late_bridge = source == TranscriptSource::Bridge
                    && known.transcript_source == Some(TranscriptSource::Provider);
                if unchanged || late_bridge {
                    return Ok(None);
                }
                Ok(Some(CallEvent::TranscriptRecorded {
                    attempt,
                    lines,
                    source,
                    conversation_id,
                    recorded_at: at,
                }))
            }
            CallCommand::RecordSummary {
                attempt,
                summary,
                suggested_result,
                follow_up_needed,
                source,
                at,
            } => {
                let known = started(attempt)?;
                if !known.answered {
                    return Err(CallError::NotAnswered { attempt });
                }
                if known.summarized {
                    return Ok(None);
                }
                Ok(Some(CallEvent::SummaryGenerated {
                    attempt,
                    summary,
                    suggested_result,
                    follow_up_needed,
                    source,
                    generated_at: at,
                }))
            }
            CallCommand::RecordAttemptCost {
                attempt,
                component,
                amount_micros,
                at,
            } => {
                if amount_micros < 0 {
                    return Err(CallError::NegativeCost);
                }
                let known = started(attempt)?;
                if known.costs.contains(&component) {
                    return Ok(None);
                }
                Ok(Some(CallEvent::AttemptCostRecorded {
                    attempt,
                    component,
                    amount_micros,
                    recorded_at: at,
                }))
            }
            _ => Ok(None),
        }
    }
}
