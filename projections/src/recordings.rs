//! The recording columns of `call_list`: consent and the recording's stage, from the Call
//! recording events. The API answers `GET calls/{id}/recording` from them and the recordings
//! worker finds its work in them (recordings waiting at the provider, stored ones past
//! retention).
//!
//! Recording events do not touch `updated_at`: spend is dated by it, and a purge a month later
//! must not move the call's cost into the current month.

use commands::StoredEvent;
use commands::store::timestamp;
use domain::call::CallEvent;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::rows;
use crate::runner::ProjectionError;

/// A call's recording as the read model knows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingRow {
    pub call_id: String,
    pub campaign_id: String,
    pub owner_id: String,
    /// The call's status (the worker waits for a final one).
    pub call_status: String,
    /// `None` before the notice played; `false` once the callee objected.
    pub consent: Option<bool>,
    pub recording_sid: Option<String>,
    /// `AVAILABLE`, `STORED`, `DISCARDED` or `PURGED`.
    pub status: Option<String>,
    /// Size of the plain audio.
    pub bytes: Option<i64>,
    pub duration_secs: Option<i64>,
    pub stored_at: Option<String>,
}

const COLUMNS: &str = "call_id, campaign_id, owner_id, status, recording_consent, recording_sid, \
     recording_status, recording_bytes, recording_duration_secs, recording_stored_at";

/// Queries on the recording columns.
pub struct Recordings;

impl Recordings {
    /// One call's recording state, if the call belongs to `owner_id`.
    pub async fn find(
        pool: &AnyPool,
        owner_id: &str,
        call_id: &str,
    ) -> Result<Option<RecordingRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM call_list WHERE call_id = $1 AND owner_id = $2");
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(call_id)
            .bind(owner_id);
        rows::one(pool, query, recording_row).await
    }

    /// Recordings waiting at the provider, oldest call first.
    pub async fn waiting(pool: &AnyPool, limit: i64) -> Result<Vec<RecordingRow>, sqlx::Error> {
        // The limit is in the text, not bound (see `commands::db`): a worker polls this.
        let sql = format!(
            "SELECT {COLUMNS} FROM call_list WHERE recording_status = 'AVAILABLE' \
             ORDER BY created_at, call_id LIMIT {limit}"
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql));
        rows::all(pool, query, recording_row).await
    }

    /// Stored recordings stored before `cutoff` (RFC 3339 text, as stored).
    pub async fn stored_before(
        pool: &AnyPool,
        cutoff: &str,
        limit: i64,
    ) -> Result<Vec<RecordingRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM call_list WHERE recording_status = 'STORED' \
             AND recording_stored_at < $1 ORDER BY recording_stored_at LIMIT {limit}"
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(cutoff);
        rows::all(pool, query, recording_row).await
    }
}

fn recording_row(row: &AnyRow) -> Result<RecordingRow, sqlx::Error> {
    Ok(RecordingRow {
        call_id: row.try_get("call_id")?,
        campaign_id: row.try_get("campaign_id")?,
        owner_id: row.try_get("owner_id")?,
        call_status: row.try_get("status")?,
        consent: rows::flag_opt(row, "recording_consent")?,
        recording_sid: row.try_get("recording_sid")?,
        status: row.try_get("recording_status")?,
        bytes: row.try_get("recording_bytes")?,
        duration_secs: row.try_get("recording_duration_secs")?,
        stored_at: row.try_get("recording_stored_at")?,
    })
}

/// Applies one recording event to its call's row (other events are ignored).
pub(crate) async fn apply_call_event(
    conn: &mut AnyConnection,
    event: &StoredEvent,
    payload: &CallEvent,
) -> Result<(), ProjectionError> {
    let (assignments, values): (&str, Vec<Option<String>>) = match payload {
        CallEvent::RecordingConsentGiven { .. } => ("recording_consent = 1", vec![]),
        CallEvent::RecordingConsentRevoked { .. } => ("recording_consent = 0", vec![]),
        CallEvent::RecordingAvailable {
            recording_sid,
            duration_secs,
            ..
        } => (
            "recording_sid = $3, recording_status = 'AVAILABLE', \
             recording_duration_secs = CAST($4 AS BIGINT)",
            vec![
                Some(recording_sid.clone()),
                duration_secs.map(|d| d.to_string()),
            ],
        ),
        CallEvent::RecordingStored {
            bytes, stored_at, ..
        } => (
            "recording_status = 'STORED', recording_bytes = CAST($3 AS BIGINT), \
             recording_stored_at = $4",
            vec![Some(bytes.to_string()), Some(timestamp(*stored_at))],
        ),
        CallEvent::RecordingDiscarded { .. } => ("recording_status = 'DISCARDED'", vec![]),
        CallEvent::RecordingPurged { .. } => ("recording_status = 'PURGED'", vec![]),
        _ => return Ok(()),
    };
    rows::update(conn, ("call_list", "call_id"), event, assignments, values).await?;
    Ok(())
}
