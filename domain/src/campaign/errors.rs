//! Rules a [`Campaign`](super::Campaign) command can break.

use thiserror::Error;
use uuid::Uuid;

use super::{CampaignStatus, MAX_NAME_CHARS};
use crate::policy::SettingsError;

/// Why a campaign command was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CampaignError {
    /// A campaign with this id already exists.
    #[error("the campaign already exists")]
    AlreadyExists,
    /// No campaign with this id exists (never created, or deleted).
    #[error("the campaign does not exist")]
    NotFound,
    /// The name is empty or longer than allowed.
    #[error("the campaign name must be 1 to {max} characters", max = MAX_NAME_CHARS)]
    InvalidName,
    /// The settings break a limit.
    #[error("invalid settings: {0}")]
    InvalidSettings(#[from] SettingsError),
    /// The campaign (or the batch to add) has no contacts.
    #[error("the campaign has no contacts")]
    NoContacts,
    /// The command is not allowed in the campaign's current status.
    #[error("not allowed while the campaign is {state}")]
    InvalidState {
        /// The campaign's status.
        state: CampaignStatus,
    },
    /// The scheduled start is not in the future.
    #[error("the scheduled start must be in the future")]
    ScheduleInPast,
    /// The call does not belong to this campaign.
    #[error("call {call_id} does not belong to this campaign")]
    UnknownCall {
        /// The call id given.
        call_id: Uuid,
    },
    /// Two contacts were given the same call id (a bug in the caller, not in the input).
    #[error("call id {call_id} is used by more than one contact")]
    DuplicateCallId {
        /// The repeated call id.
        call_id: Uuid,
    },
}
