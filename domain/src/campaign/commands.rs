//! Commands accepted by [`Campaign`](super::Campaign).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Contact, PauseReason};
use crate::policy::CampaignSettings;

/// What can be asked of a campaign.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "a command lives for one request; creation carries the settings and the values"
)]
pub enum CampaignCommand {
    /// Create a draft campaign, optionally with its first contacts.
    CreateCampaign {
        /// The account that owns it.
        owner_id: Uuid,
        /// Display name (1–200 characters).
        name: String,
        /// The script to follow.
        script_id: Uuid,
        /// The script version captured at creation; later edits do not change running calls.
        script_version: u32,
        /// Policies for this campaign.
        settings: CampaignSettings,
        /// Initial contacts (may be empty).
        contacts: Vec<Contact>,
        /// Script values given once for every call (`availableTimes` of the day, say).
        variables: BTreeMap<String, String>,
        /// When the request arrived.
        at: DateTime<Utc>,
    },
    /// Add contacts to a draft; numbers already present are reported as duplicates.
    AddContacts {
        /// Contacts with validated numbers and fresh call ids.
        contacts: Vec<Contact>,
        /// When the request arrived.
        at: DateTime<Utc>,
    },
    /// Start placing calls now.
    StartCampaign {
        /// When the request arrived.
        at: DateTime<Utc>,
    },
    /// Start placing calls at `start_at`.
    ScheduleCampaign {
        /// When to start.
        start_at: DateTime<Utc>,
        /// When the request arrived.
        at: DateTime<Utc>,
    },
    /// Stop placing new calls for a while.
    PauseCampaign {
        /// Who or what paused it.
        reason: PauseReason,
        /// When the request arrived.
        at: DateTime<Utc>,
    },
    /// Continue placing calls.
    ResumeCampaign {
        /// When the request arrived.
        at: DateTime<Utc>,
    },
    /// One of the campaign's calls reached a final status.
    RecordCallFinished {
        /// The call that finished.
        call_id: Uuid,
        /// When it finished.
        at: DateTime<Utc>,
    },
    /// Stop the campaign for good.
    CancelCampaign {
        /// When the request arrived.
        at: DateTime<Utc>,
    },
    /// Remove the campaign (only when not in flight).
    DeleteCampaign {
        /// When the request arrived.
        at: DateTime<Utc>,
    },
}
