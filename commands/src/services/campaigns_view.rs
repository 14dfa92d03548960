//! The campaign and call read models as the services see them: a port, implemented in
//! `projections` over `campaign_list` and `call_list`.

use std::time::Duration;

use async_trait::async_trait;
use domain::call::{CallResult, CallStatus, TranscriptLine};
use domain::campaign::{CampaignStatus, PauseReason};
use domain::policy::CampaignSettings;
use serde_json::Value;
use uuid::Uuid;

/// One campaign as its read model shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignRecord {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub status: CampaignStatus,
    pub script_id: String,
    pub total_calls: i64,
    pub finished_calls: i64,
    /// RFC 3339 times, as stored.
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub scheduled_at: Option<String>,
    pub pause_reason: Option<PauseReason>,
    pub settings: CampaignSettings,
}

/// One call as its read model shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub id: String,
    pub campaign_id: String,
    pub owner_id: String,
    /// The contact's place in the campaign (dialing order).
    pub seq: i64,
    pub phone_number: String,
    pub name: Option<String>,
    pub context: Value,
    pub status: CallStatus,
    pub result: Option<CallResult>,
    pub status_reason: Option<String>,
    pub attempts: i64,
    pub retry_at: Option<String>,
    /// When the current (or last) attempt was requested.
    pub attempt_at: Option<String>,
    pub provider_sid: Option<String>,
    /// Whether the contact's Call aggregate exists yet.
    pub has_aggregate: bool,
    /// Whether the campaign has counted this call as finished.
    pub reported: bool,
    pub duration_secs: Option<i64>,
    pub cost_micros: i64,
    pub created_at: String,
    pub updated_at: String,
    /// What the call left behind: transcript and summary.
    pub post_call: PostCallRecord,
    /// `cost_micros` split by component.
    pub cost_split: CostSplit,
}

/// A call's results after the call: the latest attempt's transcript, its source
/// (`BRIDGE`/`PROVIDER`) and conversation id; the Korean summary, the outcome it suggests
/// (never the call's result), whether someone should follow up, and who wrote it
/// (`LLM`/`OFFLINE`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostCallRecord {
    pub transcript: Option<Vec<TranscriptLine>>,
    pub transcript_source: Option<String>,
    pub conversation_id: Option<String>,
    pub summary: Option<String>,
    pub suggested_result: Option<String>,
    pub follow_up_needed: Option<bool>,
    pub summary_source: Option<String>,
}

/// A call's cost by component, in micro-dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CostSplit {
    pub telephony_micros: i64,
    pub voice_micros: i64,
    pub llm_micros: i64,
}

impl CallRecord {
    /// True for the final statuses.
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }

    /// The time a waiting retry is due, if any.
    pub fn retry_due(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.retry_at
            .as_deref()
            .and_then(crate::store::parse_timestamp)
    }
}

/// How a call's last conversation with the voice agent ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationEndRecord {
    pub reason: String,
    pub close_code: Option<i64>,
    pub detail: Option<String>,
}

/// Optional filters of a campaign's call list (wire names, upper case; unknown ones match
/// nothing).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CallFilter {
    pub status: Option<String>,
    pub result: Option<String>,
}

/// Why a read model could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadModelError {
    #[error("read model query failed: {0}")]
    Query(String),
    /// A stored row does not hold what its columns promise.
    #[error("read model row unreadable: {0}")]
    Row(String),
}

/// The read models the campaign and call services read.
#[async_trait]
pub trait CampaignReads: Send + Sync + 'static {
    /// One campaign, if it belongs to `owner_id`.
    async fn campaign(
        &self,
        owner_id: &str,
        campaign_id: &str,
    ) -> Result<Option<CampaignRecord>, ReadModelError>;
    /// An owner's campaigns, newest first.
    async fn campaigns(&self, owner_id: &str) -> Result<Vec<CampaignRecord>, ReadModelError>;
    /// A campaign's calls in dialing order.
    async fn calls(&self, campaign_id: &str) -> Result<Vec<CallRecord>, ReadModelError>;
    /// A page of a campaign's calls and the total matching the filter.
    async fn call_page(
        &self,
        campaign_id: &str,
        filter: &CallFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<CallRecord>, i64), ReadModelError>;
    /// One call, if it belongs to `owner_id`.
    async fn call(
        &self,
        owner_id: &str,
        call_id: &str,
    ) -> Result<Option<CallRecord>, ReadModelError>;
    /// How the call's last conversation ended, once the bridge has said so.
    async fn conversation_end(
        &self,
        call_id: &str,
    ) -> Result<Option<ConversationEndRecord>, ReadModelError>;
    /// Waits until the campaigns projection has applied `position`; false after `timeout`.
    async fn caught_up(&self, position: i64, timeout: Duration) -> bool;
    /// The content of one saved version of an owner's script.
    async fn script_version(
        &self,
        owner_id: Uuid,
        script_id: Uuid,
        version: u32,
    ) -> Result<Option<domain::script::ScriptContent>, ReadModelError>;
}
