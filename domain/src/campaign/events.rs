//! Events recorded by [`Campaign`](super::Campaign).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Contact, PauseReason};
use crate::PhoneNumber;
use crate::policy::CampaignSettings;

/// Something that happened to a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CampaignEvent {
    /// A draft campaign was created.
    CampaignCreated {
        /// The account that owns it.
        owner_id: Uuid,
        /// Display name.
        name: String,
        /// The script it follows.
        script_id: Uuid,
        /// The script version captured.
        script_version: u32,
        /// Its policies.
        settings: CampaignSettings,
        /// Script values given once for every call; absent in history written before they
        /// existed, and left out of the stored form when there are none.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        variables: BTreeMap<String, String>,
        /// When it was created.
        created_at: DateTime<Utc>,
    },
    /// Contacts were added; numbers already present (or repeated in the batch) were not.
    ContactsAdded {
        /// The contacts added, in the order given.
        contacts: Vec<Contact>,
        /// Numbers skipped as duplicates, each listed once.
        duplicates: Vec<PhoneNumber>,
    },
    /// The campaign was set to start at `start_at`.
    CampaignScheduled {
        /// When it will start.
        start_at: DateTime<Utc>,
    },
    /// The campaign started placing calls.
    CampaignStarted {
        /// When it started.
        started_at: DateTime<Utc>,
    },
    /// The campaign stopped placing new calls.
    CampaignPaused {
        /// Who or what paused it.
        reason: PauseReason,
        /// When it paused.
        paused_at: DateTime<Utc>,
    },
    /// The campaign continues placing calls.
    CampaignResumed {
        /// When it resumed.
        resumed_at: DateTime<Utc>,
    },
    /// One of the campaign's calls reached a final status.
    CampaignCallFinished {
        /// The call that finished.
        call_id: Uuid,
    },
    /// Every call of a started campaign has finished.
    CampaignCompleted {
        /// When the last call finished.
        completed_at: DateTime<Utc>,
    },
    /// The owner cancelled the campaign; a process manager cancels its waiting calls.
    CampaignCancelled {
        /// When it was cancelled.
        cancelled_at: DateTime<Utc>,
    },
    /// The campaign was deleted; read models drop it and its contacts' data.
    CampaignDeleted {
        /// When it was deleted.
        deleted_at: DateTime<Utc>,
    },
}

domain_event!(CampaignEvent, version "1.0", [
    CampaignCreated, ContactsAdded, CampaignScheduled, CampaignStarted, CampaignPaused,
    CampaignResumed, CampaignCallFinished, CampaignCompleted, CampaignCancelled, CampaignDeleted,
]);
