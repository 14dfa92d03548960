//! The dialer: the process manager that turns running campaigns into calls.
//!
//! Each [`Dialer::tick`] looks at the campaign read models (through [`DialerView`], so it acts on
//! what events say) and decides: start scheduled campaigns that are due, report finished calls
//! to their campaign, cancel calls left waiting by a cancelled campaign, pause campaigns over
//! budget, and dial the next contacts in order within the call window, the campaign's
//! concurrency and the account-wide cap, skipping suppressed numbers. The rules themselves live
//! in [`commands::dialer`]; a dial consumer ([`crate::dial_consumer`]) places what it requests.
//!
//! As a [`Worker`] it ticks after every committed event (debounced) and every second (retries
//! and windows fall due by time, not by events); one active dialer per cluster.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use commands::accounts::{AccountSettings, Suppressions};
use commands::cqrs::{CommandContext, CommandError, Commands};
use commands::dialer::{
    ACCOUNT_CONCURRENCY, CallView, CampaignView, DialerError, DialerView, PLACEMENT_TIMEOUT,
    in_window, over_budget_with,
};
use commands::{CancellationToken, Clock, EventStore};
use domain::PhoneNumber;
use domain::call::{AttemptEnd, Call, CallCommand, CancelReason};
use domain::campaign::{Campaign, CampaignCommand, CampaignStatus, PauseReason};
use tokio::sync::{Mutex, watch};
use uuid::Uuid;

use crate::{Progress, Worker, WorkerError};

/// The lock that keeps the dialer single-active.
pub const DIALER_LOCK: &str = "dialer";

/// What one tick did (for tests and logs).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TickReport {
    pub started: Vec<Uuid>,
    pub dialed: Vec<Uuid>,
    pub suppressed: Vec<Uuid>,
    pub cancelled: Vec<Uuid>,
    pub reported_finished: Vec<Uuid>,
    pub paused_for_budget: Vec<Uuid>,
    pub placement_failures: Vec<Uuid>,
}

/// The dialer.
pub struct Dialer {
    store: EventStore,
    view: Arc<dyn DialerView>,
    clock: Arc<dyn Clock>,
    campaigns: Commands<Campaign>,
    calls: Commands<Call>,
    head: Mutex<watch::Receiver<i64>>,
}

impl Dialer {
    /// A dialer over `store`, deciding from `view`; a dial consumer places what it requests.
    pub fn new(store: EventStore, view: Arc<dyn DialerView>, clock: Arc<dyn Clock>) -> Self {
        Self {
            campaigns: Commands::new(store.clone(), ()),
            calls: Commands::new(store.clone(), ()),
            head: Mutex::new(store.watch_head()),
            store,
            view,
            clock,
        }
    }

    /// One round of decisions.
    pub async fn tick(&self) -> Result<TickReport, DialerError> {
        self.view.caught_up().await;
        let now = self.clock.now();
        let mut report = TickReport::default();
        let system = CommandContext::new("system");

        for campaign in self.view.campaigns(&[CampaignStatus::Scheduled]).await? {
            if campaign.scheduled_at.is_some_and(|at| at <= now) {
                let start = CampaignCommand::StartCampaign { at: now };
                if self.run_campaign(campaign.id, start, &system).await {
                    report.started.push(campaign.id);
                }
            }
        }
        if !report.started.is_empty() {
            self.view.caught_up().await;
        }

        let active = [
            CampaignStatus::Running,
            CampaignStatus::Paused,
            CampaignStatus::Cancelled,
        ];
        let campaigns = self.view.campaigns(&active).await?;
        // One query for every running campaign's owner: each round checks their budgets.
        let mut owners: Vec<String> = campaigns
            .iter()
            .filter(|c| c.status == CampaignStatus::Running)
            .map(|c| c.owner_id.to_string())
            .collect();
        owners.sort_unstable();
        owners.dedup();
        let settings = AccountSettings::load_many(self.store.db().pool(), &owners).await?;
        let mut in_flight: HashMap<Uuid, u32> = HashMap::new();
        for campaign in campaigns {
            let calls = self.view.calls(campaign.id).await?;
            // Contacts a cancelled campaign never dialed need no report: it will not complete.
            let unreported = calls.iter().filter(|c| {
                c.is_final()
                    && !c.reported
                    && (campaign.status != CampaignStatus::Cancelled || c.has_aggregate)
            });
            for call in unreported {
                let finished = CampaignCommand::RecordCallFinished {
                    call_id: call.call_id,
                    at: now,
                };
                if self.run_campaign(campaign.id, finished, &system).await {
                    report.reported_finished.push(call.call_id);
                }
            }
            for call in calls
                .iter()
                .filter(|c| c.status == "CALLING" && c.provider_sid.is_none())
            {
                if call
                    .attempt_at
                    .is_some_and(|at| now - at >= PLACEMENT_TIMEOUT)
                {
                    // Only what was applied counts, so a tick that changes nothing is idle.
                    if self
                        .end_attempt(call.call_id, "not placed in time".into(), true, now)
                        .await
                    {
                        report.placement_failures.push(call.call_id);
                    }
                }
            }
            match campaign.status {
                CampaignStatus::Cancelled => {
                    for call in calls
                        .iter()
                        .filter(|c| c.status == "PENDING" && c.has_aggregate)
                    {
                        let cancel = CallCommand::CancelCall {
                            reason: CancelReason::CampaignCancelled,
                            at: now,
                        };
                        if self.run_call(call.call_id, cancel, &system).await {
                            report.cancelled.push(call.call_id);
                        }
                    }
                }
                CampaignStatus::Running => {
                    let settings = self.settings_of(&settings, campaign.owner_id).await?;
                    if over_budget_with(&settings, self.view.as_ref(), campaign.owner_id, now)
                        .await?
                    {
                        let pause = CampaignCommand::PauseCampaign {
                            reason: PauseReason::BudgetExceeded,
                            at: now,
                        };
                        if self.run_campaign(campaign.id, pause, &system).await {
                            report.paused_for_budget.push(campaign.id);
                        }
                        continue;
                    }
                    self.dial_next(&campaign, &calls, &mut in_flight, now, &mut report)
                        .await?;
                }
                _ => {}
            }
        }
        Ok(report)
    }

    /// An account's settings from the round's batch. One whose saved row did not read there is
    /// read alone, so its error stops the round at its own campaign, once the campaigns before
    /// it are decided.
    async fn settings_of<'a>(
        &self,
        batch: &'a HashMap<String, AccountSettings>,
        owner_id: Uuid,
    ) -> Result<Cow<'a, AccountSettings>, DialerError> {
        let owner = owner_id.to_string();
        Ok(match batch.get(&owner) {
            Some(settings) => Cow::Borrowed(settings),
            None => Cow::Owned(AccountSettings::load(self.store.db().pool(), &owner).await?),
        })
    }

    /// Dials the next due contacts of one running campaign, within its concurrency and its
    /// account's (`in_flight` counts each account's calls in flight, read when first needed).
    async fn dial_next(
        &self,
        campaign: &CampaignView,
        calls: &[CallView],
        in_flight: &mut HashMap<Uuid, u32>,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), DialerError> {
        let due: Vec<&CallView> = calls
            .iter()
            .filter(|c| c.status == "PENDING" && c.retry_at.is_none_or(|at| at <= now))
            .collect();
        let campaign_in_flight = calls.iter().filter(|c| c.in_flight()).count() as u32;
        let campaign_capacity = campaign
            .settings
            .max_concurrency
            .saturating_sub(campaign_in_flight);
        if due.is_empty() || campaign_capacity == 0 || !in_window(&campaign.settings, now) {
            return Ok(());
        }
        let account_in_flight = match in_flight.get(&campaign.owner_id) {
            Some(count) => *count,
            None => self.view.in_flight(campaign.owner_id).await?,
        };
        let mut capacity =
            campaign_capacity.min(ACCOUNT_CONCURRENCY.saturating_sub(account_in_flight));
        let mut dialed = 0;
        let system = CommandContext::new("system");
        let owner = campaign.owner_id.to_string();
        for call in due {
            if capacity == 0 {
                break;
            }
            if !call.has_aggregate && !self.create_call(campaign, call, now).await {
                continue;
            }
            if Suppressions::contains(self.store.db().pool(), &owner, &call.phone).await? {
                let cancel = CallCommand::CancelCall {
                    reason: CancelReason::Suppressed,
                    at: now,
                };
                if self.run_call(call.call_id, cancel, &system).await {
                    report.suppressed.push(call.call_id);
                }
                continue;
            }
            if !self
                .run_call(call.call_id, CallCommand::RequestDial { at: now }, &system)
                .await
            {
                continue;
            }
            capacity -= 1;
            dialed += 1;
            report.dialed.push(call.call_id);
        }
        in_flight.insert(campaign.owner_id, account_in_flight + dialed);
        Ok(())
    }

    async fn create_call(
        &self,
        campaign: &CampaignView,
        call: &CallView,
        now: DateTime<Utc>,
    ) -> bool {
        let Ok(phone) = PhoneNumber::parse(&call.phone, &[])
            .or_else(|_| PhoneNumber::parse(&call.phone, &["KR", "US"]))
        else {
            tracing::error!(call = %call.call_id, "stored phone number does not parse");
            return false;
        };
        let create = CallCommand::CreateCall {
            campaign_id: campaign.id,
            owner_id: campaign.owner_id,
            phone,
            contact_name: call.name.clone(),
            context: call.context.clone(),
            retry: campaign.settings.retry.clone(),
            at: now,
        };
        let context = CommandContext::new("system");
        match self
            .calls
            .execute(&call.call_id.to_string(), create, &context)
            .await
        {
            Ok(()) => true,
            // Created by an earlier tick whose event the view had not shown yet.
            Err(CommandError::Rejected(domain::call::CallError::AlreadyExists)) => true,
            Err(err) => {
                tracing::warn!(call = %call.call_id, error = %err, "cannot create the call");
                false
            }
        }
    }

    async fn end_attempt(
        &self,
        call_id: Uuid,
        reason: String,
        retryable: bool,
        now: DateTime<Utc>,
    ) -> bool {
        let end = CallCommand::RecordAttemptEnded {
            end: AttemptEnd::Failed {
                code: Some(reason),
                retryable,
            },
            duration_secs: 0,
            at: now,
        };
        self.run_call(call_id, end, &CommandContext::new("system"))
            .await
    }

    async fn run_campaign(
        &self,
        id: Uuid,
        command: CampaignCommand,
        context: &CommandContext,
    ) -> bool {
        match self
            .campaigns
            .execute(&id.to_string(), command, context)
            .await
        {
            Ok(()) => true,
            Err(err) => {
                tracing::debug!(campaign = %id, error = %err, "campaign command not applied");
                false
            }
        }
    }

    async fn run_call(&self, id: Uuid, command: CallCommand, context: &CommandContext) -> bool {
        match self.calls.execute(&id.to_string(), command, context).await {
            Ok(()) => true,
            Err(err) => {
                tracing::debug!(call = %id, error = %err, "call command not applied");
                false
            }
        }
    }
}

impl TickReport {
    /// Whether the tick changed anything.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[async_trait]
impl Worker for Dialer {
    fn name(&self) -> &'static str {
        "dialer"
    }

    async fn run_once(&self) -> Result<Progress, WorkerError> {
        let report = self.tick().await?;
        Ok(Progress::worked_if(!report.is_empty()))
    }

    async fn wait_for_work(&self, stop: &CancellationToken) {
        let mut head = self.head.lock().await;
        tokio::select! {
            // Debounced: a burst of appends is one tick.
            _ = head.changed() => tokio::time::sleep(Duration::from_millis(20)).await,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.cancelled() => {}
        }
    }
}
