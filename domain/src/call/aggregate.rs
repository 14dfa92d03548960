//! The [`Call`] aggregate.

use crate::aggregate::{Decided, Sink};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    AttemptEnd, CallCommand, CallError, CallEvent, CallResult, CallResults, CallStatus,
    CancelReason, RecordingState,
};
use crate::PhoneNumber;
use crate::policy::RetryPolicy;

/// One contact's call within a campaign, across all of its attempts.
///
/// Provider webhooks arrive more than once and out of order, so reports about an attempt that
/// already ended are accepted without effect rather than refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// `None` until created.
    status: Option<CallStatus>,
    campaign_id: Uuid,
    owner_id: Uuid,
    phone: Option<PhoneNumber>,
    contact_name: Option<String>,
    context: Map<String, Value>,
    retry: RetryPolicy,
    /// Attempts started so far; the current one when dialing.
    attempts: u32,
    retry_at: Option<DateTime<Utc>>,
    provider_call_sid: Option<String>,
    answered: bool,
    outcome: Option<CallResult>,
    result: Option<CallResult>,
    /// Costs recorded so far, in millionths of a US dollar.
    cost_micros: i64,
    /// Recording consent and the recording's stage.
    #[serde(default)]
    recording: RecordingState,
    /// Conversations, transcripts, summaries and costs per attempt.
    #[serde(default)]
    results: CallResults,
    /// The current attempt reached voicemail and the policy says to try again.
    #[serde(default)]
    retry_voicemail: bool,
}

aggregate!(Call, type "call", CallCommand, CallEvent, CallError);

impl Call {
    /// The current status, or `None` before creation.
    pub fn status(&self) -> Option<CallStatus> {
        self.status
    }

    /// The campaign the call belongs to.
    pub fn campaign_id(&self) -> Uuid {
        self.campaign_id
    }

    /// The account that owns the call's campaign.
    pub fn owner_id(&self) -> Uuid {
        self.owner_id
    }

    /// The number to dial (`None` before creation).
    pub fn phone(&self) -> Option<&PhoneNumber> {
        self.phone.as_ref()
    }

    /// The name to address the callee by.
    pub fn contact_name(&self) -> Option<&str> {
        self.contact_name.as_deref()
    }

    /// Script variables for this contact.
    pub fn context(&self) -> &Map<String, Value> {
        &self.context
    }

    /// Attempts started so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// When the next attempt may start, while waiting for a retry.
    pub fn retry_at(&self) -> Option<DateTime<Utc>> {
        self.retry_at
    }

    /// The provider call id of the current (or last) attempt.
    pub fn provider_call_sid(&self) -> Option<&str> {
        self.provider_call_sid.as_deref()
    }

    /// Costs recorded so far, in millionths of a US dollar.
    pub fn cost_micros(&self) -> i64 {
        self.cost_micros
    }

    /// Recording consent and the recording's stage.
    pub fn recording(&self) -> &RecordingState {
        &self.recording
    }

    /// Conversations, transcripts, summaries and costs per attempt.
    pub fn results(&self) -> &CallResults {
        &self.results
    }

    /// The final result of a completed call.
    pub fn result(&self) -> Option<CallResult> {
        self.result
    }

    fn current_status(&self) -> Result<CallStatus, CallError> {
        self.status.ok_or(CallError::NotFound)
    }

    /// The event that closes an attempt that was not answered.
    fn after_unanswered(&self, end: AttemptEnd, at: DateTime<Utc>) -> CallEvent {
        let retryable = match &end {
            AttemptEnd::NoAnswer | AttemptEnd::Busy => true,
            AttemptEnd::Failed { retryable, .. } => *retryable,
            AttemptEnd::Completed | AttemptEnd::Canceled => false,
        };
        // Retries used so far are `attempts - 1`, so the next one is number `attempts`.
        let retry_number = self.attempts;
        if retryable && let Some(delay) = self.retry.delay_before_retry(retry_number) {
            return CallEvent::RetryScheduled {
                retry_at: at + delay,
                retry_number,
            };
        }
        match end {
            AttemptEnd::NoAnswer | AttemptEnd::Busy => CallEvent::CallFinishedNoAnswer {
                attempts: self.attempts,
                finished_at: at,
            },
            AttemptEnd::Failed { code, .. } => CallEvent::CallFailed {
                reason: match code {
                    Some(code) => format!("provider failure (code {code})"),
                    None => "provider failure".to_owned(),
                },
                failed_at: at,
            },
            AttemptEnd::Completed | AttemptEnd::Canceled => CallEvent::CallCancelled {
                cancelled_at: at,
                reason: Some(CancelReason::Provider),
            },
        }
    }
}

impl Call {
    /// Checks `cmd` against the rules and writes the events it causes.
    async fn decide(&mut self, cmd: CallCommand, sink: &Sink<Self>) -> Decided<CallError> {
        use CallStatus::*;

        match cmd {
            CallCommand::CreateCall {
                campaign_id,
                owner_id,
                phone,
                contact_name,
                context,
                retry,
                at,
            } => {
                if self.status.is_some() {
                    return Err(CallError::AlreadyExists);
                }
                sink.write(
                    CallEvent::CallCreated {
                        campaign_id,
                        owner_id,
                        phone,
                        contact_name,
                        context,
                        retry,
                        created_at: at,
                    },
                    self,
                )
                .await;
            }
            CallCommand::RequestDial { at } => {
                let status = self.current_status()?;
                if status != Pending {
                    return Err(CallError::InvalidTransition {
                        status,
                        command: "RequestDial",
                    });
                }
                if let Some(retry_at) = self.retry_at
                    && at < retry_at
                {
                    return Err(CallError::RetryNotDue { retry_at });
                }
                sink.write(
                    CallEvent::DialRequested {
                        attempt: self.attempts + 1,
                        requested_at: at,
                    },
                    self,
                )
                .await;
            }
            CallCommand::RecordProviderCall {
                provider_call_sid,
                at,
            } => {
                let status = self.current_status()?;
                if self.provider_call_sid.as_deref() == Some(provider_call_sid.as_str()) {
                    return Ok(());
                }
                // The answered callback may overtake the provider's create response.
                if !matches!(status, Calling | InProgress) {
                    return Err(CallError::InvalidTransition {
                        status,
                        command: "RecordProviderCall",
                    });
                }
                if let Some(recorded) = &self.provider_call_sid {
                    return Err(CallError::ProviderCallMismatch {
                        recorded: recorded.clone(),
                    });
                }
                sink.write(
                    CallEvent::ProviderCallCreated {
                        attempt: self.attempts,
                        provider_call_sid,
                        created_at: at,
                    },
                    self,
                )
                .await;
            }
            CallCommand::RecordAnswered { at } => match self.current_status()? {
                Calling => {
                    sink.write(
                        CallEvent::CallAnswered {
                            attempt: self.attempts,
                            answered_at: at,
                        },
                        self,
                    )
                    .await;
                }
                // Repeated, or late after the end: nothing new.
                InProgress | Completed | Failed | NoAnswer | Cancelled => {}
                status @ Pending => {
                    return Err(CallError::InvalidTransition {
                        status,
                        command: "RecordAnswered",
                    });
                }
            },
            CallCommand::ReportOutcome {
                result,
                note,
                proposed_time,
                at,
            } => {
                let status = self.current_status()?;
                if status != InProgress {
                    return Err(CallError::InvalidTransition {
                        status,
                        command: "ReportOutcome",
                    });
                }
                sink.write(
                    CallEvent::OutcomeReported {
                        attempt: self.attempts,
                        result,
                        note,
                        proposed_time,
                        reported_at: at,
                    },
                    self,
                )
                .await;
            }
            CallCommand::RecordAttemptEnded {
                end,
                duration_secs,
                at,
            } => {
                let status = self.current_status()?;
                match status {
                    Calling | InProgress => {}
                    // The end of an attempt already closed (webhooks repeat).
                    _ if status.is_final() => return Ok(()),
                    Pending if self.attempts > 0 => return Ok(()),
                    _ => {
                        return Err(CallError::InvalidTransition {
                            status,
                            command: "RecordAttemptEnded",
                        });
                    }
                }
                // A `Completed` end means it was answered even if that callback never came.
                let answered = self.answered || end == AttemptEnd::Completed;
                // A machine answered and the policy retries voicemail: like no answer, except
                // that a call out of retries ends as the voicemail it reached.
                let voicemail_retry =
                    answered && self.retry_voicemail && self.outcome == Some(CallResult::Voicemail);
                sink.write(
                    CallEvent::AttemptEnded {
                        attempt: self.attempts,
                        end: end.clone(),
                        duration_secs,
                        ended_at: at,
                    },
                    self,
                )
                .await;
                let retry_delay = self.retry.delay_before_retry(self.attempts);
                let next = if let (true, Some(delay)) = (voicemail_retry, retry_delay) {
                    CallEvent::RetryScheduled {
                        retry_at: at + delay,
                        retry_number: self.attempts,
                    }
                } else if answered {
                    CallEvent::CallCompleted {
                        result: self.outcome.unwrap_or(CallResult::Declined),
                        duration_secs,
                        completed_at: at,
                    }
                } else {
                    self.after_unanswered(end, at)
                };
                sink.write(next, self).await;
            }
            CallCommand::FailCall { reason, at } => {
                let status = self.current_status()?;
                if !matches!(status, Calling | InProgress) {
                    return Err(CallError::InvalidTransition {
                        status,
                        command: "FailCall",
                    });
                }
                sink.write(
                    CallEvent::CallFailed {
                        reason,
                        failed_at: at,
                    },
                    self,
                )
                .await;
            }
            CallCommand::CancelCall { reason, at } => {
                let status = self.current_status()?;
                if status != Pending {
                    return Err(CallError::NotCancellable { status });
                }
                let event = CallEvent::CallCancelled {
                    cancelled_at: at,
                    reason: Some(reason),
                };
                sink.write(event, self).await;
            }
            CallCommand::RecordCost {
                component,
                amount_micros,
                at,
            } => {
                self.current_status()?;
                let event = CallEvent::CostRecorded {
                    component,
                    amount_micros,
                    recorded_at: at,
                };
                sink.write(event, self).await;
            }
            CallCommand::Recording(command) => {
                let status = self.current_status()?;
                if let Some(event) = self.recording.decide(status, command)? {
                    sink.write(event, self).await;
                }
            }
            command @ (CallCommand::RecordConversation { .. }
            | CallCommand::RecordTranscript { .. }
            | CallCommand::RecordSummary { .. }
            | CallCommand::RecordAttemptCost { .. }) => {
                if let Some(event) = self.results.decide(self.status, command)? {
                    sink.write(event, self).await;
                }
            }
            CallCommand::RecordConversationEnded {
                reason,
                close_code,
                detail,
                at,
            } => {
                // Reported after the call may already be final (the status callback won).
                self.current_status()?;
                if self.attempts == 0 {
                    return Err(CallError::InvalidTransition {
                        status: Pending,
                        command: "RecordConversationEnded",
                    });
                }
                let event = CallEvent::ConversationEnded {
                    attempt: self.attempts,
                    reason,
                    close_code,
                    detail,
                    ended_at: at,
                };
                sink.write(event, self).await;
            }
            CallCommand::RecordVoicemail { retry, note, at } => {
                let status = self.current_status()?;
                if status != InProgress {
                    return Err(CallError::InvalidTransition {
                        status,
                        command: "RecordVoicemail",
                    });
                }
                let event = CallEvent::VoicemailReached {
                    attempt: self.attempts,
                    retry,
                    note,
                    reached_at: at,
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    /// Applies one recorded event; it cannot fail.
    fn evolve(&mut self, event: CallEvent) {
        self.results.apply(&event);
        match event {
            CallEvent::CallCreated {
                campaign_id,
                owner_id,
                phone,
                contact_name,
                context,
                retry,
                ..
            } => {
                self.status = Some(CallStatus::Pending);
                self.campaign_id = campaign_id;
                self.owner_id = owner_id;
                self.phone = Some(phone);
                self.contact_name = contact_name;
                self.context = context;
                self.retry = retry;
            }
            CallEvent::DialRequested { attempt, .. } => {
                self.status = Some(CallStatus::Calling);
                self.attempts = attempt;
                self.retry_at = None;
                self.provider_call_sid = None;
                self.answered = false;
                self.outcome = None;
                self.retry_voicemail = false;
            }
            CallEvent::ProviderCallCreated {
                provider_call_sid, ..
            } => self.provider_call_sid = Some(provider_call_sid),
            CallEvent::CallAnswered { .. } => {
                self.status = Some(CallStatus::InProgress);
                self.answered = true;
            }
            CallEvent::OutcomeReported { result, .. } => self.outcome = Some(result),
            CallEvent::AttemptEnded { .. } => {}
            CallEvent::CallCompleted { result, .. } => {
                self.status = Some(CallStatus::Completed);
                self.result = Some(result);
            }
            CallEvent::RetryScheduled { retry_at, .. } => {
                self.status = Some(CallStatus::Pending);
                self.retry_at = Some(retry_at);
            }
            CallEvent::CallFinishedNoAnswer { .. } => self.status = Some(CallStatus::NoAnswer),
            CallEvent::CallFailed { .. } => self.status = Some(CallStatus::Failed),
            CallEvent::CallCancelled { .. } => self.status = Some(CallStatus::Cancelled),
            event @ (CallEvent::RecordingConsentGiven { .. }
            | CallEvent::RecordingConsentRevoked { .. }
            | CallEvent::RecordingAvailable { .. }
            | CallEvent::RecordingStored { .. }
            | CallEvent::RecordingDiscarded { .. }
            | CallEvent::RecordingPurged { .. }) => self.recording.apply(&event),
            CallEvent::CostRecorded { amount_micros, .. }
            | CallEvent::AttemptCostRecorded { amount_micros, .. } => {
                self.cost_micros += amount_micros;
            }
            CallEvent::ConversationStarted { .. }
            | CallEvent::TranscriptRecorded { .. }
            | CallEvent::SummaryGenerated { .. } => {}
            CallEvent::ConversationEnded { .. } => {}
            CallEvent::VoicemailReached { retry, .. } => {
                self.outcome = Some(CallResult::Voicemail);
                self.retry_voicemail = retry;
            }
        }
    }
}
