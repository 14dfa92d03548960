//! The recordings workers (see [`commands::recordings`] for the whole story):
//! - [`RecordingsWorker`] stores (encrypted) or discards the recordings waiting at Twilio once
//!   their call is over;
//! - [`RetentionWorker`] purges recordings stored more than [`RETENTION_DAYS`] ago by the
//!   injected clock, and report files whose links have expired.
//!
//! Both single-active across processes (the supervisor holds the lock). Every step is
//! idempotent, so a retry or a second run picks up where one stopped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use commands::cqrs::load;
use commands::recordings::{RETENTION_DAYS, RecordingFiles};
use commands::store::timestamp;
use commands::{CancellationToken, Clock, CommandContext, CommandError, Commands, EventStore};
use domain::call::{Call, CallCommand, CallError, DiscardReason, RecordingCommand, RecordingStage};
use projections::recordings::{RecordingRow, Recordings};
use sqlx::AnyPool;
use uuid::Uuid;

use crate::ports::{ProviderError, ProviderRecordings};
use crate::{Progress, Worker};

/// The lock that keeps the recordings worker single-active.
pub const RECORDINGS_LOCK: &str = "recordings";
/// The lock that keeps the retention worker single-active.
pub const RETENTION_LOCK: &str = "retention";

/// The report files whose links have expired (a port: reports live on the read side).
#[async_trait]
pub trait ExpiredReports: Send + Sync + 'static {
    /// Deletes the report files expired at `now`; how many.
    async fn purge_expired(
        &self,
        now: DateTime<Utc>,
    ) -> Result<usize, Box<dyn std::error::Error + Send + Sync>>;
}

const BATCH: i64 = 50;
/// The longest wait before retrying a recording that failed.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What one pass did (for logs and tests).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub stored: usize,
    pub discarded: usize,
    pub purged: usize,
    pub failed: usize,
}

/// Why handling one recording failed (it is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("phone provider: {0}")]
    Provider(#[from] ProviderError),
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("event store: {0}")]
    Store(String),
    #[error("read model: {0}")]
    Database(#[from] sqlx::Error),
}

/// Stores, discards and purges recordings.
pub struct RecordingsWorker {
    calls: RecordingCalls,
    provider: Arc<dyn ProviderRecordings>,
    files: RecordingFiles,
    clock: Arc<dyn Clock>,
    poll: Duration,
    /// Recordings that failed: attempts so far and when to try again.
    retry: Mutex<HashMap<Uuid, (u32, tokio::time::Instant)>>,
}

impl RecordingsWorker {
    /// A worker polling the call list every `poll`.
    pub fn new(
        store: EventStore,
        provider: Arc<dyn ProviderRecordings>,
        files: RecordingFiles,
        clock: Arc<dyn Clock>,
        poll: Duration,
    ) -> Self {
        Self {
            calls: RecordingCalls::new(store),
            provider,
            files,
            clock,
            poll,
            retry: Mutex::default(),
        }
    }

    /// Stores or discards every recording waiting at Twilio whose call is over.
    pub async fn process_waiting(&self) -> Pass {
        let mut pass = Pass::default();
        let rows = match Recordings::waiting(self.calls.pool(), BATCH).await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(%error, "cannot read waiting recordings");
                pass.failed += 1;
                return pass;
            }
        };
        for row in rows {
            let Ok(call_id) = row.call_id.parse::<Uuid>() else {
                continue;
            };
            if !self.due(call_id) {
                continue;
            }
            match self.handle(call_id, &row).await {
                Ok(handled) => {
                    self.retry.lock().expect("retry map").remove(&call_id);
                    match handled {
                        Some(Handled::Stored) => pass.stored += 1,
                        Some(Handled::Discarded) => pass.discarded += 1,
                        None => {}
                    }
                }
                Err(error) => {
                    let wait = self.failed(call_id);
                    tracing::warn!(%call_id, %error, retry_in = ?wait, "recording not handled; will retry");
                    pass.failed += 1;
                }
            }
        }
        pass
    }

    fn due(&self, call_id: Uuid) -> bool {
        self.retry
            .lock()
            .expect("retry map")
            .get(&call_id)
            .is_none_or(|(_, at)| *at <= tokio::time::Instant::now())
    }

    fn failed(&self, call_id: Uuid) -> Duration {
        let mut retry = self.retry.lock().expect("retry map");
        let entry = retry
            .entry(call_id)
            .or_insert((0, tokio::time::Instant::now()));
        entry.0 += 1;
        let wait =
            (Duration::from_millis(500) * 2u32.saturating_pow(entry.0.min(10))).min(MAX_BACKOFF);
        entry.1 = tokio::time::Instant::now() + wait;
        wait
    }

    async fn handle(
        &self,
        call_id: Uuid,
        row: &RecordingRow,
    ) -> Result<Option<Handled>, RecordingError> {
        let Some(call) = self.calls.load(call_id).await? else {
            return Ok(None);
        };
        // Consent can still change while the call is live (13 objects mid-call).
        if !call.status().is_some_and(|s| s.is_final()) {
            return Ok(None);
        }
        let Some((sid, RecordingStage::Available)) = call.recording().recording() else {
            // Handled already; the read model has not caught up.
            return Ok(None);
        };
        let sid = sid.to_owned();
        debug_assert_eq!(row.recording_sid.as_deref(), Some(sid.as_str()));
        if !call.recording().consented() {
            let reason = match call.recording().consent() {
                Some(false) => DiscardReason::ConsentRevoked,
                _ => DiscardReason::NoConsent,
            };
            return self.discard(call_id, &sid, reason).await.map(Some);
        }
        // Fetch unless an earlier run already stored the file (and then lost the race to
        // record it).
        let bytes = match self.files.stored_size(&call_id).await {
            Some(bytes) => bytes,
            None => {
                let wav = self.provider.fetch_wav(&sid).await?;
                self.files.write(&call_id, wav).await?
            }
        };
        self.provider.delete(&sid).await?;
        let at = self.clock.now();
        let stored = RecordingCommand::RecordStored {
            recording_sid: sid.clone(),
            bytes,
            at,
        };
        match self.calls.run(call_id, stored).await {
            Ok(()) => {
                tracing::info!(%call_id, bytes, "recording stored encrypted and deleted at Twilio");
                Ok(Some(Handled::Stored))
            }
            Err(RunError::Rejected(CallError::RecordingConsentMissing)) => {
                // Consent went away after all: keep nothing.
                self.files.remove(&call_id).await?;
                self.discard(call_id, &sid, DiscardReason::ConsentRevoked)
                    .await
                    .map(Some)
            }
            Err(RunError::Rejected(error)) => {
                tracing::info!(%call_id, %error, "recording already settled");
                Ok(None)
            }
            Err(RunError::Store(error)) => Err(RecordingError::Store(error)),
        }
    }

    async fn discard(
        &self,
        call_id: Uuid,
        sid: &str,
        reason: DiscardReason,
    ) -> Result<Handled, RecordingError> {
        self.provider.delete(sid).await?;
        self.files.remove(&call_id).await?;
        let command = RecordingCommand::Discard {
            recording_sid: sid.to_owned(),
            reason,
            at: self.clock.now(),
        };
        match self.calls.run(call_id, command).await {
            Ok(()) | Err(RunError::Rejected(_)) => {
                tracing::info!(%call_id, ?reason, "recording discarded at Twilio; nothing kept");
                Ok(Handled::Discarded)
            }
            Err(RunError::Store(error)) => Err(RecordingError::Store(error)),
        }
    }
}

enum Handled {
    Stored,
    Discarded,
}

enum RunError {
    Rejected(CallError),
    Store(String),
}

/// The Call aggregates both workers read and move on by recording commands.
struct RecordingCalls {
    store: EventStore,
    commands: Commands<Call>,
}

impl RecordingCalls {
    fn new(store: EventStore) -> Self {
        Self {
            commands: Commands::new(store.clone(), ()),
            store,
        }
    }

    /// The read models' pool (the `call_list` rows of the recordings).
    fn pool(&self) -> &AnyPool {
        self.store.db().pool()
    }

    async fn load(&self, call_id: Uuid) -> Result<Option<Call>, RecordingError> {
        load::<Call>(&self.store, &call_id.to_string())
            .await
            .map_err(|e| RecordingError::Store(e.to_string()))
    }

    async fn run(&self, call_id: Uuid, command: RecordingCommand) -> Result<(), RunError> {
        let context = CommandContext::new("system");
        match self
            .commands
            .execute(
                &call_id.to_string(),
                CallCommand::Recording(command),
                &context,
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(CommandError::Rejected(error)) => Err(RunError::Rejected(error)),
            Err(other) => Err(RunError::Store(other.to_string())),
        }
    }
}

#[async_trait]
impl Worker for RecordingsWorker {
    fn name(&self) -> &'static str {
        "recordings"
    }

    /// Handles the recordings waiting now; failures are retried per recording with backoff.
    async fn run_once(&self) -> Result<Progress, crate::WorkerError> {
        let pass = self.process_waiting().await;
        if pass != Pass::default() {
            tracing::info!(?pass, "recordings pass");
        }
        Ok(Progress::worked_if(pass.stored + pass.discarded > 0))
    }

    async fn wait_for_work(&self, stop: &CancellationToken) {
        crate::wait_for_tick(self.poll, stop).await;
    }
}

/// Purges recordings past retention and expired report files.
pub struct RetentionWorker {
    calls: RecordingCalls,
    files: RecordingFiles,
    reports: Arc<dyn ExpiredReports>,
    clock: Arc<dyn Clock>,
    poll: Duration,
}

impl RetentionWorker {
    /// A worker looking for what is due every `poll`.
    pub fn new(
        store: EventStore,
        files: RecordingFiles,
        reports: Arc<dyn ExpiredReports>,
        clock: Arc<dyn Clock>,
        poll: Duration,
    ) -> Self {
        Self {
            calls: RecordingCalls::new(store),
            files,
            reports,
            clock,
            poll,
        }
    }

    /// Deletes recordings stored more than [`RETENTION_DAYS`] ago and records each purge.
    pub async fn purge_due(&self) -> Result<usize, RecordingError> {
        let now = self.clock.now();
        let cutoff = timestamp(now - chrono::Duration::days(RETENTION_DAYS));
        let mut purged = 0;
        for row in Recordings::stored_before(self.calls.pool(), &cutoff, BATCH).await? {
            let Ok(call_id) = row.call_id.parse::<Uuid>() else {
                continue;
            };
            // The read model can lag behind a purge of the previous pass: ask the call itself.
            let call = self.calls.load(call_id).await?;
            if call.is_some_and(|call| {
                matches!(
                    call.recording().recording(),
                    Some((_, RecordingStage::Purged))
                )
            }) {
                continue;
            }
            self.files.remove(&call_id).await?;
            match self
                .calls
                .run(call_id, RecordingCommand::Purge { at: now })
                .await
            {
                Ok(()) => {
                    purged += 1;
                    tracing::info!(%call_id, stored_at = ?row.stored_at, "recording purged after retention");
                }
                Err(RunError::Rejected(error)) => {
                    tracing::debug!(%call_id, %error, "purge had no effect");
                }
                Err(RunError::Store(error)) => return Err(RecordingError::Store(error)),
            }
        }
        Ok(purged)
    }

    /// When a recording stored at `stored_at` will be purged.
    pub fn purge_time(stored_at: DateTime<Utc>) -> DateTime<Utc> {
        stored_at + chrono::Duration::days(RETENTION_DAYS)
    }
}

#[async_trait]
impl Worker for RetentionWorker {
    fn name(&self) -> &'static str {
        "retention"
    }

    async fn run_once(&self) -> Result<Progress, crate::WorkerError> {
        let purged = match self.purge_due().await {
            Ok(purged) => purged,
            Err(error) => {
                tracing::warn!(%error, "recording purge failed; retrying next pass");
                0
            }
        };
        if let Err(error) = self.reports.purge_expired(self.clock.now()).await {
            tracing::warn!(%error, "report cleanup failed; retrying next pass");
        }
        Ok(Progress::worked_if(purged > 0))
    }

    async fn wait_for_work(&self, stop: &CancellationToken) {
        crate::wait_for_tick(self.poll, stop).await;
    }
}
