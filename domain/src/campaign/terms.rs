//! [`CampaignTerms`]: what a campaign is created with and keeps.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::CampaignEvent;
use crate::policy::CampaignSettings;

/// The script version, policies and values a campaign is created with. No later event changes
/// them, so a reader that needs only these (the dialer, the media bridge, the voicemail action)
/// reads the campaign's first event instead of replaying every contact.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignTerms {
    /// The account that owns the campaign.
    pub owner_id: Uuid,
    /// The script it follows, at the version pinned when it was created.
    pub script_id: Uuid,
    /// That pinned version.
    pub script_version: u32,
    /// Its policies: caller id, recording, voicemail, retries, hours.
    pub settings: CampaignSettings,
    /// Script values given once for every call.
    pub variables: BTreeMap<String, String>,
}

impl CampaignTerms {
    /// The terms `event` sets: `Some` only for `CampaignCreated`.
    pub fn set_by(event: CampaignEvent) -> Option<Self> {
        match event {
            CampaignEvent::CampaignCreated {
                owner_id,
                script_id,
                script_version,
                settings,
                variables,
                ..
            } => Some(Self {
                owner_id,
                script_id,
                script_version,
                settings,
                variables,
            }),
            _ => None,
        }
    }
}
