//! Results of calls (SPEC §5 step 6): the bridge's transcript and the results part of the call
//! detail. The post-call worker (prices, details, summaries, costs) is `workers::post_call`; the
//! budget alert is `commands::budget`.

use chrono::{DateTime, Utc};
use commands::cqrs::load;
use commands::{CommandContext, CommandError, Commands, EventStore};
use domain::call::{Call, CallCommand, Speaker, TranscriptLine, TranscriptSource};
use projections::call_list::CallRow;
use serde_json::{Value, json};
use uuid::Uuid;

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
