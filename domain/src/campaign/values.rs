//! Value types of a campaign: its status, why it paused, and its contacts.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::PhoneNumber;

/// Where a campaign is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignStatus {
    /// Being prepared; contacts can be added.
    Draft,
    /// Will start at a set time.
    Scheduled,
    /// Calls are being placed.
    Running,
    /// No new calls are placed; calls in progress finish.
    Paused,
    /// Every call has finished.
    Completed,
    /// Stopped by the owner; waiting calls were cancelled.
    Cancelled,
}

impl CampaignStatus {
    /// Whether nothing can change the status any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled)
    }
}

wire_names!(CampaignStatus {
    Draft => "DRAFT", Scheduled => "SCHEDULED", Running => "RUNNING", Paused => "PAUSED",
    Completed => "COMPLETED", Cancelled => "CANCELLED",
});

/// Why a running campaign paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PauseReason {
    /// The owner paused it.
    User,
    /// A daily or monthly cost cap was reached.
    BudgetExceeded,
}

/// A person to call; `call_id` is the id of the `Call` aggregate that will call them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Id of this contact's call, assigned when the contact is added.
    pub call_id: Uuid,
    /// Validated phone number.
    pub phone: PhoneNumber,
    /// Name to address the callee by.
    #[serde(default)]
    pub name: Option<String>,
    /// Script variables for this contact (e.g. `예약시간`).
    #[serde(default)]
    pub context: Map<String, Value>,
}
