//! Recording consent and the life of a call's recording: available at the provider → stored
//! encrypted (or discarded) → purged after the retention period.
//!
//! The rules live here so the aggregate only routes [`RecordingCommand`]s to
//! [`RecordingState::decide`] and recording events to [`RecordingState::apply`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CallError, CallEvent, CallStatus};

/// What can be asked of a call's recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingCommand {
    /// The callee heard the consent notice and stayed on the line (the stream started).
    GiveConsent {
        /// When the stream started.
        at: DateTime<Utc>,
    },
    /// The callee objected to the recording during the call.
    RevokeConsent {
        /// When they objected.
        at: DateTime<Utc>,
    },
    /// The provider says a recording of the call is complete and can be fetched.
    RecordAvailable {
        /// Provider recording id (Twilio `RecordingSid`).
        recording_sid: String,
        /// Length in seconds, when the provider says.
        duration_secs: Option<u32>,
        /// When the callback arrived.
        at: DateTime<Utc>,
    },
    /// The recording was fetched, encrypted and stored; the provider's copy is deleted.
    RecordStored {
        /// Provider recording id.
        recording_sid: String,
        /// Size of the plain audio in bytes.
        bytes: u64,
        /// When it was stored.
        at: DateTime<Utc>,
    },
    /// The recording was deleted at the provider without being kept.
    Discard {
        /// Provider recording id.
        recording_sid: String,
        /// Why.
        reason: DiscardReason,
        /// When.
        at: DateTime<Utc>,
    },
    /// The stored recording is past retention and its file was deleted.
    Purge {
        /// When.
        at: DateTime<Utc>,
    },
}

/// Why a recording was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DiscardReason {
    /// The callee objected during the call.
    ConsentRevoked,
    /// Consent was never recorded for the call (the stream never started).
    NoConsent,
}

/// Where a recording stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordingStage {
    /// At the provider, waiting to be fetched.
    Available,
    /// Encrypted in our storage.
    Stored,
    /// Deleted without being kept.
    Discarded,
    /// Deleted after the retention period.
    Purged,
}

/// The recording part of a call's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordingState {
    /// `None` until the notice played; `Some(false)` once the callee objected.
    consent: Option<bool>,
    /// The provider recording id and its stage.
    recording: Option<(String, RecordingStage)>,
}

impl RecordingState {
    /// Whether the callee consented and did not object.
    pub fn consented(&self) -> bool {
        self.consent == Some(true)
    }

    /// The consent as far as it is known (`None` before the notice played).
    pub fn consent(&self) -> Option<bool> {
        self.consent
    }

    /// The recording and its stage, if any.
    pub fn recording(&self) -> Option<(&str, RecordingStage)> {
        self.recording
            .as_ref()
            .map(|(sid, stage)| (sid.as_str(), *stage))
    }

    fn stage_of(&self, recording_sid: &str) -> Result<RecordingStage, CallError> {
        match &self.recording {
            Some((sid, stage)) if sid == recording_sid => Ok(*stage),
            _ => Err(CallError::RecordingUnknown {
                recording_sid: recording_sid.to_owned(),
            }),
        }
    }

    /// The event a command leads to; `None` when it was already done (repeats are harmless).
    pub fn decide(
        &self,
        status: CallStatus,
        command: RecordingCommand,
    ) -> Result<Option<CallEvent>, CallError> {
        Ok(Some(match command {
            RecordingCommand::GiveConsent { at } => {
                if self.consent.is_some() {
                    // Given already, or revoked: an objection is never undone by a new stream.
                    return Ok(None);
                }
                if !matches!(status, CallStatus::Calling | CallStatus::InProgress) {
                    return Err(CallError::InvalidTransition {
                        status,
                        command: "GiveRecordingConsent",
                    });
                }
                CallEvent::RecordingConsentGiven { given_at: at }
            }
            RecordingCommand::RevokeConsent { at } => {
                if self.consent == Some(false) {
                    return Ok(None);
                }
                CallEvent::RecordingConsentRevoked { revoked_at: at }
            }
            RecordingCommand::RecordAvailable {
                recording_sid,
                duration_secs,
                at,
            } => {
                if let Some((sid, _)) = &self.recording {
                    if *sid == recording_sid {
                        return Ok(None);
                    }
                    return Err(CallError::RecordingConflict {
                        recording_sid: sid.clone(),
                    });
                }
                CallEvent::RecordingAvailable {
                    recording_sid,
                    duration_secs,
                    available_at: at,
                }
            }
            RecordingCommand::RecordStored {
                recording_sid,
                bytes,
                at,
            } => match self.stage_of(&recording_sid)? {
                RecordingStage::Stored | RecordingStage::Purged => return Ok(None),
                RecordingStage::Discarded => return Err(CallError::RecordingConsentMissing),
                RecordingStage::Available if !self.consented() => {
                    return Err(CallError::RecordingConsentMissing);
                }
                RecordingStage::Available => CallEvent::RecordingStored {
                    recording_sid,
                    bytes,
                    stored_at: at,
                },
            },
            RecordingCommand::Discard {
                recording_sid,
                reason,
                at,
            } => match self.stage_of(&recording_sid)? {
                RecordingStage::Discarded => return Ok(None),
                RecordingStage::Stored | RecordingStage::Purged => {
                    return Err(CallError::RecordingAlreadyStored);
                }
                RecordingStage::Available => CallEvent::RecordingDiscarded {
                    recording_sid,
                    reason,
                    discarded_at: at,
                },
            },
            RecordingCommand::Purge { at } => match &self.recording {
                Some((_, RecordingStage::Purged)) => return Ok(None),
                Some((sid, RecordingStage::Stored)) => CallEvent::RecordingPurged {
                    recording_sid: sid.clone(),
                    purged_at: at,
                },
                _ => return Err(CallError::RecordingNotStored),
            },
        }))
    }

    /// Applies a recording event (others are ignored).
    pub fn apply(&mut self, event: &CallEvent) {
        match event {
            CallEvent::RecordingConsentGiven { .. } => self.consent = Some(true),
            CallEvent::RecordingConsentRevoked { .. } => self.consent = Some(false),
            CallEvent::RecordingAvailable { recording_sid, .. } => {
                self.recording = Some((recording_sid.clone(), RecordingStage::Available));
            }
            CallEvent::RecordingStored { .. } => self.set_stage(RecordingStage::Stored),
            CallEvent::RecordingDiscarded { .. } => self.set_stage(RecordingStage::Discarded),
            CallEvent::RecordingPurged { .. } => self.set_stage(RecordingStage::Purged),
            _ => {}
        }
    }

    fn set_stage(&mut self, stage: RecordingStage) {
        if let Some((_, current)) = &mut self.recording {
            *current = stage;
        }
    }
}
