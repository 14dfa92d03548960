//! The tamper-evident hash chain over the event log: how an event's hash is computed and how
//! the whole log is checked against it.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{FromRow, Row};

use super::{EventStore, StoreError};

/// The `prev_hash` of the first chained event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The stored text of an event that its hash covers. The position is left out on purpose: the
/// links already fix the order, and without it `verify` can tell an event slipped in between
/// renumbered rows from one taken out.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ChainFields {
    pub event_id: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
    pub metadata: String,
    pub recorded_at: String,
}

/// sha256 (hex) over the predecessor's hash and the event's stored text, each field
/// length-prefixed so no two different events can produce the same input.
pub fn chain_hash(prev_hash: &str, event: &ChainFields) -> String {
    let mut hasher = Sha256::new();
    let sequence = event.sequence.to_string();
    for field in [
        prev_hash,
        &event.event_id,
        &event.aggregate_type,
        &event.aggregate_id,
        &sequence,
        &event.event_type,
        &event.event_version,
        &event.payload,
        &event.metadata,
        &event.recorded_at,
    ] {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// What `verify_chain` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainReport {
    /// The last position handed out.
    pub head: i64,
    /// The hash of the last event as recorded at append time (anchor it elsewhere to detect a
    /// rewrite of the whole table).
    pub head_hash: String,
    /// The first position covered by the chain; earlier events predate it.
    pub chain_start: i64,
    /// Chained events verified before stopping.
    pub checked: u64,
    /// The first problem, if any.
    pub problem: Option<ChainProblem>,
}

/// The first break in the chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainProblem {
    /// The event's stored content no longer matches its hash.
    Edited { position: i64 },
    /// The event was not appended through the store.
    Inserted { position: i64 },
    /// Events at these positions were removed.
    Deleted { first: i64, last: i64 },
}

impl std::fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Edited { position } => write!(f, "event #{position} was edited"),
            Self::Inserted { position } => write!(f, "event #{position} was inserted"),
            Self::Deleted { first, last } if first == last => {
                write!(f, "event #{first} was deleted")
            }
            Self::Deleted { first, last } => write!(f, "events #{first}..#{last} were deleted"),
        }
    }
}

impl EventStore {
    /// Walks the hash chain from its start and reports the first event that was edited,
    /// inserted or deleted (see [`ChainProblem`]).
    pub async fn verify_chain(
        &self,
        mut progress: impl FnMut(i64, i64),
    ) -> Result<ChainReport, StoreError> {
        const PAGE: i64 = 1000;
        let anchor =
            sqlx::query("SELECT last, last_hash, chain_start FROM event_position WHERE id = 1")
                .fetch_one(self.db.pool())
                .await?;
        let head: i64 = anchor.try_get("last")?;
        let head_hash: String = anchor.try_get("last_hash")?;
        let chain_start: i64 = anchor.try_get("chain_start")?;
        let mut report = ChainReport {
            head,
            head_hash: head_hash.clone(),
            chain_start,
            checked: 0,
            problem: None,
        };
        // The two latest rows seen: (position, stored hash).
        let mut previous: Option<(i64, String)> = None;
        let mut before_previous: Option<String> = None;
        let mut expected = 1;
        let mut after = 0;
        loop {
            // The limit is in the text, not bound (see `db`).
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT global_position, event_id, aggregate_type, aggregate_id, sequence, \
                 event_type, event_version, payload, metadata, recorded_at, prev_hash, hash \
                 FROM events WHERE global_position > $1 ORDER BY global_position LIMIT {PAGE}"
            )))
            .bind(after)
            .fetch_all(self.db.pool())
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("global_position")?;
            for row in &rows {
                let position: i64 = row.try_get("global_position")?;
                if position > head {
                    report.problem = Some(ChainProblem::Inserted { position });
                    return Ok(report);
                }
                if position > expected {
                    report.problem = Some(ChainProblem::Deleted {
                        first: expected,
                        last: position - 1,
                    });
                    return Ok(report);
                }
                expected = position + 1;
                let stored_prev: Option<String> = row.try_get("prev_hash")?;
                let stored_hash: Option<String> = row.try_get("hash")?;
                if position < chain_start {
                    // Written before the chain existed (see the 0006 migration).
                    continue;
                }
                let (Some(stored_prev), Some(stored_hash)) = (stored_prev, stored_hash) else {
                    report.problem = Some(ChainProblem::Edited { position });
                    return Ok(report);
                };
                if chain_hash(&stored_prev, &ChainFields::from_row(row)?) != stored_hash {
                    report.problem = Some(ChainProblem::Edited { position });
                    return Ok(report);
                }
                let linked_to = previous.as_ref().map_or(GENESIS_HASH, |(_, h)| h.as_str());
                if stored_prev != linked_to {
                    // Links to the row before its predecessor: the predecessor was slipped in.
                    // Otherwise something it linked to was removed (and the rows renumbered).
                    report.problem = Some(match (&previous, &before_previous) {
                        (Some((inserted, _)), Some(older)) if *older == stored_prev => {
                            ChainProblem::Inserted {
                                position: *inserted,
                            }
                        }
                        _ => ChainProblem::Deleted {
                            first: position,
                            last: position,
                        },
                    });
                    return Ok(report);
                }
                before_previous = previous.take().map(|(_, h)| h);
                previous = Some((position, stored_hash));
                report.checked += 1;
            }
            progress(after, head);
        }
        if expected <= head {
            report.problem = Some(ChainProblem::Deleted {
                first: expected,
                last: head,
            });
        } else if let Some((position, hash)) = &previous
            && *hash != head_hash
        {
            // The recorded head hash names the true last event: a well-forged extra event at
            // the end links to it, anything else means the last event was rewritten.
            let position = *position;
            report.problem = Some(if before_previous.as_deref() == Some(head_hash.as_str()) {
                ChainProblem::Inserted { position }
            } else {
                ChainProblem::Edited { position }
            });
        }
        Ok(report)
    }
}
