//! The dialing rules and ports: what the dialer (the `workers` crate's process manager) decides
//! from — the read side it sees ([`DialerView`]), the call window ([`in_window`]), the spend caps
//! ([`over_budget`]), the account-wide cap ([`ACCOUNT_CONCURRENCY`]) — and the port to the phone
//! network ([`Telephony`]) a dial consumer places calls through.
//!
//! The dialer never places calls itself: `RequestDial` moves the aggregate from PENDING to
//! CALLING and records `DialRequested`, and a dial consumer ([`crate::dial_queue`]) places the
//! call through the telephony port, once per attempt. A call still CALLING without a provider
//! call [`PLACEMENT_TIMEOUT`] after its request (no consumer got to it) has its attempt ended as a
//! retryable failure and the retry policy decides.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, TimeZone, Utc};
use domain::PhoneNumber;
use domain::campaign::CampaignStatus;
use domain::policy::CampaignSettings;
pub use protocols::twilio::CallStatus as ProviderCallStatus;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::accounts::AccountSettings;

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

/// A call as the provider sees it (for reconciliation).
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderCall {
    pub sid: String,
    pub status: ProviderCallStatus,
    /// Seconds, once the call has ended.
    pub duration_secs: Option<u32>,
}

/// The port to the phone network (Twilio in production).
#[async_trait]
pub trait Telephony: Send + Sync + 'static {
    /// Places one attempt and returns the provider's call id.
    async fn place_call(&self, order: &DialOrder) -> Result<String, TelephonyError>;

    /// What the provider knows of a call; `None` when it has no such call.
    async fn call_state(
        &self,
        provider_call_sid: &str,
    ) -> Result<Option<ProviderCall>, TelephonyError>;

    /// Ends a live call; one that is over already is what was wanted.
    async fn hang_up(&self, provider_call_sid: &str) -> Result<(), TelephonyError>;
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
    /// The call has ended for good.
    pub fn is_final(&self) -> bool {
        matches!(
            self.status.as_str(),
            "COMPLETED" | "FAILED" | "NO_ANSWER" | "CANCELLED"
        )
    }

    /// The call is being placed or is live.
    pub fn in_flight(&self) -> bool {
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

/// Whether an account has reached its daily or monthly spend cap.
pub async fn over_budget(
    pool: &sqlx::AnyPool,
    view: &dyn DialerView,
    owner_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DialerError> {
    let settings = AccountSettings::load(pool, &owner_id.to_string()).await?;
    over_budget_with(&settings, view, owner_id, now).await
}

/// [`over_budget`] for an account whose settings are read already.
pub async fn over_budget_with(
    settings: &AccountSettings,
    view: &dyn DialerView,
    owner_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DialerError> {
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
    /// Every call placed, by sid, as the provider would report it.
    calls: std::sync::Mutex<HashMap<String, ProviderCall>>,
    hung_up: std::sync::Mutex<Vec<String>>,
}

impl InMemoryTelephony {
    /// Every order placed so far.
    pub fn orders(&self) -> Vec<DialOrder> {
        self.orders.lock().expect("telephony lock").clone()
    }

    /// Sets what the provider reports for call `sid` (placed calls start `queued`).
    pub fn set_call(&self, sid: &str, status: ProviderCallStatus, duration_secs: Option<u32>) {
        self.calls.lock().expect("telephony lock").insert(
            sid.to_owned(),
            ProviderCall {
                sid: sid.to_owned(),
                status,
                duration_secs,
            },
        );
    }

    /// Makes the provider forget call `sid` (as a restarted sandbox, or a sid it never had).
    pub fn forget_call(&self, sid: &str) {
        self.calls.lock().expect("telephony lock").remove(sid);
    }

    /// The sids hung up so far, in order.
    pub fn hung_up(&self) -> Vec<String> {
        self.hung_up.lock().expect("telephony lock").clone()
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
        let sid = format!("CA{:032x}", orders.len());
        self.set_call(&sid, ProviderCallStatus::Queued, None);
        Ok(sid)
    }

    async fn call_state(
        &self,
        provider_call_sid: &str,
    ) -> Result<Option<ProviderCall>, TelephonyError> {
        let calls = self.calls.lock().expect("telephony lock");
        Ok(calls.get(provider_call_sid).cloned())
    }

    async fn hang_up(&self, provider_call_sid: &str) -> Result<(), TelephonyError> {
        self.hung_up
            .lock()
            .expect("telephony lock")
            .push(provider_call_sid.to_owned());
        let mut calls = self.calls.lock().expect("telephony lock");
        if let Some(call) = calls.get_mut(provider_call_sid)
            && !call.status.is_terminal()
        {
            call.status = ProviderCallStatus::Completed;
        }
        Ok(())
    }
}
