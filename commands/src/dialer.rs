//! The dialer: the process manager that turns running campaigns into calls.
//!
//! Each [`Dialer::tick`] looks at the campaign read models (through [`DialerView`], so it acts on
//! what events say) and decides: start scheduled campaigns that are due, report finished calls
//! to their campaign, cancel calls left waiting by a cancelled campaign, pause campaigns over
//! budget, and dial the next contacts in order within the call window, the campaign's
//! concurrency and the account-wide cap, skipping suppressed numbers.
//!
//! The dialer never places calls itself: `RequestDial` moves the aggregate from PENDING to
//! CALLING and records `DialRequested`, and a dial consumer ([`crate::dial_queue`]) places the
//! call through the telephony port, once per attempt. A call still CALLING without a provider
//! call [`PLACEMENT_TIMEOUT`] after its request (no consumer got to it) has its attempt ended as a
//! retryable failure and the retry policy decides.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, TimeZone, Utc};
use domain::PhoneNumber;
use domain::call::{AttemptEnd, Call, CallCommand, CancelReason};
use domain::campaign::{Campaign, CampaignCommand, CampaignStatus, PauseReason};
use domain::policy::CampaignSettings;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::accounts::{AccountSettings, Suppressions};
use crate::cqrs::{CommandContext, CommandError, Commands};
use crate::leader;
use crate::store::EventStore;
use crate::{CancellationToken, Clock};

/// Calls one account may have in flight at once, whatever its campaigns say (PRD NFR).
pub const ACCOUNT_CONCURRENCY: u32 = 5;
/// A call still CALLING without a provider call this long after it was requested is given up.
pub const PLACEMENT_TIMEOUT: chrono::Duration = chrono::Duration::minutes(2);

/// What the telephony side needs to place one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct DialOrder {
    pub call_id: Uuid,
    pub campaign_id: Uuid,
    pub owner_id: Uuid,
    pub attempt: u32,
    pub to: PhoneNumber,
    pub caller_id: Option<String>,
    pub recording: bool,
}

/// Why the telephony side could not place a call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TelephonyError {
    /// The provider refused this call for good (e.g. an invalid number): no retry.
    #[error("rejected by the provider ({code}): {message}")]
    Rejected { code: String, message: String },
    /// The provider could not be reached or was overloaded: the attempt may be retried.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
}

/// The port to the phone network (Twilio in production).
#[async_trait]
pub trait Telephony: Send + Sync + 'static {
    /// Places one attempt and returns the provider's call id.
    async fn place_call(&self, order: &DialOrder) -> Result<String, TelephonyError>;
}

/// A campaign as the dialer sees it.
#[derive(Debug, Clone)]
pub struct CampaignView {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub status: CampaignStatus,
    pub settings: CampaignSettings,
    pub scheduled_at: Option<DateTime<Utc>>,
}

/// A contact's call as the dialer sees it.
#[derive(Debug, Clone)]
pub struct CallView {
    pub call_id: Uuid,
    pub seq: i64,
    pub phone: String,
    pub name: Option<String>,
    pub context: Map<String, Value>,
    /// PENDING, CALLING, IN_PROGRESS, COMPLETED, FAILED, NO_ANSWER or CANCELLED.
    pub status: String,
    pub attempts: u32,
    pub retry_at: Option<DateTime<Utc>>,
    pub provider_sid: Option<String>,
    pub has_aggregate: bool,
    /// The campaign has counted it finished.
    pub reported: bool,
    /// When the current (or last) attempt was requested.
    pub attempt_at: Option<DateTime<Utc>>,
    pub cost_micros: i64,
}

impl CallView {
    fn is_final(&self) -> bool {
        matches!(
            self.status.as_str(),
            "COMPLETED" | "FAILED" | "NO_ANSWER" | "CANCELLED"
        )
    }

    fn in_flight(&self) -> bool {
        matches!(self.status.as_str(), "CALLING" | "IN_PROGRESS")
    }
}

/// The read side the dialer decides from (implemented over the projections).
#[async_trait]
pub trait DialerView: Send + Sync + 'static {
    /// Waits until the read models reflect every event committed so far.
    async fn caught_up(&self);
    /// Campaigns in any of these statuses.
    async fn campaigns(
        &self,
        statuses: &[CampaignStatus],
    ) -> Result<Vec<CampaignView>, DialerError>;
    /// The calls of a campaign the dialer may act on, in contact order: every call in flight,
    /// waiting for a retry, or final but not yet counted by the campaign, and at least the next
    /// few contacts never dialed.
    async fn calls(&self, campaign_id: Uuid) -> Result<Vec<CallView>, DialerError>;
    /// Calls of an account in flight right now, across campaigns.
    async fn in_flight(&self, owner_id: Uuid) -> Result<u32, DialerError>;
    /// An account's spend since a time, in micro-dollars.
    async fn spend_since(&self, owner_id: Uuid, since: DateTime<Utc>) -> Result<i64, DialerError>;
}

/// What stopped a tick.
#[derive(Debug, thiserror::Error)]
pub enum DialerError {
    #[error("read model: {0}")]
    View(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

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
}

/// Start of the budget day and month (Asia/Seoul, where the businesses are).
fn budget_periods(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let local = now.with_timezone(&chrono_tz::Asia::Seoul);
    let day = chrono_tz::Asia::Seoul
        .with_ymd_and_hms(local.year(), local.month(), local.day(), 0, 0, 0)
        .single()
        .map_or(now, |t| t.with_timezone(&Utc));
    let month = chrono_tz::Asia::Seoul
        .with_ymd_and_hms(local.year(), local.month(), 1, 0, 0, 0)
        .single()
        .map_or(now, |t| t.with_timezone(&Utc));
    (day, month)
}

/// Whether `now` falls inside the campaign's call window, read in its time zone.
pub fn in_window(settings: &CampaignSettings, now: DateTime<Utc>) -> bool {
    let window = &settings.call_window;
    window.contains(window.timezone.time_of_day(now))
}

impl Dialer {
    /// A dialer over `store`, deciding from `view`; a dial consumer places what it requests.
    pub fn new(store: EventStore, view: Arc<dyn DialerView>, clock: Arc<dyn Clock>) -> Self {
        Self {
            campaigns: Commands::new(store.clone(), ()),
            calls: Commands::new(store.clone(), ()),
            store,
            view,
            clock,
        }
    }

    /// Runs ticks until `shutdown`: after every committed event (debounced) and every second
    /// (retries and windows are due by time, not by events). One active dialer per cluster.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), DialerError> {
        let Some(_lease) = leader::acquire(self.store.db(), "dialer", &shutdown).await else {
            return Ok(());
        };
        let mut head = self.store.watch_head();
        loop {
            if let Err(err) = self.tick().await {
                tracing::warn!(error = %err, "dialer tick failed; retrying");
            }
            tokio::select! {
                _ = head.changed() => tokio::time::sleep(Duration::from_millis(20)).await,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.cancelled() => return Ok(()),
            }
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
        let mut in_flight: HashMap<Uuid, u32> = HashMap::new();
        for campaign in self.view.campaigns(&active).await? {
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
                    self.end_attempt(call.call_id, "not placed in time".into(), true, now)
                        .await;
                    report.placement_failures.push(call.call_id);
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
                    if self.over_budget(campaign.owner_id, now).await? {
                        let pause = CampaignCommand::PauseCampaign {
                            reason: PauseReason::BudgetExceeded,
                            at: now,
                        };
                        if self.run_campaign(campaign.id, pause, &system).await {
                            report.paused_for_budget.push(campaign.id);
                        }
                        continue;
                    }
                    let account = match in_flight.get(&campaign.owner_id) {
                        Some(count) => *count,
                        None => self.view.in_flight(campaign.owner_id).await?,
                    };
                    let dialed = self
                        .dial_next(&campaign, &calls, account, now, &mut report)
                        .await?;
                    in_flight.insert(campaign.owner_id, account + dialed);
                }
                _ => {}
            }
        }
        Ok(report)
    }

    /// Dials the next due contacts of one running campaign; returns how many were dialed.
    async fn dial_next(
        &self,
        campaign: &CampaignView,
        calls: &[CallView],
        account_in_flight: u32,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<u32, DialerError> {
        if !in_window(&campaign.settings, now) {
            return Ok(0);
        }
        let campaign_in_flight = calls.iter().filter(|c| c.in_flight()).count() as u32;
        let mut capacity = campaign
            .settings
            .max_concurrency
            .saturating_sub(campaign_in_flight)
            .min(ACCOUNT_CONCURRENCY.saturating_sub(account_in_flight));
        let due = calls
            .iter()
            .filter(|c| c.status == "PENDING" && c.retry_at.is_none_or(|at| at <= now));
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
        Ok(dialed)
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
    ) {
        let end = CallCommand::RecordAttemptEnded {
            end: AttemptEnd::Failed {
                code: Some(reason),
                retryable,
            },
            duration_secs: 0,
            at: now,
        };
        self.run_call(call_id, end, &CommandContext::new("system"))
            .await;
    }

    async fn over_budget(&self, owner_id: Uuid, now: DateTime<Utc>) -> Result<bool, DialerError> {
        over_budget(self.store.db().pool(), self.view.as_ref(), owner_id, now).await
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

/// Whether an account has reached its daily or monthly spend cap.
pub async fn over_budget(
    pool: &sqlx::AnyPool,
    view: &dyn DialerView,
    owner_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DialerError> {
    let settings = AccountSettings::load(pool, &owner_id.to_string()).await?;
    let (day, month) = budget_periods(now);
    let micros = |usd: f64| (usd * 1_000_000.0).round() as i64;
    if let Some(cap) = settings.daily_budget_usd
        && view.spend_since(owner_id, day).await? >= micros(cap)
    {
        return Ok(true);
    }
    if let Some(cap) = settings.monthly_budget_usd
        && view.spend_since(owner_id, month).await? >= micros(cap)
    {
        return Ok(true);
    }
    Ok(false)
}

/// A telephony port that remembers every order and answers with made-up call ids; numbers can be
/// set to be rejected or to find the provider unavailable. For tests and for running without a
/// phone provider.
#[derive(Default)]
pub struct InMemoryTelephony {
    orders: std::sync::Mutex<Vec<DialOrder>>,
    rejected: std::sync::Mutex<HashMap<String, TelephonyError>>,
}

impl InMemoryTelephony {
    /// Every order placed so far.
    pub fn orders(&self) -> Vec<DialOrder> {
        self.orders.lock().expect("telephony lock").clone()
    }

    /// Makes every later order to `phone` fail with `error`.
    pub fn fail_number(&self, phone: &str, error: TelephonyError) {
        self.rejected
            .lock()
            .expect("telephony lock")
            .insert(phone.to_owned(), error);
    }
}

#[async_trait]
impl Telephony for InMemoryTelephony {
    async fn place_call(&self, order: &DialOrder) -> Result<String, TelephonyError> {
        if let Some(error) = self
            .rejected
            .lock()
            .expect("telephony lock")
            .get(order.to.as_str())
        {
            return Err(error.clone());
        }
        let mut orders = self.orders.lock().expect("telephony lock");
        orders.push(order.clone());
        Ok(format!("CA{:032x}", orders.len()))
    }
}
