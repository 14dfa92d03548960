//! Results of calls (SPEC §5 step 6): the bridge's transcript, the post-call worker (Twilio
//! price, ElevenLabs conversation details, the summary, costs), the budget alert, and the
//! results part of the call detail.

use chrono::{DateTime, Utc};
use commands::cqrs::load;
use commands::{CommandContext, CommandError, Commands, EventStore};
use domain::call::{Call, CallCommand, Speaker, TranscriptLine, TranscriptSource};
use projections::call_list::CallRow;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::ConfigError;

pub mod worker;

pub use worker::PostCallWorker;

/// What providers charge, for the costs they do not report themselves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// `ELEVENLABS_RATE_PER_MINUTE`: US dollars per conversation minute when the details carry
    /// no `cost_fiat` (default 0.10).
    pub elevenlabs_per_minute: f64,
    /// `OPENAI_INPUT_RATE`: US dollars per 1M prompt tokens (default 0.15, gpt-4o-mini).
    pub openai_input_per_million: f64,
    /// `OPENAI_OUTPUT_RATE`: US dollars per 1M completion tokens (default 0.60, gpt-4o-mini).
    pub openai_output_per_million: f64,
}

impl Default for Rates {
    fn default() -> Self {
        Self {
            elevenlabs_per_minute: 0.10,
            openai_input_per_million: 0.15,
            openai_output_per_million: 0.60,
        }
    }
}

impl Rates {
    /// Reads the rates from the environment, defaults for those not set.
    pub fn from_lookup(var: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let rate = |name: &'static str, default: f64| -> Result<f64, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(text) => match text.trim().parse::<f64>() {
                    Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
                    _ => Err(ConfigError::Invalid {
                        name,
                        reason: "must be a non-negative number of US dollars".into(),
                    }),
                },
            }
        };
        let defaults = Self::default();
        Ok(Self {
            elevenlabs_per_minute: rate(
                "ELEVENLABS_RATE_PER_MINUTE",
                defaults.elevenlabs_per_minute,
            )?,
            openai_input_per_million: rate("OPENAI_INPUT_RATE", defaults.openai_input_per_million)?,
            openai_output_per_million: rate(
                "OPENAI_OUTPUT_RATE",
                defaults.openai_output_per_million,
            )?,
        })
    }

    /// The price of a model call in micro-dollars.
    pub fn llm_micros(&self, prompt_tokens: u32, completion_tokens: u32) -> i64 {
        let dollars = f64::from(prompt_tokens) * self.openai_input_per_million / 1_000_000.0
            + f64::from(completion_tokens) * self.openai_output_per_million / 1_000_000.0;
        (dollars * 1_000_000.0).round() as i64
    }
}

/// Records the transcript the bridge kept for the call's current attempt (nothing when it is
/// empty or says what is already recorded).
pub async fn record_bridge_transcript(
    store: &EventStore,
    calls: &Commands<Call>,
    at: DateTime<Utc>,
    call_id: Uuid,
    transcript: &[media_bridge::bridge::TranscriptLine],
) -> Result<(), String> {
    if transcript.is_empty() {
        return Ok(());
    }
    let call = load::<Call>(store, &call_id.to_string())
        .await
        .map_err(|e| e.to_string())?
        .ok_or("unknown call")?;
    let attempt = call.results().current();
    let conversation_id = call
        .results()
        .attempt(attempt)
        .and_then(|a| a.conversation_id.clone());
    let lines = transcript
        .iter()
        .map(|line| {
            let role = if line.role == "agent" {
                Speaker::Agent
            } else {
                Speaker::User
            };
            TranscriptLine::new(role, line.text.clone())
        })
        .collect();
    let command = CallCommand::RecordTranscript {
        attempt,
        lines,
        source: TranscriptSource::Bridge,
        conversation_id,
        at,
    };
    match calls
        .execute(
            &call_id.to_string(),
            command,
            &CommandContext::new("media-bridge"),
        )
        .await
    {
        Ok(()) => Ok(()),
        Err(CommandError::Rejected(error)) => Err(error.to_string()),
        Err(other) => Err(other.to_string()),
    }
}

fn dollars(micros: i64) -> f64 {
    micros as f64 / 1_000_000.0
}

/// The results fields of `GET /calls/{id}`, added to the call's JSON object.
pub fn add_detail(body: &mut Value, row: &CallRow) {
    let Some(object) = body.as_object_mut() else {
        return;
    };
    let transcript = row.transcript.as_ref().map(|lines| {
        lines
            .iter()
            .map(|line| {
                json!({
                    "role": line.role.as_str(),
                    "text": line.text,
                    "timeInCallSecs": line.time_in_call_secs,
                })
            })
            .collect::<Vec<_>>()
    });
    let extra = json!({
        "transcript": transcript,
        "transcriptSource": row.transcript_source,
        "conversationId": row.conversation_id,
        "summary": row.summary,
        "suggestedResult": row.suggested_result,
        "followUpNeeded": row.follow_up_needed,
        "summarySource": row.summary_source,
        "costBreakdown": {
            "telephony": dollars(row.cost_telephony_micros),
            "voice": dollars(row.cost_voice_micros),
            "llm": dollars(row.cost_llm_micros),
            "total": dollars(row.cost_micros),
            "currency": "USD",
        },
    });
    if let Value::Object(extra) = extra {
        object.extend(extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_default_and_refuse_nonsense() {
        let none = |_: &str| None;
        assert_eq!(Rates::from_lookup(&none).unwrap(), Rates::default());
        let set = |name: &str| (name == "OPENAI_INPUT_RATE").then(|| "2.5".to_owned());
        assert_eq!(
            Rates::from_lookup(&set).unwrap().openai_input_per_million,
            2.5
        );
        let bad = |name: &str| (name == "ELEVENLABS_RATE_PER_MINUTE").then(|| "-1".to_owned());
        let error = Rates::from_lookup(&bad).unwrap_err().to_string();
        assert!(error.contains("ELEVENLABS_RATE_PER_MINUTE"), "{error}");
    }

    #[test]
    fn tokens_are_priced_per_million() {
        let rates = Rates::default();
        // 1,000 prompt tokens at $0.15/M + 500 completion tokens at $0.60/M = $0.00045.
        assert_eq!(rates.llm_micros(1_000, 500), 450);
    }
}
