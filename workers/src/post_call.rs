//! The post-call worker: after each dial attempt it fetches the Twilio price (it appears late),
//! the ElevenLabs conversation details (the provider's transcript and the voice cost) and, for
//! answered attempts, writes the summary (LLM, else the offline summarizer) and its token cost.
//!
//! Its queue is `post_call_work`, fed from the events by the [`PostCallWork`] projection with a
//! checkpoint of its own, so nothing is lost on restart; each step is marked done as it
//! succeeds, and the Call aggregate refuses a second cost of one component for one attempt, so
//! a crash between a command and its mark repeats nothing. Steps not ready yet are tried again
//! with exponential backoff; after [`MAX_TRIES`] the worker gives up on what is left.
//! Single-active across processes (the supervisor holds the lock [`POST_CALL_LOCK`]); the queue's
//! projection runs beside it as a task of its own.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use commands::budget::check_alert;
use commands::cqrs::load;
use commands::store::timestamp;
use commands::summarizer::{OfflineSummarizer, Summarizer, SummaryRequest};
use commands::{CancellationToken, Clock, CommandContext, CommandError, Commands, EventStore};
use domain::call::{Call, CallCommand, CallStatus, CostComponent, SummarySource, TranscriptSource};
use sqlx::Row;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::ports::{CallPrices, Conversations};
use crate::{Progress as Unit, Worker, WorkerError};

/// The lock that keeps the post-call worker single-active.
pub const POST_CALL_LOCK: &str = "post_call_worker";

/// What providers charge, for the costs they do not report themselves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// `ELEVENLABS_RATE_PER_MINUTE`: US dollars per conversation minute when the details carry
    /// no `cost_fiat` (default 0.10).
    pub elevenlabs_per_minute: f64,
    /// `OPENAI_INPUT_RATE`: US dollars per 1M prompt tokens (default 0.15, gpt-4o-mini).
    pub openai_input_per_million: f64,
    /// `OPENAI_OUTPUT_RATE`: US dollars per 1M completion tokens (default 0.60, gpt-4o-mini).
    pub openai_output_per_million: f64,
}

impl Default for Rates {
    fn default() -> Self {
        Self {
            elevenlabs_per_minute: 0.10,
            openai_input_per_million: 0.15,
            openai_output_per_million: 0.60,
        }
    }
}

impl Rates {
    /// The price of a model call in micro-dollars.
    pub fn llm_micros(&self, prompt_tokens: u32, completion_tokens: u32) -> i64 {
        let dollars = f64::from(prompt_tokens) * self.openai_input_per_million / 1_000_000.0
            + f64::from(completion_tokens) * self.openai_output_per_million / 1_000_000.0;
        (dollars * 1_000_000.0).round() as i64
    }
}

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

/// The providers the worker asks after each attempt.
pub struct PostCallProviders {
    /// Twilio's price of the call (it appears late).
    pub prices: Arc<dyn CallPrices>,
    /// ElevenLabs' conversation details: the provider's transcript and the voice cost.
    pub conversations: Arc<dyn Conversations>,
    /// The LLM that writes summaries; none = offline summaries only.
    pub summarizer: Option<Arc<dyn Summarizer>>,
}

/// Everything the worker talks to.
pub struct PostCallWorker {
    store: EventStore,
    calls: Commands<Call>,
    clock: Arc<dyn Clock>,
    providers: PostCallProviders,
    rates: Rates,
    timing: WorkerTiming,
    /// Accounts charged, with when to check their budget alert: the ledger the alert reads is
    /// filled by a projection a moment after each cost.
    alert_checks: Mutex<BTreeMap<String, Instant>>,
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
    /// A worker asking `providers` about each finished attempt.
    pub fn new(
        store: EventStore,
        clock: Arc<dyn Clock>,
        providers: PostCallProviders,
        rates: Rates,
        timing: WorkerTiming,
    ) -> Self {
        Self {
            calls: Commands::new(store.clone(), ()),
            store,
            clock,
            providers,
            rates,
            timing,
            alert_checks: Mutex::default(),
        }
    }

    /// One pass over the due rows; returns how many were worked and the accounts charged.
    async fn pass(&self) -> Result<(usize, Vec<String>), sqlx::Error> {
        let now = self.clock.now();
        let pool = self.store.db().pool();
        // The limit is in the text, not bound (see `commands::db`): this runs every pass.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT call_id, attempt, tries, telephony_done, details_done, summary_done \
             FROM post_call_work WHERE done = 0 AND due_at IS NOT NULL AND due_at <= $1 \
             ORDER BY due_at LIMIT {BATCH}"
        )))
        .bind(timestamp(now))
        .fetch_all(pool)
        .await?;
        let mut charged = Vec::new();
        let worked = rows.len();
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
        Ok((worked, charged))
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
                Some(sid) => match self.providers.prices.call_price(sid).await {
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
                Some(conversation_id) => match self
                    .providers
                    .conversations
                    .conversation(conversation_id, self.rates.elevenlabs_per_minute)
                    .await
                {
                    Ok(details) if details.finished => {
                        let lines = details.lines;
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
                                amount_micros: details.cost_micros,
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
        let (summary, source) = match &self.providers.summarizer {
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

#[async_trait]
impl Worker for PostCallWorker {
    fn name(&self) -> &'static str {
        "post_call"
    }

    /// Checks the budget alerts that are due, then works one batch of the queue.
    async fn run_once(&self) -> Result<Unit, WorkerError> {
        let due: Vec<String> = {
            let mut checks = self.alert_checks.lock().await;
            let now = Instant::now();
            let due: Vec<String> = checks
                .iter()
                .filter(|(_, at)| **at <= now)
                .map(|(owner, _)| owner.clone())
                .collect();
            for owner in &due {
                checks.remove(owner);
            }
            due
        };
        for owner in due {
            if let Err(error) = check_alert(&self.store, &owner, self.clock.now()).await {
                tracing::warn!(%error, "could not check the budget alert");
            }
        }
        let (worked, charged) = self.pass().await?;
        let check_at = Instant::now() + self.timing.poll;
        let mut checks = self.alert_checks.lock().await;
        for owner in charged {
            checks.entry(owner).or_insert(check_at);
        }
        Ok(if worked > 0 { Unit::Worked } else { Unit::Idle })
    }

    async fn wait_for_work(&self, stop: &CancellationToken) {
        crate::wait_for_tick(self.timing.poll, stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_priced_per_million() {
        let rates = Rates::default();
        // 1,000 prompt tokens at $0.15/M + 500 completion tokens at $0.60/M = $0.00045.
        assert_eq!(rates.llm_micros(1_000, 500), 450);
    }
}
