//! Rules a [`Call`](super::Call) command can break.

use chrono::{DateTime, Utc};
use thiserror::Error;

use super::CallStatus;

/// Why a call command was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CallError {
    /// A call with this id already exists.
    #[error("the call already exists")]
    AlreadyExists,
    /// No call with this id exists.
    #[error("the call does not exist")]
    NotFound,
    /// The call waits for a retry that is not due yet.
    #[error("the next attempt is not due before {retry_at}")]
    RetryNotDue {
        /// Earliest time for the next dial.
        retry_at: DateTime<Utc>,
    },
    /// The command does not fit the call's current status.
    #[error("{command} is not allowed while the call is {status}")]
    InvalidTransition {
        /// The call's status.
        status: CallStatus,
        /// The command refused.
        command: &'static str,
    },
    /// The current attempt already has a different provider call.
    #[error("this attempt already has provider call {recorded}")]
    ProviderCallMismatch {
        /// The provider call id already recorded.
        recorded: String,
    },
    /// Only a call that is not being dialed can be cancelled.
    #[error("a call that is {status} cannot be cancelled")]
    NotCancellable {
        /// The call's status.
        status: CallStatus,
    },
    /// The call has no recording with this id.
    #[error("the call has no recording {recording_sid}")]
    RecordingUnknown {
        /// The recording asked about.
        recording_sid: String,
    },
    /// The call already has a different recording.
    #[error("the call already has recording {recording_sid}")]
    RecordingConflict {
        /// The recording already recorded.
        recording_sid: String,
    },
    /// The callee did not consent to the recording, or objected.
    #[error("the callee did not consent to the recording")]
    RecordingConsentMissing,
    /// The recording is stored already and can only be purged.
    #[error("the recording is already stored")]
    RecordingAlreadyStored,
    /// There is no stored recording to purge.
    #[error("the call has no stored recording")]
    RecordingNotStored,
    /// The attempt named was never started.
    #[error("attempt {attempt} was never started")]
    UnknownAttempt {
        /// The attempt named.
        attempt: u32,
    },
    /// Costs are never negative.
    #[error("a cost cannot be negative")]
    NegativeCost,
    /// Only an answered attempt is summarized.
    #[error("attempt {attempt} was not answered")]
    NotAnswered {
        /// The attempt named.
        attempt: u32,
    },
}
