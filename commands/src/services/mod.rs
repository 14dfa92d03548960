//! Application services: one typed async function per use case a front door (the JSON API, later
//! the web pages) offers — typed input, typed output, typed error. A handler only translates
//! its protocol to a service's input and the output (or error) back; loading aggregates, reading
//! stored events, merging settings, checking budgets and credits and waiting for the read models
//! (read-your-writes) happen here.
//!
//! The services read the read models through the [`campaigns_view::CampaignReads`] port
//! (implemented in `projections`, which depends on this crate) and ask the provider accounts
//! through the [`preflight::ProviderAccounts`] port (implemented by the provider adapters).

use std::sync::Arc;
use std::time::Duration;

use domain::call::Call;
use domain::campaign::Campaign;

use crate::dialer::DialerView;
use crate::{Clock, Commands, EventBus, EventStore, StoreError};

pub mod accounts;
pub mod calls;
mod campaign_values;
pub mod campaigns;
pub mod campaigns_answers;
pub mod campaigns_status;
pub mod campaigns_view;
pub mod preflight;
pub mod provider_callbacks;
pub mod scripts;
pub mod settings;
pub mod suppressions;
pub mod usage;
pub mod webhooks;

use campaigns_view::CampaignReads;
use preflight::ProviderAccounts;

/// How long a command's answer waits for the read models to show it.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the campaign and call services work with.
#[derive(Clone)]
pub struct ServiceContext {
    pub store: EventStore,
    /// The bus the status stream follows.
    pub bus: EventBus,
    pub clock: Arc<dyn Clock>,
    pub campaigns: Arc<Commands<Campaign>>,
    pub calls: Arc<Commands<Call>>,
    /// The campaign and call read models.
    pub reads: Arc<dyn CampaignReads>,
    /// The dialer's view, for the spend the budget check counts.
    pub dialer_view: Arc<dyn DialerView>,
    /// Checks against the provider accounts; `None` skips them (no providers configured).
    pub preflight: Option<Arc<dyn ProviderAccounts>>,
}

/// Why the read models could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The projection is behind by more than [`SETTLE_TIMEOUT`].
    #[error("read models did not catch up within {} s", SETTLE_TIMEOUT.as_secs())]
    Lagging,
}

impl ServiceContext {
    /// Waits until the read models show everything committed so far (read-your-writes).
    pub async fn settle(&self) -> Result<(), SettleError> {
        let head = self.store.head().await?;
        if self.reads.caught_up(head, SETTLE_TIMEOUT).await {
            Ok(())
        } else {
            Err(SettleError::Lagging)
        }
    }
}
