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
use tokio::time::Instant;
use uuid::Uuid;

use crate::ProjectionHandle;
use crate::call_list::CallList;
use crate::campaign_list::{CAMPAIGNS, CampaignList};
use crate::script_list::ScriptList;

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

/// A row that does not hold what its columns promise is [`ReadModelError::Row`].
fn query(err: sqlx::Error) -> ReadModelError {
    match err {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            ReadModelError::Row(err.to_string())
        }
        other => ReadModelError::Query(other.to_string()),
    }
}

#[async_trait]
impl CampaignReads for CampaignReadModels {
    async fn script_version(
        &self,
        owner_id: Uuid,
        script_id: Uuid,
        version: u32,
    ) -> Result<Option<domain::script::ScriptContent>, ReadModelError> {
        let found = ScriptList::find_version(self.store.db().pool(), owner_id, script_id, version)
            .await
            .map_err(query)?;
        Ok(found.map(|record| record.content))
    }

    async fn campaign(
        &self,
        owner_id: &str,
        campaign_id: &str,
    ) -> Result<Option<CampaignRecord>, ReadModelError> {
        CampaignList::find(self.store.db().pool(), owner_id, campaign_id)
            .await
            .map_err(query)
    }

    async fn campaigns(&self, owner_id: &str) -> Result<Vec<CampaignRecord>, ReadModelError> {
        CampaignList::for_owner(self.store.db().pool(), owner_id)
            .await
            .map_err(query)
    }

    async fn calls(&self, campaign_id: &str) -> Result<Vec<CallRecord>, ReadModelError> {
        CallList::for_campaign(self.store.db().pool(), campaign_id)
            .await
            .map_err(query)
    }

    async fn call_page(
        &self,
        campaign_id: &str,
        filter: &CallFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<CallRecord>, i64), ReadModelError> {
        CallList::page(self.store.db().pool(), campaign_id, filter, limit, offset)
            .await
            .map_err(query)
    }

    async fn call(
        &self,
        owner_id: &str,
        call_id: &str,
    ) -> Result<Option<CallRecord>, ReadModelError> {
        CallList::find(self.store.db().pool(), owner_id, call_id)
            .await
            .map_err(query)
    }

    async fn conversation_end(
        &self,
        call_id: &str,
    ) -> Result<Option<ConversationEndRecord>, ReadModelError> {
        CallList::conversation_end(self.store.db().pool(), call_id)
            .await
            .map_err(query)
    }

    async fn caught_up(&self, position: i64, timeout: Duration) -> bool {
        wait_for_projection(&self.store, &self.campaigns, CAMPAIGNS, position, timeout).await
    }
}
