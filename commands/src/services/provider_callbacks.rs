//! What Twilio's webhooks mean for a Call: the use cases behind `/twilio/{voice,status,amd,
//! recording}/{callId}`. The HTTP edge checks the signature and parses the form; these decide.
//!
//! Callbacks arrive late, twice and out of order. A callback for another attempt than the
//! call's current one is ignored; one that overtakes the create response (no provider call
//! recorded yet) is matched by the attempt number signed into its URL, and the sid is recorded
//! first. Refusals by the aggregate (a repeated or settled callback) are expected and only
//! logged.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use domain::call::{AttemptEnd, Call, CallCommand, CallStatus as DomainStatus, RecordingCommand};
use domain::policy::VoicemailAction;
use protocols::twilio::{AmdCallback, CallStatus, RecordingCallback, StatusCallback};
use uuid::Uuid;

use super::ServiceContext;
use crate::cqrs::{load, load_terms};
use crate::{CommandContext, CommandError};

/// Why a callback could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// No such call (or its campaign is gone).
    #[error("unknown call")]
    UnknownCall,
    /// The store failed; the webhook answers 5xx so that Twilio may retry.
    #[error("event store: {0}")]
    Store(String),
}

type Result<T, E = CallbackError> = std::result::Result<T, E>;

/// What the voice webhook answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceAnswer {
    /// The call is live on this attempt: play the notice and connect the media stream.
    Connect,
    /// The call is not live (or the request is for another attempt): hang up.
    HangUp,
}

/// Handles a callback again, a bounded number of times, when the store failed: a database blip
/// must not cost a callback. If it still fails the webhook answers 5xx, and Twilio delivers it
/// again (the connection overrides on our URLs); the reconciler is the last backstop. Every
/// handler is idempotent, so running one twice is safe.
async fn retrying<T, F, Fut>(handle: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let policy = ExponentialBuilder::default()
        .with_min_delay(STORE_RETRY_DELAY)
        .with_jitter()
        .with_max_times(STORE_RETRIES);
    handle
        .retry(policy)
        .when(|error| matches!(error, CallbackError::Store(_)))
        .notify(
            |error, delay| tracing::warn!(%error, ?delay, "callback hit a store error; retrying"),
        )
        .await
}

/// Retries of a callback after a store error, and the first pause (doubling, with jitter).
const STORE_RETRIES: usize = 3;
const STORE_RETRY_DELAY: Duration = Duration::from_millis(50);

/// Twilio asks what to do with an answered call.
pub async fn voice(
    ctx: &ServiceContext,
    call_id: Uuid,
    call_sid: &str,
    attempt: Option<u32>,
) -> Result<VoiceAnswer> {
    retrying(|| voice_once(ctx, call_id, call_sid, attempt)).await
}

async fn voice_once(
    ctx: &ServiceContext,
    call_id: Uuid,
    call_sid: &str,
    attempt: Option<u32>,
) -> Result<VoiceAnswer> {
    let call = load_call(ctx, call_id).await?;
    if !is_live(&call) || !is_current_attempt(ctx, call_id, &call, call_sid, attempt).await? {
        tracing::info!(%call_id, "voice request for a call that is not live; hanging up");
        return Ok(VoiceAnswer::HangUp);
    }
    Ok(VoiceAnswer::Connect)
}

/// Call progress: answered, or the attempt's end. `is_stale` says whether this callback is
/// older than one already handled (asked only for the current attempt's callbacks).
pub async fn status(
    ctx: &ServiceContext,
    call_id: Uuid,
    callback: &StatusCallback,
    attempt: Option<u32>,
    is_stale: impl Fn(&StatusCallback) -> bool,
) -> Result<()> {
    retrying(|| status_once(ctx, call_id, callback, attempt, &is_stale)).await
}

async fn status_once(
    ctx: &ServiceContext,
    call_id: Uuid,
    callback: &StatusCallback,
    attempt: Option<u32>,
    is_stale: &impl Fn(&StatusCallback) -> bool,
) -> Result<()> {
    let call = load_call(ctx, call_id).await?;
    if !is_current_attempt(ctx, call_id, &call, &callback.call_sid, attempt).await? {
        tracing::info!(%call_id, status = callback.call_status.as_str(), "callback for another attempt ignored");
        return Ok(());
    }
    if is_stale(callback) {
        tracing::debug!(%call_id, "stale status callback ignored");
        return Ok(());
    }
    let at = ctx.clock.now();
    if callback.call_status == CallStatus::InProgress {
        run(ctx, call_id, CallCommand::RecordAnswered { at }).await?;
    } else if let Some(end) = attempt_end(callback) {
        let command = CallCommand::RecordAttemptEnded {
            end,
            duration_secs: callback.call_duration.unwrap_or(0),
            at,
        };
        run(ctx, call_id, command).await?;
    }
    Ok(())
}

/// The answering-machine verdict: a machine ends the attempt as voicemail under the campaign's
/// policy (the voicemail worker carries the policy out at Twilio).
pub async fn answering_machine(
    ctx: &ServiceContext,
    call_id: Uuid,
    verdict: &AmdCallback,
    attempt: Option<u32>,
) -> Result<()> {
    retrying(|| answering_machine_once(ctx, call_id, verdict, attempt)).await
}

async fn answering_machine_once(
    ctx: &ServiceContext,
    call_id: Uuid,
    verdict: &AmdCallback,
    attempt: Option<u32>,
) -> Result<()> {
    let call = load_call(ctx, call_id).await?;
    if !verdict.is_machine()
        || !is_current_attempt(ctx, call_id, &call, &verdict.call_sid, attempt).await?
        || !is_live(&call)
    {
        return Ok(());
    }
    let policy = load_terms(&ctx.store, &call.campaign_id().to_string())
        .await
        .map_err(|e| CallbackError::Store(e.to_string()))?
        .ok_or(CallbackError::UnknownCall)?
        .settings
        .voicemail;
    let at = ctx.clock.now();
    // The verdict can overtake the answered callback; a machine picked up either way.
    run(ctx, call_id, CallCommand::RecordAnswered { at }).await?;
    let leave = policy.action == VoicemailAction::LeaveMessage;
    let note = format!(
        "answered by {}; {}",
        verdict.answered_by,
        if leave { "message left" } else { "hung up" }
    );
    // `retry_on_voicemail`: the attempt then ends like an unanswered one (SPEC §4).
    let report = CallCommand::RecordVoicemail {
        retry: policy.retry,
        note: Some(note),
        at,
    };
    run(ctx, call_id, report).await
}

/// Recording status: a finished recording is recorded as available for the recordings worker.
pub async fn recording(
    ctx: &ServiceContext,
    call_id: Uuid,
    report: &RecordingCallback,
    attempt: Option<u32>,
) -> Result<()> {
    retrying(|| recording_once(ctx, call_id, report, attempt)).await
}

async fn recording_once(
    ctx: &ServiceContext,
    call_id: Uuid,
    report: &RecordingCallback,
    attempt: Option<u32>,
) -> Result<()> {
    let call = load_call(ctx, call_id).await?;
    if !is_current_attempt(ctx, call_id, &call, &report.call_sid, attempt).await? {
        return Ok(());
    }
    tracing::info!(
        %call_id,
        recording = %report.recording_sid,
        status = %report.recording_status,
        duration = report.recording_duration,
        "recording status"
    );
    if report.recording_status == "completed" {
        let command = CallCommand::Recording(RecordingCommand::RecordAvailable {
            recording_sid: report.recording_sid.clone(),
            duration_secs: report.recording_duration,
            at: ctx.clock.now(),
        });
        run(ctx, call_id, command).await?;
    }
    Ok(())
}

fn is_live(call: &Call) -> bool {
    matches!(
        call.status(),
        Some(DomainStatus::Calling | DomainStatus::InProgress)
    )
}

async fn load_call(ctx: &ServiceContext, call_id: Uuid) -> Result<Call> {
    load::<Call>(&ctx.store, &call_id.to_string())
        .await
        .map_err(|e| CallbackError::Store(e.to_string()))?
        .ok_or(CallbackError::UnknownCall)
}

/// Runs a call command; refusals are expected for late or repeated webhooks and only logged.
async fn run(ctx: &ServiceContext, call_id: Uuid, command: CallCommand) -> Result<()> {
    let context = CommandContext::new("twilio");
    match ctx
        .calls
        .execute(&call_id.to_string(), command, &context)
        .await
    {
        Ok(()) => Ok(()),
        Err(CommandError::Rejected(error)) => {
            tracing::debug!(%call_id, %error, "webhook had no effect on the call");
            Ok(())
        }
        Err(other) => Err(CallbackError::Store(other.to_string())),
    }
}

/// Whether `call_sid` is the call's current attempt. A callback that overtakes the create
/// response finds no sid recorded yet; the attempt number in its URL then identifies it, and
/// the sid is recorded first.
async fn is_current_attempt(
    ctx: &ServiceContext,
    call_id: Uuid,
    call: &Call,
    call_sid: &str,
    attempt: Option<u32>,
) -> Result<bool> {
    if let Some(recorded) = call.provider_call_sid() {
        return Ok(recorded == call_sid);
    }
    if !is_live(call) || attempt != Some(call.attempts()) {
        return Ok(false);
    }
    let command = CallCommand::RecordProviderCall {
        provider_call_sid: call_sid.to_owned(),
        at: ctx.clock.now(),
    };
    run(ctx, call_id, command).await?;
    Ok(true)
}

/// How a terminal `CallStatus` ends the attempt.
fn attempt_end(callback: &StatusCallback) -> Option<AttemptEnd> {
    Some(match callback.call_status {
        CallStatus::Completed => AttemptEnd::Completed,
        CallStatus::NoAnswer => AttemptEnd::NoAnswer,
        CallStatus::Busy => AttemptEnd::Busy,
        CallStatus::Canceled => AttemptEnd::Canceled,
        CallStatus::Failed => {
            let code = callback
                .error_code
                .clone()
                .or_else(|| callback.sip_response_code.map(|c| format!("sip-{c}")));
            // A number that does not exist will not start existing; anything else may pass.
            let retryable = !matches!(callback.sip_response_code, Some(404 | 484 | 604));
            AttemptEnd::Failed { code, retryable }
        }
        CallStatus::Queued
        | CallStatus::Initiated
        | CallStatus::Ringing
        | CallStatus::InProgress => return None,
    })
}
