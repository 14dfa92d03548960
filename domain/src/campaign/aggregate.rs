//! The [`Campaign`] aggregate.

use std::collections::{BTreeMap, BTreeSet};

use crate::aggregate::{Decided, Sink, display_name};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CampaignCommand, CampaignError, CampaignEvent, CampaignStatus, Contact};
use crate::PhoneNumber;
use crate::policy::CampaignSettings;

/// Longest campaign name, in characters.
pub const MAX_NAME_CHARS: usize = crate::limits::CAMPAIGN_NAME.max;

/// A batch of calls following one script version, with its contacts and progress.
///
/// Cancelling does not touch calls: a process manager reacts to `CampaignCancelled` by cancelling
/// the calls still waiting (calls in progress finish), because each call is its own aggregate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    /// `None` until created.
    status: Option<CampaignStatus>,
    deleted: bool,
    owner_id: Uuid,
    name: String,
    script_id: Uuid,
    script_version: u32,
    settings: CampaignSettings,
    contacts: Vec<Contact>,
    variables: BTreeMap<String, String>,
    finished_calls: BTreeSet<Uuid>,
}

aggregate!(Campaign, type "campaign", CampaignCommand, CampaignEvent, CampaignError);

/// The outcome of checking a batch of contacts against the campaign.
struct Batch {
    new: Vec<Contact>,
    duplicates: Vec<PhoneNumber>,
}

impl Campaign {
    /// The current status, or `None` before creation.
    pub fn status(&self) -> Option<CampaignStatus> {
        self.status
    }

    /// The script values given once for every call.
    pub fn variables(&self) -> &BTreeMap<String, String> {
        &self.variables
    }

    /// Whether the campaign was deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The account that owns the campaign.
    pub fn owner_id(&self) -> Uuid {
        self.owner_id
    }

    /// The script and the version captured at creation.
    pub fn script(&self) -> (Uuid, u32) {
        (self.script_id, self.script_version)
    }

    /// The campaign's policies.
    pub fn settings(&self) -> &CampaignSettings {
        &self.settings
    }

    /// The contacts in the order they were added.
    pub fn contacts(&self) -> &[Contact] {
        &self.contacts
    }

    /// Whether the call with this id has finished.
    pub fn is_call_finished(&self, call_id: Uuid) -> bool {
        self.finished_calls.contains(&call_id)
    }

    /// The status of a live campaign, or `NotFound`.
    fn live_status(&self) -> Result<CampaignStatus, CampaignError> {
        match self.status {
            Some(status) if !self.deleted => Ok(status),
            _ => Err(CampaignError::NotFound),
        }
    }

    /// Splits a batch into contacts to add and numbers already present or repeated.
    fn check_batch(&self, contacts: Vec<Contact>) -> Result<Batch, CampaignError> {
        let mut phones: BTreeSet<&PhoneNumber> = self.contacts.iter().map(|c| &c.phone).collect();
        let mut call_ids: BTreeSet<Uuid> = self.contacts.iter().map(|c| c.call_id).collect();
        let mut new = Vec::new();
        let mut duplicates: Vec<PhoneNumber> = Vec::new();
        for contact in &contacts {
            if phones.contains(&contact.phone) {
                if !duplicates.contains(&contact.phone) {
                    duplicates.push(contact.phone.clone());
                }
                continue;
            }
            if !call_ids.insert(contact.call_id) {
                return Err(CampaignError::DuplicateCallId {
                    call_id: contact.call_id,
                });
            }
            phones.insert(&contact.phone);
            new.push(contact.clone());
        }
        Ok(Batch { new, duplicates })
    }

    fn all_calls_finished(&self) -> bool {
        self.contacts
            .iter()
            .all(|c| self.finished_calls.contains(&c.call_id))
    }

    async fn add_batch(
        &mut self,
        contacts: Vec<Contact>,
        sink: &Sink<Self>,
    ) -> Result<(), CampaignError> {
        let Batch { new, duplicates } = self.check_batch(contacts)?;
        if new.is_empty() && duplicates.is_empty() {
            return Ok(());
        }
        sink.write(
            CampaignEvent::ContactsAdded {
                contacts: new,
                duplicates,
            },
            self,
        )
        .await;
        Ok(())
    }
}

/// Trims the name and checks its length.
fn valid_name(name: &str) -> Result<String, CampaignError> {
    display_name(name, MAX_NAME_CHARS).map_err(|_| CampaignError::InvalidName)
}

impl Campaign {
    /// Checks `cmd` against the rules and writes the events it causes.
    async fn decide(&mut self, cmd: CampaignCommand, sink: &Sink<Self>) -> Decided<CampaignError> {
        use CampaignStatus::*;

        match cmd {
            CampaignCommand::CreateCampaign {
                owner_id,
                name,
                script_id,
                script_version,
                settings,
                contacts,
                variables,
                at,
            } => {
                if self.deleted {
                    return Err(CampaignError::NotFound);
                }
                if self.status.is_some() {
                    return Err(CampaignError::AlreadyExists);
                }
                let name = valid_name(&name)?;
                settings.validate()?;
                // Check the contacts before writing anything, so a bad batch leaves no campaign.
                self.check_batch(contacts.clone())?;
                sink.write(
                    CampaignEvent::CampaignCreated {
                        owner_id,
                        name,
                        script_id,
                        script_version,
                        settings,
                        variables,
                        created_at: at,
                    },
                    self,
                )
                .await;
                self.add_batch(contacts, sink).await?;
            }
            CampaignCommand::AddContacts { contacts, at: _ } => {
                let state = self.live_status()?;
                if state != Draft {
                    return Err(CampaignError::InvalidState { state });
                }
                if contacts.is_empty() {
                    return Err(CampaignError::NoContacts);
                }
                self.add_batch(contacts, sink).await?;
            }
            CampaignCommand::StartCampaign { at } => {
                let state = self.live_status()?;
                if !matches!(state, Draft | Scheduled) {
                    return Err(CampaignError::InvalidState { state });
                }
                if self.contacts.is_empty() {
                    return Err(CampaignError::NoContacts);
                }
                sink.write(CampaignEvent::CampaignStarted { started_at: at }, self)
                    .await;
            }
            CampaignCommand::ScheduleCampaign { start_at, at } => {
                let state = self.live_status()?;
                if state != Draft {
                    return Err(CampaignError::InvalidState { state });
                }
                if self.contacts.is_empty() {
                    return Err(CampaignError::NoContacts);
                }
                if start_at <= at {
                    return Err(CampaignError::ScheduleInPast);
                }
                sink.write(CampaignEvent::CampaignScheduled { start_at }, self)
                    .await;
            }
            CampaignCommand::PauseCampaign { reason, at } => {
                let state = self.live_status()?;
                if state != Running {
                    return Err(CampaignError::InvalidState { state });
                }
                sink.write(
                    CampaignEvent::CampaignPaused {
                        reason,
                        paused_at: at,
                    },
                    self,
                )
                .await;
            }
            CampaignCommand::ResumeCampaign { at } => {
                let state = self.live_status()?;
                if state != Paused {
                    return Err(CampaignError::InvalidState { state });
                }
                sink.write(CampaignEvent::CampaignResumed { resumed_at: at }, self)
                    .await;
            }
            CampaignCommand::RecordCallFinished { call_id, at } => {
                let state = self.live_status()?;
                if !self.contacts.iter().any(|c| c.call_id == call_id) {
                    return Err(CampaignError::UnknownCall { call_id });
                }
                // Call events are delivered at least once; the second report changes nothing.
                if self.finished_calls.contains(&call_id) {
                    return Ok(());
                }
                sink.write(CampaignEvent::CampaignCallFinished { call_id }, self)
                    .await;
                // A cancelled campaign keeps counting its calls but stays cancelled.
                if matches!(state, Running | Paused) && self.all_calls_finished() {
                    sink.write(CampaignEvent::CampaignCompleted { completed_at: at }, self)
                        .await;
                }
            }
            CampaignCommand::CancelCampaign { at } => {
                let state = self.live_status()?;
                if state.is_final() {
                    return Err(CampaignError::InvalidState { state });
                }
                sink.write(CampaignEvent::CampaignCancelled { cancelled_at: at }, self)
                    .await;
            }
            CampaignCommand::DeleteCampaign { at } => {
                let state = self.live_status()?;
                if !matches!(state, Draft | Completed | Cancelled) {
                    return Err(CampaignError::InvalidState { state });
                }
                sink.write(CampaignEvent::CampaignDeleted { deleted_at: at }, self)
                    .await;
            }
        }
        Ok(())
    }

    /// Applies one recorded event; it cannot fail.
    fn evolve(&mut self, event: CampaignEvent) {
        match event {
            CampaignEvent::CampaignCreated {
                owner_id,
                name,
                script_id,
                script_version,
                settings,
                variables,
                ..
            } => {
                self.status = Some(CampaignStatus::Draft);
                self.owner_id = owner_id;
                self.name = name;
                self.script_id = script_id;
                self.script_version = script_version;
                self.settings = settings;
                self.variables = variables;
            }
            CampaignEvent::ContactsAdded { contacts, .. } => self.contacts.extend(contacts),
            CampaignEvent::CampaignScheduled { .. } => {
                self.status = Some(CampaignStatus::Scheduled);
            }
            CampaignEvent::CampaignStarted { .. } | CampaignEvent::CampaignResumed { .. } => {
                self.status = Some(CampaignStatus::Running);
            }
            CampaignEvent::CampaignPaused { .. } => self.status = Some(CampaignStatus::Paused),
            CampaignEvent::CampaignCallFinished { call_id } => {
                self.finished_calls.insert(call_id);
            }
            CampaignEvent::CampaignCompleted { .. } => {
                self.status = Some(CampaignStatus::Completed);
            }
            CampaignEvent::CampaignCancelled { .. } => {
                self.status = Some(CampaignStatus::Cancelled);
            }
            CampaignEvent::CampaignDeleted { .. } => self.deleted = true,
        }
    }
}
