//! What the campaign use cases answer: typed, serialized as the JSON API sends them (and
//! documented from the same types).

use domain::call::{CallResult, CallStatus};
use domain::campaign::{CampaignStatus, PauseReason};
use domain::policy::CampaignSettings;
use serde::Serialize;
use uuid::Uuid;

use super::campaigns_view::CallRecord;
use crate::StoredEvent;

/// A created campaign.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CampaignCreated {
    pub id: Uuid,
    pub name: String,
    pub status: CampaignStatus,
    pub total_calls: i64,
    /// The script version the campaign speaks (later edits do not change it).
    pub script_version: u32,
    /// Numbers given more than once, each skipped after its first.
    pub duplicates: Vec<String>,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub created_at: String,
}

/// Counts of a campaign's calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub total: u64,
    pub completed: u64,
    /// Calling or talking now.
    pub in_progress: u64,
    pub pending: u64,
    pub failed: u64,
    pub no_answer: u64,
    pub cancelled: u64,
    /// In a final status.
    pub finished: u64,
    /// Successful completed calls over finished calls (0 to 1).
    #[cfg_attr(feature = "utoipa", schema(minimum = 0.0, maximum = 1.0))]
    pub success_rate: f64,
}

impl Progress {
    /// Counts per status and the success rate of finished calls, from `(status, result)` pairs.
    pub fn count(calls: impl IntoIterator<Item = (CallStatus, Option<CallResult>)>) -> Self {
        let mut progress = Self {
            total: 0,
            completed: 0,
            in_progress: 0,
            pending: 0,
            failed: 0,
            no_answer: 0,
            cancelled: 0,
            finished: 0,
            success_rate: 0.0,
        };
        let mut success = 0u64;
        for (status, result) in calls {
            progress.total += 1;
            match status {
                CallStatus::Completed => progress.completed += 1,
                CallStatus::Calling | CallStatus::InProgress => progress.in_progress += 1,
                CallStatus::Pending => progress.pending += 1,
                CallStatus::Failed => progress.failed += 1,
                CallStatus::NoAnswer => progress.no_answer += 1,
                CallStatus::Cancelled => progress.cancelled += 1,
            }
            if status.is_final() {
                progress.finished += 1;
            }
            if status == CallStatus::Completed && result == Some(CallResult::Success) {
                success += 1;
            }
        }
        if progress.finished > 0 {
            progress.success_rate = success as f64 / progress.finished as f64;
        }
        progress
    }

    pub(super) fn of(calls: &[CallRecord]) -> Self {
        Self::count(calls.iter().map(|c| (c.status, c.result)))
    }
}

/// A campaign in a list.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CampaignListItem {
    #[cfg_attr(feature = "utoipa", schema(format = Uuid))]
    pub id: String,
    pub name: String,
    pub status: CampaignStatus,
    pub total_calls: i64,
    pub progress: Progress,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub started_at: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub completed_at: Option<String>,
}

/// When the remaining calls should be done.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Eta {
    pub remaining_calls: u64,
    pub eta_seconds: i64,
    /// Null when nothing remains or the campaign is not under way.
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub estimated_completion_at: Option<String>,
}

/// A campaign with its progress, ETA and settings.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CampaignDetail {
    #[cfg_attr(feature = "utoipa", schema(format = Uuid))]
    pub id: String,
    pub name: String,
    pub status: CampaignStatus,
    #[cfg_attr(feature = "utoipa", schema(format = Uuid))]
    pub script_id: String,
    pub total_calls: i64,
    pub progress: Progress,
    pub eta: Eta,
    pub settings: CampaignSettings,
    /// Why it is paused, when it is.
    pub pause_reason: Option<PauseReason>,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub scheduled_at: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub started_at: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub completed_at: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub cancelled_at: Option<String>,
}

/// What adding contacts did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContactsAdded {
    pub added: u64,
    /// Numbers already in the campaign (or repeated), skipped.
    pub duplicates: Vec<String>,
    pub total_calls: i64,
}

/// What a CSV import did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContactsImported {
    pub added: u64,
    /// Same as `added`.
    pub imported: u64,
    /// Numbers already in the campaign (or repeated), skipped.
    pub duplicates: Vec<String>,
    pub total_calls: i64,
    /// Each row not imported, with its line, value and reason.
    pub rejected: Vec<crate::contacts_import::RejectedRow>,
    /// How the file was read: `UTF-8`, `UTF-8 (BOM)` or `EUC-KR` (CP949).
    pub encoding: String,
}

/// A started or scheduled campaign.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CampaignStarted {
    pub id: Uuid,
    pub status: CampaignStatus,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub started_at: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub scheduled_at: Option<String>,
}

/// A campaign after pause or resume.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CampaignTransition {
    pub id: Uuid,
    pub status: CampaignStatus,
    pub pause_reason: Option<PauseReason>,
}

/// A cancelled campaign.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CampaignCancelled {
    pub id: Uuid,
    pub status: CampaignStatus,
    /// Calls that had finished (any final status but cancelled).
    pub completed_calls: u64,
    pub cancelled_calls: u64,
    /// Calls still talking; they finish.
    pub in_progress_calls: u64,
}

/// A page of the audit trail.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    pub events: Vec<AuditEntry>,
    /// Pass as `after` for the next page; null on the last.
    pub next_after: Option<i64>,
}

/// One stored event with its metadata.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Global position: gap-free, the order of the whole history.
    pub position: i64,
    pub event_id: Uuid,
    #[cfg_attr(feature = "utoipa", schema(example = "Campaign"))]
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// Position within the aggregate.
    pub sequence: i64,
    #[serde(rename = "type")]
    #[cfg_attr(feature = "utoipa", schema(example = "CampaignStarted"))]
    pub event_type: String,
    #[cfg_attr(feature = "utoipa", schema(example = "1.0"))]
    pub version: String,
    /// A user id, or `system`, `twilio`, `elevenlabs`.
    pub actor: String,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub recorded_at: String,
    pub payload: serde_json::Value,
}

impl From<StoredEvent> for AuditEntry {
    fn from(event: StoredEvent) -> Self {
        Self {
            position: event.position,
            event_id: event.event_id,
            aggregate_type: event.aggregate_type,
            aggregate_id: event.aggregate_id,
            sequence: event.sequence,
            event_type: event.event_type,
            version: event.event_version,
            actor: event.metadata.actor,
            correlation_id: event.metadata.correlation_id,
            causation_id: event.metadata.causation_id,
            recorded_at: crate::store::timestamp(event.recorded_at),
            payload: event.payload,
        }
    }
}
