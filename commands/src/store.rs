//! The event store: our own cqrs-es `PersistedEventRepository` over Postgres or SQLite, with a
//! gapless global position that catch-up readers follow.
//!
//! Design of the global position: every append first increments the single row of
//! `event_position` and keeps that row locked until it commits, so appends take their positions
//! one transaction after another and a higher position can never become visible before a lower
//! one. A rolled-back append gives its positions back with the rollback, so positions have no
//! gaps either; a reader that asks for "everything after the last position I saw" can therefore
//! never skip an event, however many writers run at once.
//!
//! Tamper evidence: the same locked row carries the hash of the last event, so each append
//! chains its events to their predecessor without another lock (see [`chain_hash`] and
//! [`EventStore::verify_chain`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use cqrs_es::Aggregate;
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use crate::db::Db;
use crate::leader::{Fence, LeaseLost};
use crate::metrics::Metrics;

mod chain;
pub use chain::{ChainFields, ChainProblem, ChainReport, GENESIS_HASH, chain_hash};

/// A `SELECT` of every column of `events`, followed by the given clauses.
macro_rules! select_events {
    ($clauses:literal) => {
        concat!(
            "SELECT global_position, event_id, aggregate_type, aggregate_id, sequence, event_type, ",
            "event_version, payload, metadata, recorded_at FROM events ",
            $clauses
        )
    };
}

/// An event as stored, with its place in the global order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub position: i64,
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: EventMetadata,
    pub recorded_at: DateTime<Utc>,
}

/// Who caused an event and in answer to what.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// A user id, or `system`, `twilio`, `elevenlabs`.
    #[serde(default)]
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
}

impl EventMetadata {
    /// Reads the metadata map cqrs-es carries with each event.
    pub fn from_map(map: &HashMap<String, String>) -> Self {
        Self {
            actor: map.get("actor").cloned().unwrap_or_default(),
            correlation_id: map.get("correlation_id").cloned(),
            causation_id: map.get("causation_id").cloned(),
        }
    }

    /// The map form cqrs-es carries with each event.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::from([("actor".to_owned(), self.actor.clone())]);
        if let Some(id) = &self.correlation_id {
            map.insert("correlation_id".to_owned(), id.clone());
        }
        if let Some(id) = &self.causation_id {
            map.insert("causation_id".to_owned(), id.clone());
        }
        map
    }
}

/// Errors of the store's own operations (cqrs-es calls get `PersistenceError`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("another writer appended to this aggregate first")]
    Conflict,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored event at position {position} is unreadable: {reason}")]
    Corrupt { position: i64, reason: String },
    /// Work under a lease whose epoch has moved on (see [`crate::leader::Fence`]).
    #[error(transparent)]
    LeaseLost(#[from] LeaseLost),
}

impl From<StoreError> for PersistenceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict => Self::OptimisticLockError,
            StoreError::Database(e) => Self::ConnectionError(Box::new(e)),
            corrupt @ StoreError::Corrupt { .. } => Self::DeserializationError(Box::new(corrupt)),
            StoreError::LeaseLost(lost) => Self::UnknownError(Box::new(lost)),
        }
    }
}

/// Formats a time the way every text timestamp column stores it (sorts like the time itself).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a stored text timestamp.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The event store. Cheap to clone; clones share the pool, the head watcher and the appends
/// waiting for their group.
#[derive(Clone)]
pub struct EventStore {
    db: Db,
    head: Arc<watch::Sender<i64>>,
    metrics: Arc<Metrics>,
    appends: Arc<Appends>,
}

/// The most events one group commit writes (each takes 12 bind parameters; SQLite allows
/// 32,766 in a statement, Postgres 65,535).
const GROUP_EVENTS: usize = 1000;

/// What an append answers when the task writing its group died without answering.
const WRITER_GONE: StoreError = StoreError::Database(sqlx::Error::WorkerCrashed);

/// Appends waiting for the writer, and the writer's turn.
#[derive(Default)]
struct Appends {
    queue: std::sync::Mutex<Vec<PendingAppend>>,
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl Appends {
    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<PendingAppend>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One caller's events and where its positions go.
struct PendingAppend {
    events: Vec<SerializedEvent>,
    reply: oneshot::Sender<Result<Vec<i64>, StoreError>>,
}

impl PendingAppend {
    fn answer(self, result: Result<Vec<i64>, StoreError>) {
        // A caller that stopped waiting does not need its answer; its events are written.
        let _ = self.reply.send(result);
    }
}

impl EventStore {
    /// Opens the store on an already migrated database.
    pub async fn open(db: Db, metrics: Arc<Metrics>) -> Result<Self, StoreError> {
        let store = Self {
            db,
            head: Arc::new(watch::channel(0).0),
            metrics,
            appends: Arc::default(),
        };
        let head = store.head().await?;
        store.head.send_replace(head);
        Ok(store)
    }

    /// The database behind the store.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The metrics the store reports to.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Watches the highest position this process has appended (a wake-up for followers; the
    /// database stays the truth, since other processes append too).
    pub fn watch_head(&self) -> watch::Receiver<i64> {
        self.head.subscribe()
    }

    /// The highest committed global position.
    pub async fn head(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT last FROM event_position WHERE id = 1")
                .fetch_one(self.db.pool())
                .await?,
        )
    }

    /// Appends events of one aggregate atomically and returns their global positions.
    ///
    /// Fails with [`StoreError::Conflict`] when any sequence number is already taken.
    ///
    /// Appends that arrive while another is being written wait and then go in together, in
    /// one transaction (group commit): the position row is locked and the log flushed once per
    /// group, not once per append. A group that fails (a conflict in one of its appends) is
    /// written again one append at a time, so each append still succeeds or fails on its own.
    pub async fn append(&self, events: &[SerializedEvent]) -> Result<Vec<i64>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, mut answer) = oneshot::channel();
        self.appends.queue().push(PendingAppend {
            events: events.to_vec(),
            reply,
        });
        // Written by an earlier group while we waited for the turn: then we need no turn (taking
        // it anyway would make each waiter write a group of whatever came in since, one by one).
        let writer = tokio::select! {
            biased;
            written = &mut answer => return written.unwrap_or(Err(WRITER_GONE)),
            writer = Arc::clone(&self.appends.writer).lock_owned() => writer,
        };
        let waiting = std::mem::take(&mut *self.appends.queue());
        if !waiting.is_empty() {
            let store = self.clone();
            // Its own task: a caller that stops waiting cannot abandon the others' appends.
            tokio::spawn(async move {
                let _writer = writer;
                store.write_group(waiting).await;
            });
        }
        // An earlier writer took ours along, or the task above will answer.
        answer.await.unwrap_or(Err(WRITER_GONE))
    }

    /// Writes `waiting` in groups of at most [`GROUP_EVENTS`] events and answers each append.
    async fn write_group(&self, mut waiting: Vec<PendingAppend>) {
        while !waiting.is_empty() {
            let mut take = 0;
            let mut events = 0;
            for pending in &waiting {
                if take > 0 && events + pending.events.len() > GROUP_EVENTS {
                    break;
                }
                events += pending.events.len();
                take += 1;
            }
            let group: Vec<PendingAppend> = waiting.drain(..take).collect();
            let all: Vec<&SerializedEvent> = group.iter().flat_map(|p| &p.events).collect();
            let written = self.append_now(&all).await;
            match written {
                Ok(positions) => {
                    let mut rest = positions.as_slice();
                    for pending in group {
                        let (mine, after) = rest.split_at(pending.events.len());
                        rest = after;
                        pending.answer(Ok(mine.to_vec()));
                    }
                }
                Err(error) if group.len() == 1 => {
                    let mut group = group;
                    group.remove(0).answer(Err(error));
                }
                Err(_) => {
                    // Someone's conflict (or a failure) sank the group: each on its own.
                    for pending in group {
                        let events: Vec<&SerializedEvent> = pending.events.iter().collect();
                        let written = self.append_now(&events).await;
                        pending.answer(written);
                    }
                }
            }
        }
    }

    /// One transaction: takes the next positions, chains and inserts `events`, commits.
    async fn append_now(&self, events: &[&SerializedEvent]) -> Result<Vec<i64>, StoreError> {
        let count = events.len() as i64;
        let recorded_at = timestamp(Utc::now());
        let mut tx = self.db.begin_write().await?;
        // Taking the row lock first serialises appends: see the module comment.
        let row = sqlx::query(
            "UPDATE event_position SET last = last + $1 WHERE id = 1 RETURNING last, last_hash",
        )
        .bind(count)
        .fetch_one(&mut *tx)
        .await?;
        let last: i64 = row.try_get("last")?;
        let mut prev_hash: String = row.try_get("last_hash")?;
        let first = last - count + 1;
        let sql = insert_statement(events.len());
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (offset, event) in events.iter().enumerate() {
            let metadata = match &event.metadata {
                Value::Object(map) => Value::Object(map.clone()),
                _ => Value::Object(Default::default()),
            };
            let row = ChainFields {
                event_id: Uuid::now_v7().to_string(),
                aggregate_type: event.aggregate_type.clone(),
                aggregate_id: event.aggregate_id.clone(),
                sequence: event.sequence as i64,
                event_type: event.event_type.clone(),
                event_version: event.event_version.clone(),
                payload: event.payload.to_string(),
                metadata: metadata.to_string(),
                recorded_at: recorded_at.clone(),
            };
            let hash = chain_hash(&prev_hash, &row);
            query = query
                .bind(first + offset as i64)
                .bind(row.event_id)
                .bind(row.aggregate_type)
                .bind(row.aggregate_id)
                .bind(row.sequence)
                .bind(row.event_type)
                .bind(row.event_version)
                .bind(row.payload)
                .bind(row.metadata)
                .bind(row.recorded_at)
                .bind(prev_hash)
                .bind(hash.clone());
            prev_hash = hash;
        }
        if let Err(err) = query.execute(&mut *tx).await {
            let conflict = err
                .as_database_error()
                .is_some_and(|db_err| db_err.is_unique_violation());
            return Err(if conflict {
                StoreError::Conflict
            } else {
                err.into()
            });
        }
        sqlx::query("UPDATE event_position SET last_hash = $1 WHERE id = 1")
            .bind(prev_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.metrics.events_appended(events.len() as u64);
        self.head.send_if_modified(|head| {
            let advanced = last > *head;
            *head = (*head).max(last);
            advanced
        });
        Ok((first..=last).collect())
    }

    /// Events after `position` in global order, at most `limit` of them.
    pub async fn read_after(
        &self,
        position: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        // The limit is in the text, not bound (see `db`): every poller runs this.
        let sql = format!(
            "{} WHERE global_position > $1 ORDER BY global_position LIMIT {limit}",
            select_events!("")
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(position)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(stored_event).collect()
    }

    /// Every event of one aggregate (whatever its type), oldest first.
    pub async fn read_aggregate(&self, aggregate_id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(select_events!(
            "WHERE aggregate_id = $1 ORDER BY global_position"
        ))
        .bind(aggregate_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(stored_event).collect()
    }

    /// The first event of one aggregate (whatever its type): one indexed row, however long its
    /// history.
    pub async fn read_first(&self, aggregate_id: &str) -> Result<Option<StoredEvent>, StoreError> {
        let row = sqlx::query(select_events!(
            "WHERE aggregate_id = $1 ORDER BY global_position LIMIT 1"
        ))
        .bind(aggregate_id)
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(stored_event).transpose()
    }

    /// Events of the given aggregates after `position` in global order, at most `limit`.
    pub async fn read_aggregates(
        &self,
        aggregate_ids: &[String],
        position: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        // The first `limit` of the union are among the first `limit` of each chunk.
        let mut events = Vec::new();
        for ids in aggregate_ids.chunks(crate::db::IN_LIST_CHUNK) {
            let placeholders = crate::db::placeholders(3, ids.len());
            let sql = format!(
                "{} WHERE global_position > $1 AND aggregate_id IN ({placeholders}) \
                 ORDER BY global_position LIMIT $2",
                select_events!("")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(position).bind(limit);
            for id in ids {
                query = query.bind(id.clone());
            }
            for row in query.fetch_all(self.db.pool()).await? {
                events.push(stored_event(&row)?);
            }
        }
        events.sort_by_key(|event| event.position);
        events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(events)
    }

    /// The saved position of a named follower (0 when it has none yet).
    pub async fn checkpoint(&self, name: &str) -> Result<i64, StoreError> {
        checkpoint(self.db.pool(), name).await
    }

    /// Saves the position of a named follower that runs without a lease.
    pub async fn save_checkpoint(&self, name: &str, position: i64) -> Result<(), StoreError> {
        self.save_fenced_checkpoint(name, position, None).await
    }

    /// Saves the position of a named follower; under a lease (`fence`) only while the lease is
    /// still at the fence's epoch, else [`StoreError::LeaseLost`] and nothing is saved.
    pub async fn save_fenced_checkpoint(
        &self,
        name: &str,
        position: i64,
        fence: Option<&Fence>,
    ) -> Result<(), StoreError> {
        let Some(fence) = fence else {
            let mut conn = self.db.pool().acquire().await?;
            return save_checkpoint(&mut conn, name, position).await;
        };
        let mut tx = self.db.begin_write().await?;
        fence.hold(&mut tx).await?;
        save_checkpoint(&mut tx, name, position).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn load_serialized(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after_sequence: i64,
    ) -> Result<Vec<SerializedEvent>, StoreError> {
        let rows = sqlx::query(select_events!(
            "\
             WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3 ORDER BY sequence"
        ))
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(after_sequence)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(serialized_event).collect()
    }

    async fn load_type(&self, aggregate_type: &str) -> Result<Vec<SerializedEvent>, StoreError> {
        let rows = sqlx::query(select_events!(
            "WHERE aggregate_type = $1 ORDER BY global_position"
        ))
        .bind(aggregate_type)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(serialized_event).collect()
    }
}

/// The saved position of a named follower, read on any connection (0 when it has none yet).
pub async fn checkpoint<'c, E>(executor: E, name: &str) -> Result<i64, StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let position: Option<i64> =
        sqlx::query_scalar("SELECT position FROM checkpoints WHERE name = $1")
            .bind(name)
            .fetch_optional(executor)
            .await?;
    Ok(position.unwrap_or(0))
}

/// Saves the position of a named follower on the given connection (so a projection can save it
/// in the same transaction as its read-model rows).
pub async fn save_checkpoint(
    conn: &mut AnyConnection,
    name: &str,
    position: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO checkpoints (name, position, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(position)
    .bind(timestamp(Utc::now()))
    .execute(conn)
    .await?;
    Ok(())
}

fn insert_statement(rows: usize) -> String {
    const COLUMNS: usize = 12;
    let mut sql = String::from(
        "INSERT INTO events (global_position, event_id, aggregate_type, aggregate_id, sequence, \
         event_type, event_version, payload, metadata, recorded_at, prev_hash, hash) VALUES ",
    );
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 1..=COLUMNS {
            let sep = if column == 1 { "" } else { ", " };
            let _ = write!(sql, "{sep}${}", row * COLUMNS + column);
        }
        sql.push(')');
    }
    sql
}

fn corrupt(row: &AnyRow, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        position: row.try_get("global_position").unwrap_or(-1),
        reason: reason.to_string(),
    }
}

fn stored_event(row: &AnyRow) -> Result<StoredEvent, StoreError> {
    let event_id: String = row.try_get("event_id")?;
    let payload: String = row.try_get("payload")?;
    let metadata: String = row.try_get("metadata")?;
    let recorded_at: String = row.try_get("recorded_at")?;
    Ok(StoredEvent {
        position: row.try_get("global_position")?,
        event_id: event_id.parse().map_err(|e| corrupt(row, e))?,
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: row.try_get("sequence")?,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: serde_json::from_str(&payload).map_err(|e| corrupt(row, e))?,
        metadata: serde_json::from_str(&metadata).map_err(|e| corrupt(row, e))?,
        recorded_at: parse_timestamp(&recorded_at)
            .ok_or_else(|| corrupt(row, "bad recorded_at"))?,
    })
}

fn serialized_event(row: &AnyRow) -> Result<SerializedEvent, StoreError> {
    let payload: String = row.try_get("payload")?;
    let metadata: String = row.try_get("metadata")?;
    let sequence: i64 = row.try_get("sequence")?;
    Ok(SerializedEvent {
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: sequence as usize,
        aggregate_type: row.try_get("aggregate_type")?,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: serde_json::from_str(&payload).map_err(|e| corrupt(row, e))?,
        metadata: serde_json::from_str(&metadata).map_err(|e| corrupt(row, e))?,
    })
}

async fn replay(events: Vec<SerializedEvent>) -> ReplayStream {
    let (mut feed, stream) = ReplayStream::new(events.len().max(1));
    for event in events {
        // The channel holds every event, so pushing cannot block or fail.
        let _ = feed.push(Ok(event)).await;
    }
    stream
}

impl PersistedEventRepository for EventStore {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        Ok(self.load_serialized(A::TYPE, aggregate_id, 0).await?)
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        Ok(self
            .load_serialized(A::TYPE, aggregate_id, last_sequence as i64)
            .await?)
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        _aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        // Aggregates here are short-lived (one campaign, one call); replaying them is cheap.
        Ok(None)
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        _snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        self.append(events).await?;
        Ok(())
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        Ok(replay(self.load_serialized(A::TYPE, aggregate_id, 0).await?).await)
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        Ok(replay(self.load_type(A::TYPE).await?).await)
    }
}
