//! The post-call worker: after each dial attempt it fetches the Twilio price (it appears late),
//! the ElevenLabs conversation details (the provider's transcript and the voice cost) and, for
//! answered attempts, writes the summary (LLM, else the offline summarizer) and its token cost.
//!
//! Its queue is `post_call_work`, fed from the events by the [`PostCallWork`] projection with a
//! checkpoint of its own, so nothing is lost on restart; each step is marked done as it
//! succeeds, and the Call aggregate refuses a second cost of one component for one attempt, so
//! a crash between a command and its mark repeats nothing. Steps not ready yet are tried again
//! with exponential backoff; after [`MAX_TRIES`] the worker gives up on what is left.
//! Single-active across processes (Postgres advisory lock).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use commands::accounts::AccountSettings;
use commands::cqrs::load;
use commands::store::timestamp;
use commands::summarizer::{OfflineSummarizer, Summarizer, SummaryRequest};
use commands::{
    CancellationToken, Clock, CommandContext, CommandError, Commands, EventBus, EventStore, leader,
};
use domain::call::{Call, CallCommand, CallStatus, CostComponent, SummarySource, TranscriptSource};
use media_bridge::conversation_details::{DetailsClient, TranscriptLines};
use media_bridge::twilio::TwilioClient;
use projections::ProjectionRunner;
use projections::post_call_work::PostCallWork;
use sqlx::Row;

use super::Rates;

/// Tries per attempt before the worker gives up on the steps left.
pub const MAX_TRIES: i64 = 12;
/// Price polls of an unanswered attempt before it counts as free (Twilio leaves it empty).
const UNANSWERED_PRICE_TRIES: i64 = 3;
/// Details polls an answered attempt's summary waits for (the provider's transcript is better).
const SUMMARY_WAITS_FOR_DETAILS: i64 = 4;
/// Rows taken per pass.
const BATCH: i64 = 20;

/// How often and how patiently the worker works.
#[derive(Debug, Clone, Copy)]
pub struct WorkerTiming {
    /// Pause between passes over the queue.
    pub poll: Duration,
    /// Wait before the second try of a step; doubles after each try, up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for WorkerTiming {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(500),
            first_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
        }
    }
}

/// Everything the worker talks to.
pub struct PostCallWorker {
    store: EventStore,
    bus: EventBus,
    calls: Commands<Call>,
    clock: Arc<dyn Clock>,
    twilio: TwilioClient,
    details: DetailsClient,
    summarizer: Option<Arc<dyn Summarizer>>,
    rates: Rates,
    timing: WorkerTiming,
}

/// One row of the queue.
#[derive(Debug, Clone)]
struct Work {
    call_id: String,
    attempt: u32,
    tries: i64,
    telephony_done: bool,
    details_done: bool,
    summary_done: bool,
}

/// What a pass over one row achieved.
#[derive(Debug, Default)]
struct Progress {
    telephony_done: bool,
    details_done: bool,
    summary_done: bool,
    problem: Option<String>,
    /// The account charged, when a cost was recorded.
    charged: Option<String>,
}

impl PostCallWorker {
    /// A worker; `summarizer` is the LLM (none = offline summaries only).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: EventStore,
        bus: EventBus,
        clock: Arc<dyn Clock>,
        twilio: TwilioClient,
        details: DetailsClient,
        summarizer: Option<Arc<dyn Summarizer>>,
        rates: Rates,
        timing: WorkerTiming,
    ) -> Self {
        Self {
            calls: Commands::new(store.clone(), ()),
            store,
            bus,
            clock,
            twilio,
            details,
            summarizer,
            rates,
            timing,
        }
    }

    /// Feeds the queue and works it until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), String> {
        let feeder =
            ProjectionRunner::new(self.store.clone(), self.bus.clone(), Arc::new(PostCallWork));
        let feed = tokio::spawn(feeder.run(shutdown.clone()));
        let Some(_lease) = leader::acquire(self.store.db(), "post_call_worker", &shutdown).await
        else {
            let _ = feed.await;
            return Ok(());
        };
        let mut alert_checks: BTreeSet<String> = BTreeSet::new();
        loop {
            // Alerts look at the ledger, which the projection fills a moment after each cost.
            for owner in std::mem::take(&mut alert_checks) {
                if let Err(error) = check_alert(&self.store, &owner, self.clock.now()).await {
                    tracing::warn!(%error, "could not check the budget alert");
                }
            }
            match self.pass().await {
                Ok(charged) => alert_checks.extend(charged),
                Err(error) => tracing::warn!(%error, "post-call pass failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.timing.poll) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        let _ = feed.await;
        Ok(())
    }

    /// One pass over the due rows; returns the accounts charged.
    async fn pass(&self) -> Result<Vec<String>, sqlx::Error> {
        let now = self.clock.now();
        let pool = self.store.db().pool();
        let rows = sqlx::query(
            "SELECT call_id, attempt, tries, telephony_done, details_done, summary_done \
             FROM post_call_work WHERE done = 0 AND due_at IS NOT NULL AND due_at <= $1 \
             ORDER BY due_at LIMIT $2",
        )
        .bind(timestamp(now))
        .bind(BATCH)
        .fetch_all(pool)
        .await?;
        let mut charged = Vec::new();
        for row in rows {
            let work = Work {
                call_id: row.try_get("call_id")?,
                attempt: u32::try_from(row.try_get::<i64, _>("attempt")?).unwrap_or(0),
                tries: row.try_get("tries")?,
                telephony_done: row.try_get::<i64, _>("telephony_done")? != 0,
                details_done: row.try_get::<i64, _>("details_done")? != 0,
                summary_done: row.try_get::<i64, _>("summary_done")? != 0,
            };
            let progress = self.work(&work).await;
            if let Some(owner) = &progress.charged {
                charged.push(owner.clone());
            }
            self.save(&work, &progress).await?;
        }
        Ok(charged)
    }

    async fn save(&self, work: &Work, progress: &Progress) -> Result<(), sqlx::Error> {
        let now = self.clock.now();
        let tries = work.tries + 1;
        let all_done = progress.telephony_done && progress.details_done && progress.summary_done;
        let give_up = !all_done && tries >= MAX_TRIES;
        if give_up {
            tracing::warn!(
                call_id = %work.call_id,
                attempt = work.attempt,
                problem = progress.problem.as_deref().unwrap_or("not ready"),
                "post-call work given up"
            );
        }
        let backoff = self
            .timing
            .first_backoff
            .saturating_mul(2u32.saturating_pow(u32::try_from(work.tries).unwrap_or(16).min(16)))
            .min(self.timing.max_backoff);
        let due = now + chrono::Duration::from_std(backoff).unwrap_or_default();
        sqlx::query(
            "UPDATE post_call_work SET tries = $1, telephony_done = $2, details_done = $3, \
             summary_done = $4, done = $5, due_at = $6, last_error = $7, updated_at = $8 \
             WHERE call_id = $9 AND attempt = $10",
        )
        .bind(tries)
        .bind(i64::from(progress.telephony_done))
        .bind(i64::from(progress.details_done))
        .bind(i64::from(progress.summary_done))
        .bind(i64::from(all_done || give_up))
        .bind(timestamp(due))
        .bind(progress.problem.clone())
        .bind(timestamp(now))
        .bind(&work.call_id)
        .bind(i64::from(work.attempt))
        .execute(self.store.db().pool())
        .await?;
        Ok(())
    }

    async fn command(&self, call_id: &str, command: CallCommand) -> Result<(), String> {
        match self
            .calls
            .execute(call_id, command, &CommandContext::new("post-call"))
            .await
        {
            Ok(()) => Ok(()),
            Err(CommandError::Rejected(error)) => Err(error.to_string()),
            Err(other) => Err(other.to_string()),
        }
    }

    async fn load(&self, call_id: &str) -> Result<Option<Call>, String> {
        load::<Call>(&self.store, call_id)
            .await
            .map_err(|e| e.to_string())
    }

    /// Tries every step still open for one attempt.
    async fn work(&self, work: &Work) -> Progress {
        let mut progress = Progress {
            telephony_done: work.telephony_done,
            details_done: work.details_done,
            summary_done: work.summary_done,
            ..Progress::default()
        };
        let call = match self.load(&work.call_id).await {
            Ok(Some(call)) => call,
            Ok(None) => {
                progress.telephony_done = true;
                progress.details_done = true;
                progress.summary_done = true;
                return progress;
            }
            Err(error) => {
                progress.problem = Some(error);
                return progress;
            }
        };
        let Some(attempt) = call.results().attempt(work.attempt).cloned() else {
            progress.telephony_done = true;
            progress.details_done = true;
            progress.summary_done = true;
            return progress;
        };
        let owner = call.owner_id().to_string();
        let n = work.attempt;
        let now = self.clock.now();

        if !progress.telephony_done {
            match &attempt.provider_call_sid {
                None => progress.telephony_done = true,
                Some(_) if attempt.costs.contains(&CostComponent::Telephony) => {
                    progress.telephony_done = true;
                }
                Some(sid) => match self.twilio.fetch_price(sid, 1, Duration::ZERO).await {
                    Ok(Some(0)) => progress.telephony_done = true,
                    Ok(Some(micros)) => {
                        let command = CallCommand::RecordAttemptCost {
                            attempt: n,
                            component: CostComponent::Telephony,
                            amount_micros: micros.abs(),
                            at: now,
                        };
                        match self.command(&work.call_id, command).await {
                            Ok(()) => {
                                progress.telephony_done = true;
                                progress.charged = Some(owner.clone());
                            }
                            Err(error) => progress.problem = Some(error),
                        }
                    }
                    Ok(None) if !attempt.answered && work.tries + 1 >= UNANSWERED_PRICE_TRIES => {
                        // Twilio does not charge unanswered calls.
                        progress.telephony_done = true;
                    }
                    Ok(None) => progress.problem = Some("the Twilio price is not there yet".into()),
                    Err(error) => progress.problem = Some(error.to_string()),
                },
            }
        }

        if !progress.details_done {
            match &attempt.conversation_id {
                None => progress.details_done = true,
                Some(conversation_id) => match self.details.fetch(conversation_id).await {
                    Ok(details) if details.is_final() => {
                        let lines = details.lines();
                        let mut ok = true;
                        if !lines.is_empty() {
                            let command = CallCommand::RecordTranscript {
                                attempt: n,
                                lines,
                                source: TranscriptSource::Provider,
                                conversation_id: Some(conversation_id.clone()),
                                at: now,
                            };
                            if let Err(error) = self.command(&work.call_id, command).await {
                                progress.problem = Some(error);
                                ok = false;
                            }
                        }
                        if ok && !attempt.costs.contains(&CostComponent::Voice) {
                            let command = CallCommand::RecordAttemptCost {
                                attempt: n,
                                component: CostComponent::Voice,
                                amount_micros: details
                                    .cost_micros(self.rates.elevenlabs_per_minute),
                                at: now,
                            };
                            match self.command(&work.call_id, command).await {
                                Ok(()) => progress.charged = Some(owner.clone()),
                                Err(error) => {
                                    progress.problem = Some(error);
                                    ok = false;
                                }
                            }
                        }
                        progress.details_done = ok;
                    }
                    Ok(details) => {
                        progress.problem =
                            Some(format!("the conversation is still {}", details.status));
                    }
                    Err(error) if error.is_retryable() => {
                        progress.problem = Some(error.to_string())
                    }
                    Err(error) => {
                        tracing::warn!(%error, "conversation details refused; going on without them");
                        progress.problem = Some(error.to_string());
                        progress.details_done = true;
                    }
                },
            }
        }

        if !progress.summary_done {
            if !attempt.answered || attempt.summarized {
                progress.summary_done = true;
            } else if !attempt.ended {
                progress.problem = Some("the attempt is not over".into());
            } else if progress.details_done || work.tries + 1 >= SUMMARY_WAITS_FOR_DETAILS {
                match self.summarize(&work.call_id, n, now).await {
                    Ok(charged) => {
                        progress.summary_done = true;
                        if charged {
                            progress.charged = Some(owner.clone());
                        }
                    }
                    Err(error) => progress.problem = Some(error),
                }
            }
        }
        progress
    }

    /// Writes the summary of an answered attempt; true when it cost tokens.
    async fn summarize(
        &self,
        call_id: &str,
        attempt: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, String> {
        // Reloaded: the provider's transcript may have just been recorded.
        let call = self.load(call_id).await?.ok_or("the call is gone")?;
        let transcript = call
            .results()
            .attempt(attempt)
            .and_then(|a| a.transcript.clone())
            .unwrap_or_default();
        let reported_result = if call.status() == Some(CallStatus::Completed) {
            call.result()
        } else {
            call.results().reported()
        };
        let request = SummaryRequest {
            transcript,
            reported_result,
        };
        let (summary, source) = match &self.summarizer {
            Some(llm) if !request.transcript.is_empty() => match llm.summarize(&request).await {
                Ok(summary) => (summary, SummarySource::Llm),
                Err(error) => {
                    tracing::warn!(%error, "the model could not summarize; using the offline summary");
                    (OfflineSummarizer::compose(&request), SummarySource::Offline)
                }
            },
            _ => (OfflineSummarizer::compose(&request), SummarySource::Offline),
        };
        let command = CallCommand::RecordSummary {
            attempt,
            summary: summary.summary,
            suggested_result: summary.outcome,
            follow_up_needed: summary.follow_up_needed,
            source,
            at: now,
        };
        self.command(call_id, command).await?;
        let Some(usage) = summary.usage else {
            return Ok(false);
        };
        let command = CallCommand::RecordAttemptCost {
            attempt,
            component: CostComponent::Llm,
            amount_micros: self
                .rates
                .llm_micros(usage.prompt_tokens, usage.completion_tokens),
            at: now,
        };
        self.command(call_id, command).await?;
        Ok(true)
    }
}

/// The first day of the Asia/Seoul month of `now`, `YYYY-MM-01`, and the month, `YYYY-MM`.
pub fn seoul_month(now: DateTime<Utc>) -> (String, String) {
    let day = projections::call_results::seoul_day(now);
    let month = day[..7].to_owned();
    (format!("{month}-01"), month)
}

/// Spend of an account from `from_day` on (Asia/Seoul days), in micro-dollars.
pub async fn spend_from_day(
    pool: &sqlx::AnyPool,
    owner_id: &str,
    from_day: &str,
) -> Result<i64, sqlx::Error> {
    let spend: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(SUM(amount_micros) AS BIGINT) FROM call_costs WHERE owner_id = $1 AND day >= $2",
    )
    .bind(owner_id)
    .bind(from_day)
    .fetch_one(pool)
    .await?;
    Ok(spend.unwrap_or(0))
}

/// Records (once per month) that an account's monthly spend reached its alert threshold.
pub async fn check_alert(
    store: &EventStore,
    owner_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let pool = store.db().pool();
    let settings = AccountSettings::load(pool, owner_id).await?;
    let threshold = (settings.alert_threshold_usd * 1_000_000.0).round() as i64;
    let (first_day, month) = seoul_month(now);
    let spend = spend_from_day(pool, owner_id, &first_day).await?;
    if spend < threshold {
        return Ok(false);
    }
    let inserted = sqlx::query(
        "INSERT INTO budget_alerts (account_id, month, spend_micros, threshold_micros, alerted_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, month) DO NOTHING",
    )
    .bind(owner_id)
    .bind(&month)
    .bind(spend)
    .bind(threshold)
    .bind(timestamp(now))
    .execute(pool)
    .await?
    .rows_affected();
    if inserted > 0 {
        tracing::warn!(
            account = owner_id,
            %month,
            spend_usd = spend as f64 / 1_000_000.0,
            threshold_usd = settings.alert_threshold_usd,
            "monthly spend reached the alert threshold"
        );
    }
    Ok(true)
}
