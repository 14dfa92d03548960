//! The campaign services' read port ([`CampaignReads`]) over `campaign_list` and `call_list`,
//! and waiting for a read model to show a position (read-your-writes), whichever process
//! projects.
//!
//! With the projector in this process its runner's [`ProjectionHandle`] wakes waiters at once.
//! With `--role api` (or while another process holds the projector lock) that handle never
//! moves, so the stored checkpoint — committed with the read model's rows — is polled as well.

use std::time::Duration;

use async_trait::async_trait;
use commands::EventStore;
use commands::services::campaigns_view::{
    CallFilter, CallRecord, CampaignReads, CampaignRecord, ConversationEndRecord, ReadModelError,
};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::ProjectionHandle;
use crate::call_list::{self, CallList, CallRow};
use crate::campaign_list::{CAMPAIGNS, CampaignList, CampaignSummary};

/// How often the stored checkpoint is read while waiting.
pub const CHECKPOINT_POLL: Duration = Duration::from_millis(20);

/// Waits until projection `name` has applied `position`; false after `timeout`.
pub async fn wait_for_projection(
    store: &EventStore,
    handle: &ProjectionHandle,
    name: &str,
    position: i64,
    timeout: Duration,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let step_end = (Instant::now() + CHECKPOINT_POLL).min(deadline);
        // Returns at once when no runner lives in this process.
        if handle
            .wait_for(position, step_end.saturating_duration_since(Instant::now()))
            .await
        {
            return true;
        }
        match store.checkpoint(name).await {
            Ok(stored) if stored >= position => return true,
            Ok(_) => {}
            Err(err) => {
                tracing::debug!(projection = name, error = %err, "cannot read the checkpoint")
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep_until(step_end).await;
    }
}

/// [`CampaignReads`] over the campaign and call lists.
#[derive(Clone)]
pub struct CampaignReadModels {
    store: EventStore,
    campaigns: ProjectionHandle,
}

impl CampaignReadModels {
    /// Reads from `store`'s database, waiting on the campaigns projection behind `campaigns`.
    pub fn new(store: EventStore, campaigns: ProjectionHandle) -> Self {
        Self { store, campaigns }
    }
}

fn query(err: sqlx::Error) -> ReadModelError {
    ReadModelError::Query(err.to_string())
}

/// A wire name (`"RUNNING"`) as the enum it names.
fn wire<T: DeserializeOwned>(text: &str) -> Result<T, ReadModelError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| ReadModelError::Row(format!("{text:?}: {e}")))
}

fn campaign_record(row: CampaignSummary) -> Result<CampaignRecord, ReadModelError> {
    Ok(CampaignRecord {
        status: wire(&row.status)?,
        pause_reason: row.pause_reason.as_deref().map(wire).transpose()?,
        settings: row
            .settings
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| ReadModelError::Row(format!("campaign settings: {e}")))?
            .unwrap_or_default(),
        id: row.id,
        owner_id: row.owner_id,
        name: row.name,
        script_id: row.script_id,
        total_calls: row.total_calls,
        finished_calls: row.finished_calls,
        created_at: row.created_at,
        started_at: row.started_at,
        completed_at: row.completed_at,
        cancelled_at: row.cancelled_at,
        scheduled_at: row.scheduled_at,
    })
}

fn call_record(row: CallRow) -> Result<CallRecord, ReadModelError> {
    Ok(CallRecord {
        status: wire(&row.status)?,
        result: row.result.as_deref().map(wire).transpose()?,
        id: row.id,
        campaign_id: row.campaign_id,
        phone_number: row.phone_number,
        name: row.name,
        context: row.context,
        status_reason: row.status_reason,
        attempts: row.attempts,
        retry_at: row.retry_at,
        has_aggregate: row.has_aggregate,
        duration_secs: row.duration_secs,
        cost_micros: row.cost_micros,
        updated_at: row.updated_at,
        transcript: row.transcript,
        transcript_source: row.transcript_source,
        conversation_id: row.conversation_id,
        summary: row.summary,
        suggested_result: row.suggested_result,
        follow_up_needed: row.follow_up_needed,
        summary_source: row.summary_source,
        cost_telephony_micros: row.cost_telephony_micros,
        cost_voice_micros: row.cost_voice_micros,
        cost_llm_micros: row.cost_llm_micros,
    })
}

#[async_trait]
impl CampaignReads for CampaignReadModels {
    async fn campaign(
        &self,
        owner_id: &str,
        campaign_id: &str,
    ) -> Result<Option<CampaignRecord>, ReadModelError> {
        CampaignList::find(self.store.db().pool(), owner_id, campaign_id)
            .await
            .map_err(query)?
            .map(campaign_record)
            .transpose()
    }

    async fn campaigns(&self, owner_id: &str) -> Result<Vec<CampaignRecord>, ReadModelError> {
        CampaignList::for_owner(self.store.db().pool(), owner_id)
            .await
            .map_err(query)?
            .into_iter()
            .map(campaign_record)
            .collect()
    }

    async fn calls(&self, campaign_id: &str) -> Result<Vec<CallRecord>, ReadModelError> {
        CallList::for_campaign(self.store.db().pool(), campaign_id)
            .await
            .map_err(query)?
            .into_iter()
            .map(call_record)
            .collect()
    }

    async fn call_page(
        &self,
        campaign_id: &str,
        filter: &CallFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<CallRecord>, i64), ReadModelError> {
        let filter = call_list::CallFilter {
            status: filter.status.clone(),
            result: filter.result.clone(),
        };
        let (rows, total) =
            CallList::page(self.store.db().pool(), campaign_id, &filter, limit, offset)
                .await
                .map_err(query)?;
        let rows = rows
            .into_iter()
            .map(call_record)
            .collect::<Result<_, _>>()?;
        Ok((rows, total))
    }

    async fn call(
        &self,
        owner_id: &str,
        call_id: &str,
    ) -> Result<Option<CallRecord>, ReadModelError> {
        CallList::find(self.store.db().pool(), owner_id, call_id)
            .await
            .map_err(query)?
            .map(call_record)
            .transpose()
    }

    async fn conversation_end(
        &self,
        call_id: &str,
    ) -> Result<Option<ConversationEndRecord>, ReadModelError> {
        Ok(CallList::conversation_end(self.store.db().pool(), call_id)
            .await
            .map_err(query)?
            .map(|end| ConversationEndRecord {
                reason: end.reason,
                close_code: end.close_code,
                detail: end.detail,
            }))
    }

    async fn caught_up(&self, position: i64, timeout: Duration) -> bool {
        wait_for_projection(&self.store, &self.campaigns, CAMPAIGNS, position, timeout).await
    }
}
