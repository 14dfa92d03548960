//! Reconciliation: no call is left hanging because a callback never came.
//!
//! Twilio tells us how a call went through webhooks; a process that was down (kill -9, a
//! deploy), a callback lost to a database blip, or a media bridge that died mid-call leaves a call
//! CALLING or IN_PROGRESS with a provider call for good — and such calls fill the account's
//! concurrency slots, so the rest of the campaign is never dialed. The reconciler asks the
//! provider (`GET Calls/{sid}`) about every call still in flight past the ring timeout plus a
//! margin, and again every `recheck` while the provider reports it live (the process holding its
//! media socket may have died, and no callback may ever come) — and, on its first unit after a
//! (re)start or a takeover, about every call in flight. It records the provider's truth exactly
//! as the status webhook would ([`provider_callbacks::status`]), so a callback that arrives late
//! changes nothing: completed, no-answer, busy, failed or canceled end the attempt; a call the
//! provider does not know ends as a retryable failure; a call still live past the maximum call
//! length is hung up.
//!
//! Single-active (lock [`RECONCILER_LOCK`]); it wakes every few seconds.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use commands::CancellationToken;
use commands::dialer::{CallView, DialerView, ProviderCallStatus, Telephony};
use commands::services::ServiceContext;
use commands::services::provider_callbacks::{self, CallbackError};
use domain::campaign::CampaignStatus;
use protocols::twilio::StatusCallback;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::{Progress, Worker, WorkerError};

/// The lock that keeps the reconciler single-active.
pub const RECONCILER_LOCK: &str = "reconciler";

/// When calls count as overdue, and how often the reconciler looks.
#[derive(Debug, Clone, Copy)]
pub struct ReconcileTiming {
    /// A call still in flight this long after its dial request is asked about (the ring
    /// timeout plus a margin for a late callback).
    pub calling_after: Duration,
    /// The longest a call may last once answered (`MAX_CALL_SECONDS`, Twilio's `TimeLimit`).
    pub max_call: Duration,
    /// What is added to `max_call` (and the ring time) before a live call is hung up.
    pub margin: Duration,
    /// A call the provider still reports live is asked about again after this long.
    pub recheck: Duration,
    /// How often the reconciler wakes.
    pub poll: Duration,
}

impl Default for ReconcileTiming {
    fn default() -> Self {
        Self {
            calling_after: Duration::from_secs(90),
            max_call: Duration::from_secs(900),
            margin: Duration::from_secs(60),
            recheck: Duration::from_secs(60),
            poll: Duration::from_secs(5),
        }
    }
}

/// The reconciler.
pub struct Reconciler {
    services: ServiceContext,
    view: Arc<dyn DialerView>,
    telephony: Arc<dyn Telephony>,
    timing: ReconcileTiming,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// When the last unit ran: a long gap means a (re)start or a takeover, so everything in
    /// flight is looked at once.
    last_unit: Option<Instant>,
    /// When each call was last asked about (calls the provider still reports live).
    asked: HashMap<Uuid, Instant>,
}

/// What the reconciler did about one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconciled {
    /// The provider reports it live, within its time: nothing to do.
    StillLive,
    /// The provider's outcome was recorded.
    Recorded,
    /// Live past the maximum call length: hung up.
    HungUp,
}

impl Reconciler {
    /// A reconciler acting through `services`, finding calls in `view`, asking `telephony`.
    pub fn new(
        services: ServiceContext,
        view: Arc<dyn DialerView>,
        telephony: Arc<dyn Telephony>,
        timing: ReconcileTiming,
    ) -> Self {
        Self {
            services,
            view,
            telephony,
            timing,
            state: Mutex::new(State::default()),
        }
    }

    /// The calls with a provider call that are in flight, and whether each is overdue now.
    async fn in_flight(&self) -> Result<Vec<(CallView, bool)>, WorkerError> {
        self.view.caught_up().await;
        let now = self.services.clock.now();
        let statuses = [
            CampaignStatus::Running,
            CampaignStatus::Paused,
            CampaignStatus::Cancelled,
        ];
        let mut found = Vec::new();
        for campaign in self.view.campaigns(&statuses).await? {
            for call in self.view.calls(campaign.id).await? {
                if !call.in_flight() || call.provider_sid.is_none() {
                    continue;
                }
                let age = call
                    .attempt_at
                    .map_or(Duration::MAX, |at| (now - at).to_std().unwrap_or_default());
                // Past the ring time a call should have been answered or ended; a live one is
                // then asked about every `recheck` — its process may have died with it.
                let overdue = age >= self.timing.calling_after;
                found.push((call, overdue));
            }
        }
        Ok(found)
    }

    /// Asks the provider about one call and records what it says.
    pub async fn reconcile(&self, call: &CallView) -> Result<Reconciled, WorkerError> {
        let Some(sid) = call.provider_sid.as_deref() else {
            return Ok(Reconciled::StillLive);
        };
        let reported = self.telephony.call_state(sid).await?;
        let (status, duration) = match reported {
            Some(state) => (state.status, state.duration_secs),
            // The provider has no such call (a sandbox that restarted, a sid from another
            // account): it did not happen, and the contact may be tried again.
            None => (ProviderCallStatus::Failed, Some(0)),
        };
        if !status.is_terminal() {
            return self.still_live(call, sid, status).await;
        }
        tracing::info!(call = %call.call_id, %sid, status = status.as_str(), "reconciled with the provider");
        self.record(call, sid, status, duration).await?;
        Ok(Reconciled::Recorded)
    }

    /// A call the provider reports live: an unanswered-looking call that was answered is
    /// recorded as such; one live past the maximum call length is hung up.
    async fn still_live(
        &self,
        call: &CallView,
        sid: &str,
        status: ProviderCallStatus,
    ) -> Result<Reconciled, WorkerError> {
        if status == ProviderCallStatus::InProgress && call.status == "CALLING" {
            self.record(call, sid, status, None).await?;
            return Ok(Reconciled::Recorded);
        }
        let now = self.services.clock.now();
        let limit = self.timing.calling_after + self.timing.max_call + self.timing.margin;
        let too_long = call
            .attempt_at
            .is_some_and(|at| (now - at).to_std().unwrap_or_default() >= limit);
        if status == ProviderCallStatus::InProgress && too_long {
            tracing::warn!(call = %call.call_id, %sid, "call past the maximum length; hanging up");
            self.telephony.hang_up(sid).await?;
            return Ok(Reconciled::HungUp);
        }
        Ok(Reconciled::StillLive)
    }

    /// Records the provider's status as the status webhook would.
    async fn record(
        &self,
        call: &CallView,
        sid: &str,
        status: ProviderCallStatus,
        duration: Option<u32>,
    ) -> Result<(), WorkerError> {
        let callback = StatusCallback {
            call_sid: sid.to_owned(),
            account_sid: String::new(),
            call_status: status,
            sequence_number: None,
            call_duration: duration,
            sip_response_code: None,
            error_code: (status == ProviderCallStatus::Failed)
                .then(|| "reconciled: unknown at the provider or failed".to_owned()),
            timestamp: None,
        };
        match provider_callbacks::status(
            &self.services,
            call.call_id,
            &callback,
            Some(call.attempts),
            |_| false,
        )
        .await
        {
            Ok(()) | Err(CallbackError::UnknownCall) => Ok(()),
            Err(CallbackError::Store(detail)) => Err(WorkerError::Other(detail.into())),
        }
    }
}

#[async_trait]
impl Worker for Reconciler {
    fn name(&self) -> &'static str {
        "reconciler"
    }

    /// Asks about the overdue calls (every call in flight after a restart) not asked about
    /// lately; `Worked` if any outcome was recorded or a call hung up.
    async fn run_once(&self) -> Result<Progress, WorkerError> {
        let mut state = self.state.lock().await;
        let sweep = state
            .last_unit
            .is_none_or(|at| at.elapsed() > self.timing.poll * 3);
        let calls = self.in_flight().await?;
        let live: std::collections::HashSet<Uuid> = calls.iter().map(|(c, _)| c.call_id).collect();
        state.asked.retain(|id, _| live.contains(id));
        let mut changed = false;
        for (call, overdue) in calls {
            let asked_lately = state
                .asked
                .get(&call.call_id)
                .is_some_and(|at| at.elapsed() < self.timing.recheck);
            if !(sweep || overdue && !asked_lately) {
                continue;
            }
            state.asked.insert(call.call_id, Instant::now());
            match self.reconcile(&call).await {
                Ok(Reconciled::StillLive) => {}
                Ok(Reconciled::Recorded | Reconciled::HungUp) => changed = true,
                // The provider could not answer: ask again at the next recheck.
                Err(WorkerError::Telephony(error)) => {
                    tracing::warn!(call = %call.call_id, %error, "cannot ask the provider about a call");
                }
                Err(other) => return Err(other),
            }
        }
        state.last_unit = Some(Instant::now());
        Ok(Progress::worked_if(changed))
    }

    async fn wait_for_work(&self, stop: &CancellationToken) {
        crate::wait_for_tick(self.timing.poll, stop).await;
    }
}
