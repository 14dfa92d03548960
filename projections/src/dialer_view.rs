//! The dialer's view of campaigns and calls, read from the campaign read models.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use commands::EventStore;
use commands::budget::{SpendFrom, spend};
use commands::dialer::{CallView, CampaignView, DialerError, DialerView};
use commands::store::{parse_timestamp, timestamp};
use domain::campaign::CampaignStatus;
use uuid::Uuid;

use crate::ProjectionHandle;
use crate::call_list::CallList;
use crate::campaign_list::CampaignList;

/// Contacts never dialed that one dialer round looks at (more than any concurrency allows, so
/// suppressed numbers skipped in a round do not starve it).
const FRESH_CONTACTS: i64 = 64;

/// [`DialerView`] over `campaign_list` and `call_list`.
pub struct ReadModelView {
    store: EventStore,
    campaigns: ProjectionHandle,
}

impl ReadModelView {
    /// A view that waits for the campaigns projection behind `campaigns`.
    pub fn new(store: EventStore, campaigns: ProjectionHandle) -> Self {
        Self { store, campaigns }
    }
}

fn view_error(err: impl ToString) -> DialerError {
    DialerError::View(err.to_string())
}

#[async_trait]
impl DialerView for ReadModelView {
    async fn caught_up(&self) {
        if let Ok(head) = self.store.head().await
            && !self.campaigns.wait_for(head, Duration::from_secs(5)).await
        {
            tracing::warn!(
                head,
                "campaign read models are lagging; deciding on what they show"
            );
        }
    }

    async fn campaigns(
        &self,
        statuses: &[CampaignStatus],
    ) -> Result<Vec<CampaignView>, DialerError> {
        let statuses: Vec<&str> = statuses.iter().map(|status| status.as_str()).collect();
        let rows = CampaignList::with_status(self.store.db().pool(), &statuses).await?;
        rows.into_iter()
            .map(|row| {
                Ok(CampaignView {
                    id: row.id.parse().map_err(view_error)?,
                    owner_id: row.owner_id.parse().map_err(view_error)?,
                    status: row.status,
                    settings: row.settings,
                    scheduled_at: row.scheduled_at.as_deref().and_then(parse_timestamp),
                })
            })
            .collect()
    }

    async fn calls(&self, campaign_id: Uuid) -> Result<Vec<CallView>, DialerError> {
        let pool = self.store.db().pool();
        Ok(CallList::for_dialer(pool, &campaign_id.to_string(), FRESH_CONTACTS).await?)
    }

    async fn in_flight(&self, owner_id: Uuid) -> Result<u32, DialerError> {
        let count = CallList::in_flight(self.store.db().pool(), &owner_id.to_string()).await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn spend_since(&self, owner_id: Uuid, since: DateTime<Utc>) -> Result<i64, DialerError> {
        let since = timestamp(since);
        let from = SpendFrom::RecordedAt(&since);
        Ok(spend(self.store.db().pool(), &owner_id.to_string(), from).await?)
    }
}
