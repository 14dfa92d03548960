//! The dialer against real aggregates, the real store and read models, an in-memory telephony
//! port and a clock the test moves.

use std::sync::Arc;
use std::time::Duration;

use callbot_tests::TestDb;
use callbot_tests::fixtures::{
    contact, create_campaign, dial_queue, dialer, project_campaign_list, seoul,
};
use commands::EventBus;
use commands::accounts::{AccountSettings, Suppressions};
use commands::dial_queue::Placement;
use commands::dialer::{InMemoryTelephony, ProviderCallStatus, TelephonyError};
use commands::services::ServiceContext;
use commands::services::campaigns_view::CallRecord;
use commands::services::provider_callbacks;
use commands::{CancellationToken, Clock, CommandContext, Commands, EventStore, ManualClock};
use domain::PhoneNumber;
use domain::call::{AttemptEnd, Call, CallCommand, CallResult, CostComponent};
use domain::campaign::{Campaign, CampaignCommand, PauseReason};
use domain::policy::{CampaignSettings, RetryPolicy};
use projections::ProjectionHandle;
use projections::call_list::CallList;
use projections::campaign_list::CampaignList as Campaigns;
use projections::campaign_reads::CampaignReadModels;
use projections::dialer_view::ReadModelView;
use protocols::twilio::StatusCallback;
use uuid::Uuid;
use workers::dial_consumer::StoreDialQueue;
use workers::dialer::{Dialer, TickReport};
use workers::reconciler::{ReconcileTiming, Reconciler};

struct Fixture {
    _db: TestDb,
    store: EventStore,
    clock: Arc<ManualClock>,
    telephony: Arc<InMemoryTelephony>,
    handle: ProjectionHandle,
    dialer: Dialer,
    /// The dial consumer, drained after each tick (embedded transport).
    queue: StoreDialQueue,
    campaigns: Commands<Campaign>,
    calls: Commands<Call>,
    owner: Uuid,
    stop: CancellationToken,
}

fn system() -> CommandContext {
    CommandContext::new("system")
}

impl Fixture {
    async fn new() -> Self {
        Self::on(TestDb::sqlite()).await
    }

    async fn on(db: TestDb) -> Self {
        let store = db.store().await;
        let stop = CancellationToken::new();
        let handle = project_campaign_list(&store, &stop);
        let clock = Arc::new(ManualClock::new(seoul(10, 0)));
        let telephony = Arc::new(InMemoryTelephony::default());
        let dialer = dialer(&store, &handle, &clock);
        let queue = dial_queue(&store, telephony.clone(), &clock);
        Self {
            queue,
            campaigns: Commands::new(store.clone(), ()),
            calls: Commands::new(store.clone(), ()),
            _db: db,
            store,
            clock,
            telephony,
            handle,
            dialer,
            owner: Uuid::new_v4(),
            stop,
        }
    }

    /// Lets the dial consumer place every call requested so far.
    async fn place(&self) -> Vec<Placement> {
        let placements = self.queue.drain().await.unwrap();
        self.settle().await;
        placements
    }

    async fn settle(&self) {
        let head = self.store.head().await.unwrap();
        assert!(self.handle.wait_for(head, Duration::from_secs(10)).await);
    }

    /// A running campaign of the given numbers (010-5550-01NN by NN).
    async fn running(&self, numbers: &[u32], settings: CampaignSettings) -> (Uuid, Vec<Uuid>) {
        let id = self.draft(numbers, settings).await;
        self.campaign(
            id,
            CampaignCommand::StartCampaign {
                at: self.clock.now(),
            },
        )
        .await;
        let calls = self
            .rows(id)
            .await
            .iter()
            .map(|r| r.id.parse().unwrap())
            .collect();
        (id, calls)
    }

    async fn draft(&self, numbers: &[u32], settings: CampaignSettings) -> Uuid {
        let id = Uuid::new_v4();
        let contacts = numbers
            .iter()
            .map(|n| contact(&format!("010-5550-{:04}", 100 + n), &format!("고객{n}")))
            .collect();
        let create = create_campaign(
            self.owner,
            "예약 확인",
            settings,
            contacts,
            self.clock.now(),
        );
        self.campaign(id, create).await;
        id
    }

    /// Runs `command` on aggregate `id` as the system, then lets the read models catch up.
    async fn execute<A>(&self, commands: &Commands<A>, id: Uuid, command: A::Command)
    where
        A: cqrs_es::Aggregate,
        A::Command: Clone,
    {
        commands
            .execute(&id.to_string(), command, &system())
            .await
            .unwrap();
        self.settle().await;
    }

    async fn campaign(&self, id: Uuid, command: CampaignCommand) {
        self.execute(&self.campaigns, id, command).await;
    }

    async fn call(&self, id: Uuid, command: CallCommand) {
        self.execute(&self.calls, id, command).await;
    }

    async fn tick(&self) -> TickReport {
        let report = self.dialer.tick().await.unwrap();
        self.settle().await;
        self.place().await;
        report
    }

    async fn rows(&self, campaign: Uuid) -> Vec<CallRecord> {
        self.settle().await;
        CallList::for_campaign(self.store.db().pool(), &campaign.to_string())
            .await
            .unwrap()
    }

    async fn status(&self, campaign: Uuid) -> String {
        self.settle().await;
        Campaigns::find(
            self.store.db().pool(),
            &self.owner.to_string(),
            &campaign.to_string(),
        )
        .await
        .unwrap()
        .unwrap()
        .status
        .to_string()
    }

    /// The callee answers, says yes, hangs up.
    async fn succeed(&self, call: Uuid) {
        let at = self.clock.now();
        self.call(call, CallCommand::RecordAnswered { at }).await;
        let outcome = CallCommand::ReportOutcome {
            result: CallResult::Success,
            note: None,
            proposed_time: None,
            at,
        };
        self.call(call, outcome).await;
        self.call(
            call,
            CallCommand::RecordAttemptEnded {
                end: AttemptEnd::Completed,
                duration_secs: 45,
                at,
            },
        )
        .await;
    }

    async fn no_answer(&self, call: Uuid) {
        let end = CallCommand::RecordAttemptEnded {
            end: AttemptEnd::NoAnswer,
            duration_secs: 0,
            at: self.clock.now(),
        };
        self.call(call, end).await;
    }

    fn ordered(&self) -> Vec<Uuid> {
        self.telephony.orders().iter().map(|o| o.call_id).collect()
    }

    /// The services a webhook (and the reconciler) acts through, over this fixture's store.
    fn services(&self) -> ServiceContext {
        let view = Arc::new(ReadModelView::new(self.store.clone(), self.handle.clone()));
        ServiceContext {
            store: self.store.clone(),
            bus: EventBus::in_process(),
            clock: self.clock.clone(),
            campaigns: Arc::new(Commands::new(self.store.clone(), ())),
            calls: Arc::new(Commands::new(self.store.clone(), ())),
            reads: Arc::new(CampaignReadModels::new(
                self.store.clone(),
                self.handle.clone(),
            )),
            dialer_view: view,
            preflight: None,
        }
    }

    fn reconciler(&self, timing: ReconcileTiming) -> Reconciler {
        let view = Arc::new(ReadModelView::new(self.store.clone(), self.handle.clone()));
        Reconciler::new(self.services(), view, self.telephony.clone(), timing)
    }

    /// The status and attempts of a call as the read model shows them.
    async fn row(&self, campaign: Uuid, call: Uuid) -> (String, u32) {
        let rows = self.rows(campaign).await;
        let row = rows.iter().find(|r| r.id == call.to_string()).unwrap();
        (row.status.to_string(), u32::try_from(row.attempts).unwrap())
    }
}

fn sid(n: usize) -> String {
    format!("CA{n:032x}")
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Up to `max_retries` retries after the waits `intervals_seconds`.
fn retries(max_retries: u32, intervals_seconds: &[u32]) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        intervals_seconds: intervals_seconds.to_vec(),
    }
}

fn concurrency(n: u32) -> CampaignSettings {
    CampaignSettings {
        max_concurrency: n,
        ..Default::default()
    }
}

#[tokio::test]
async fn dials_in_contact_order_up_to_the_campaign_concurrency() {
    let f = Fixture::new().await;
    let (_, calls) = f.running(&[1, 2, 3, 4, 5, 6], concurrency(2)).await;
    assert_eq!(f.tick().await.dialed, calls[..2].to_vec());
    assert!(f.tick().await.dialed.is_empty(), "two in flight: no room");
    f.succeed(calls[0]).await;
    assert_eq!(f.tick().await.dialed, vec![calls[2]]);
    assert_eq!(f.ordered(), calls[..3].to_vec());
    let order = &f.telephony.orders()[0];
    assert_eq!(order.attempt, 1);
    assert_eq!(order.to.as_str(), "+821055500101");
}

#[tokio::test]
async fn an_account_never_has_more_than_five_calls_in_flight() {
    let f = Fixture::new().await;
    let (_, first) = f.running(&[1, 2, 3, 4], concurrency(5)).await;
    let (_, second) = f.running(&[5, 6, 7, 8], concurrency(5)).await;
    let report = f.tick().await;
    assert_eq!(report.dialed.len(), 5);
    assert_eq!(report.dialed[..4], first[..]);
    assert_eq!(report.dialed[4], second[0]);
    assert!(f.tick().await.dialed.is_empty());
    f.succeed(first[0]).await;
    assert_eq!(f.tick().await.dialed, vec![second[1]]);
}

#[tokio::test]
async fn no_answer_is_retried_three_times_at_the_configured_intervals_then_final() {
    let f = Fixture::new().await;
    let settings = CampaignSettings {
        retry: retries(3, &[60, 120, 300]),
        ..Default::default()
    };
    let (campaign, calls) = f.running(&[5], settings).await;
    let call = calls[0];
    for (attempt, wait) in [(1, 60), (2, 120), (3, 300)] {
        assert_eq!(f.tick().await.dialed, vec![call], "attempt {attempt}");
        f.no_answer(call).await;
        let row = &f.rows(campaign).await[0];
        assert_eq!((row.status.as_str(), row.attempts), ("PENDING", attempt));
        f.clock.advance(chrono::Duration::seconds(wait - 1));
        assert!(
            f.tick().await.dialed.is_empty(),
            "retry {attempt} is not due yet"
        );
        f.clock.advance(chrono::Duration::seconds(1));
    }
    assert_eq!(f.tick().await.dialed, vec![call], "attempt 4");
    f.no_answer(call).await;
    let row = &f.rows(campaign).await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("NO_ANSWER", 4));
    f.clock.advance(chrono::Duration::hours(2));
    let report = f.tick().await;
    assert!(report.dialed.is_empty());
    assert_eq!(report.reported_finished, vec![call]);
    assert_eq!(f.status(campaign).await, "COMPLETED");
    assert_eq!(
        f.telephony
            .orders()
            .iter()
            .map(|o| o.attempt)
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
}

#[tokio::test]
async fn calls_wait_for_the_call_window_in_the_campaigns_time_zone() {
    let f = Fixture::new().await;
    f.clock.advance(seoul(20, 30) - f.clock.now());
    let (_, calls) = f.running(&[1], CampaignSettings::default()).await;
    assert!(
        f.tick().await.dialed.is_empty(),
        "20:30 in Seoul is outside 09:00–20:00"
    );
    f.clock
        .advance(seoul(8, 59) + chrono::Duration::days(1) - f.clock.now()); // 08:59 the next day
    assert!(f.tick().await.dialed.is_empty());
    f.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(f.tick().await.dialed, calls);
}

#[tokio::test]
async fn suppressed_numbers_are_never_dialed_and_end_cancelled_with_the_reason() {
    let f = Fixture::new().await;
    let phone = PhoneNumber::parse_kr("010-5550-0102").unwrap();
    Suppressions::add(
        f.store.db().pool(),
        &f.owner.to_string(),
        &phone,
        "asked",
        f.clock.now(),
    )
    .await
    .unwrap();
    let (campaign, calls) = f.running(&[1, 2, 3], concurrency(5)).await;
    let report = f.tick().await;
    assert_eq!(report.suppressed, vec![calls[1]]);
    assert_eq!(report.dialed, vec![calls[0], calls[2]]);
    let row = &f.rows(campaign).await[1];
    assert_eq!(
        (row.status.as_str(), row.status_reason.as_deref()),
        ("CANCELLED", Some("SUPPRESSED"))
    );
}

#[tokio::test]
async fn crossing_the_budget_pauses_a_running_campaign() {
    let f = Fixture::new().await;
    let settings = AccountSettings {
        monthly_budget_usd: Some(1.0),
        ..Default::default()
    };
    settings
        .save(f.store.db().pool(), &f.owner.to_string(), f.clock.now())
        .await
        .unwrap();
    let (campaign, calls) = f.running(&[1, 2, 3], concurrency(1)).await;
    f.tick().await;
    f.succeed(calls[0]).await;
    let cost = CallCommand::RecordCost {
        component: CostComponent::Telephony,
        amount_micros: 1_200_000,
        at: f.clock.now(),
    };
    f.call(calls[0], cost).await;
    let report = f.tick().await;
    assert_eq!(report.paused_for_budget, vec![campaign]);
    assert!(report.dialed.is_empty());
    assert_eq!(f.status(campaign).await, "PAUSED");
    let summary = Campaigns::find(
        f.store.db().pool(),
        &f.owner.to_string(),
        &campaign.to_string(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(summary.pause_reason, Some(PauseReason::BudgetExceeded));
}

#[tokio::test]
async fn pause_holds_dialing_resume_continues_and_cancel_stops_waiting_calls() {
    let f = Fixture::new().await;
    let settings = CampaignSettings {
        retry: retries(3, &[60]),
        ..concurrency(2)
    };
    let (campaign, calls) = f.running(&[1, 2, 3, 4], settings).await;
    let now = f.clock.now();
    f.campaign(
        campaign,
        CampaignCommand::PauseCampaign {
            reason: PauseReason::User,
            at: now,
        },
    )
    .await;
    assert!(f.tick().await.dialed.is_empty());
    f.campaign(campaign, CampaignCommand::ResumeCampaign { at: now })
        .await;
    assert_eq!(f.tick().await.dialed, calls[..2].to_vec());
    f.no_answer(calls[0]).await; // waits for a retry: a PENDING call with an aggregate
    f.campaign(campaign, CampaignCommand::CancelCampaign { at: now })
        .await;
    let report = f.tick().await;
    assert_eq!(report.cancelled, vec![calls[0]]);
    assert!(report.dialed.is_empty());
    f.succeed(calls[1]).await; // the call in progress finishes
    f.clock.advance(chrono::Duration::minutes(5));
    assert!(f.tick().await.dialed.is_empty());
    let rows = f.rows(campaign).await;
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(
        statuses,
        vec!["CANCELLED", "COMPLETED", "CANCELLED", "CANCELLED"]
    );
    assert_eq!(f.status(campaign).await, "CANCELLED");
}

#[tokio::test]
async fn a_restarted_dialer_never_dials_a_call_twice() {
    let f = Fixture::new().await;
    let (_, calls) = f.running(&[1, 2, 3], concurrency(2)).await;
    assert_eq!(f.tick().await.dialed.len(), 2);
    // A new dialer process, same store: it sees the two calls in flight and leaves them alone.
    let restarted = dialer(&f.store, &f.handle, &f.clock);
    assert!(restarted.tick().await.unwrap().dialed.is_empty());
    assert_eq!(f.telephony.orders().len(), 2);

    // No consumer gets to a request in time (say every dialer process was down): the attempt is
    // on record but no provider call is. After the timeout it counts as failed and the retry
    // policy dials a new attempt; the old request, when it finally comes, is not placed.
    f.succeed(calls[0]).await;
    f.call(
        calls[2],
        CallCommand::CreateCall {
            campaign_id: Uuid::new_v4(),
            owner_id: f.owner,
            phone: PhoneNumber::parse_kr("010-5550-0103").unwrap(),
            contact_name: None,
            context: Default::default(),
            retry: retries(3, &[60]),
            at: f.clock.now(),
        },
    )
    .await;
    f.call(calls[2], CallCommand::RequestDial { at: f.clock.now() })
        .await;
    assert!(restarted.tick().await.unwrap().dialed.is_empty());
    assert_eq!(f.telephony.orders().len(), 2);
    f.clock.advance(commands::dialer::PLACEMENT_TIMEOUT);
    let report = restarted.tick().await.unwrap();
    assert_eq!(report.placement_failures, vec![calls[2]]);
    f.settle().await;
    f.clock.advance(chrono::Duration::seconds(60));
    assert_eq!(restarted.tick().await.unwrap().dialed, vec![calls[2]]);
    f.settle().await;
    // The consumer now sees both requests: the stale first attempt is skipped, the second placed.
    assert_eq!(
        f.place().await,
        vec![
            Placement::Skipped,
            Placement::Placed {
                provider_call_sid: format!("CA{:032x}", 3)
            }
        ]
    );
    let last = f.telephony.orders().pop().unwrap();
    assert_eq!((last.call_id, last.attempt), (calls[2], 2));
}

#[tokio::test]
async fn a_scheduled_campaign_starts_by_itself_when_due() {
    let f = Fixture::new().await;
    let campaign = f.draft(&[1], CampaignSettings::default()).await;
    let start_at = f.clock.now() + chrono::Duration::hours(1);
    f.campaign(
        campaign,
        CampaignCommand::ScheduleCampaign {
            start_at,
            at: f.clock.now(),
        },
    )
    .await;
    assert!(f.tick().await.started.is_empty());
    assert_eq!(f.status(campaign).await, "SCHEDULED");
    f.clock.advance(chrono::Duration::hours(1));
    let report = f.tick().await;
    assert_eq!(report.started, vec![campaign]);
    assert_eq!(report.dialed.len(), 1);
}

#[tokio::test]
async fn a_number_the_provider_rejects_fails_without_retry_and_an_outage_retries() {
    let f = Fixture::new().await;
    f.telephony.fail_number(
        "+821055500110",
        TelephonyError::Rejected {
            code: "21211".into(),
            message: "invalid 'To' number".into(),
        },
    );
    f.telephony
        .fail_number("+821055500106", TelephonyError::Unavailable("503".into()));
    let (campaign, _) = f.running(&[10, 6], concurrency(5)).await;
    f.tick().await;
    let rows = f.rows(campaign).await;
    assert_eq!(rows[0].status.as_str(), "FAILED");
    assert!(rows[0].status_reason.as_deref().unwrap().contains("21211"));
    assert_eq!((rows[1].status.as_str(), rows[1].attempts), ("PENDING", 1));
    assert!(rows[1].retry_at.is_some());
}

#[tokio::test]
async fn on_postgres_the_dialer_keeps_order_concurrency_and_retries() {
    let f = Fixture::on(TestDb::postgres().await).await;
    let settings = CampaignSettings {
        retry: retries(1, &[60]),
        ..concurrency(2)
    };
    let (campaign, calls) = f.running(&[1, 2, 3], settings).await;
    assert_eq!(f.tick().await.dialed, calls[..2].to_vec());
    f.no_answer(calls[0]).await;
    assert_eq!(f.tick().await.dialed, vec![calls[2]]);
    f.clock.advance(chrono::Duration::seconds(60));
    f.succeed(calls[1]).await;
    assert_eq!(f.tick().await.dialed, vec![calls[0]]);
    let rows = f.rows(campaign).await;
    assert_eq!(rows[0].attempts, 2);
}

#[tokio::test]
async fn calls_whose_callbacks_never_came_get_the_providers_outcome_and_late_callbacks_change_nothing()
 {
    let f = Fixture::new().await;
    let (campaign, calls) = f.running(&[1, 2, 3, 4], concurrency(4)).await;
    assert_eq!(f.tick().await.dialed.len(), 4);
    // The process was down while the calls went on: Twilio knows how they went, we don't.
    f.telephony
        .set_call(&sid(1), ProviderCallStatus::Completed, Some(42));
    f.telephony.forget_call(&sid(2));
    f.telephony
        .set_call(&sid(3), ProviderCallStatus::InProgress, None);
    let reconciler = f.reconciler(ReconcileTiming::default());

    // Its first unit after a start asks about every call in flight, overdue or not.
    assert_eq!(workers::drive_to_idle(&reconciler, 10).await.unwrap(), 1);
    assert_eq!(f.row(campaign, calls[0]).await.0, "COMPLETED");
    // Unknown at the provider: a failed attempt that may be retried.
    assert_eq!(f.row(campaign, calls[1]).await, ("PENDING".to_owned(), 1));
    assert_eq!(f.row(campaign, calls[2]).await.0, "IN_PROGRESS");
    assert_eq!(f.row(campaign, calls[3]).await.0, "CALLING");

    // The completed callback arrives after all: nothing changes.
    let head = f.store.head().await.unwrap();
    let late = StatusCallback {
        call_sid: sid(1),
        account_sid: "AC".into(),
        call_status: ProviderCallStatus::Completed,
        sequence_number: Some(4),
        call_duration: Some(42),
        sip_response_code: None,
        error_code: None,
        timestamp: None,
    };
    provider_callbacks::status(&f.services(), calls[0], &late, Some(1), |_| false)
        .await
        .unwrap();
    assert_eq!(f.store.head().await.unwrap(), head);
    // Nothing is overdue yet, so a later unit asks nobody and changes nothing.
    assert_eq!(workers::drive_to_idle(&reconciler, 10).await.unwrap(), 0);
    assert_eq!(f.store.head().await.unwrap(), head);
}

#[tokio::test]
async fn a_call_live_past_the_maximum_length_is_hung_up_and_a_ringing_one_left_alone() {
    let f = Fixture::new().await;
    let (campaign, calls) = f.running(&[1, 2], concurrency(2)).await;
    assert_eq!(f.tick().await.dialed.len(), 2);
    f.telephony
        .set_call(&sid(1), ProviderCallStatus::InProgress, None);
    f.telephony
        .set_call(&sid(2), ProviderCallStatus::Ringing, None);
    let timing = ReconcileTiming {
        recheck: Duration::ZERO,
        ..ReconcileTiming::default()
    };
    let reconciler = f.reconciler(timing);
    // The first unit records the answer; the provider still rings the second call.
    assert_eq!(workers::drive_to_idle(&reconciler, 10).await.unwrap(), 1);
    assert_eq!(f.row(campaign, calls[0]).await.0, "IN_PROGRESS");
    assert!(f.telephony.hung_up().is_empty());

    let limit = timing.calling_after + timing.max_call + timing.margin;
    f.clock.advance(chrono::Duration::from_std(limit).unwrap());
    assert_eq!(workers::drive_to_idle(&reconciler, 1).await.unwrap(), 1);
    assert_eq!(f.telephony.hung_up(), vec![sid(1)]);
    // Twilio ends the call; its completed callback (or the next look) records it.
    assert_eq!(workers::drive_to_idle(&reconciler, 10).await.unwrap(), 1);
    assert_eq!(f.row(campaign, calls[0]).await.0, "COMPLETED");
    assert_eq!(f.row(campaign, calls[1]).await.0, "CALLING");
}
