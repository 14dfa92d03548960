//! `call_list`: one row per contact of a campaign. Rows are born from `ContactsAdded` (so a
//! campaign's calls are listed before any is dialed) and follow the contact's `Call` aggregate,
//! which the dialer creates when it first dials (or skips) the contact.

use commands::StoredEvent;
use commands::dialer::CallView;
use commands::services::campaigns_view::{
    CallFilter, CallRecord, ConversationEndRecord, CostSplit, PostCallRecord,
};
use commands::store::{parse_timestamp, timestamp};
use domain::call::{CallEvent, CallStatus};
use domain::campaign::CampaignEvent;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::rows;
use crate::runner::ProjectionError;
use crate::stored::{self, wire_name};

const COLUMNS: &str = "call_id, campaign_id, owner_id, seq, phone, name, context, status, result, \
     status_reason, attempts, retry_at, attempt_at, provider_sid, has_aggregate, finished, duration_secs, \
     cost_micros, created_at, updated_at, transcript, transcript_source, conversation_id, summary, \
     suggested_result, follow_up_needed, summary_source, cost_telephony_micros, cost_voice_micros, \
     cost_llm_micros";

/// What the dialer decides from ([`CallView`]): no transcript, summary or cost split.
const DIALER_COLUMNS: &str = "call_id, seq, phone, name, context, status, attempts, retry_at, \
     attempt_at, provider_sid, has_aggregate, finished, cost_micros";

/// Queries on `call_list`; its rows are the campaign services' [`CallRecord`]s.
pub struct CallList;

impl CallList {
    /// How the call's last conversation ended, once the bridge has said so.
    pub async fn conversation_end(
        pool: &AnyPool,
        call_id: &str,
    ) -> Result<Option<ConversationEndRecord>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT end_reason, end_close_code, end_detail FROM call_list \
             WHERE call_id = $1 AND end_reason IS NOT NULL",
        )
        .bind(call_id)
        .fetch_optional(pool)
        .await?;
        row.map(|row| {
            Ok(ConversationEndRecord {
                reason: row.try_get("end_reason")?,
                close_code: row.try_get("end_close_code")?,
                detail: row.try_get("end_detail")?,
            })
        })
        .transpose()
    }

    /// A campaign's calls in dialing order.
    pub async fn for_campaign(
        pool: &AnyPool,
        campaign_id: &str,
    ) -> Result<Vec<CallRecord>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM call_list WHERE campaign_id = $1 ORDER BY seq");
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(campaign_id);
        rows::all(pool, query, call_row).await
    }

    /// The calls of a campaign the dialer may act on, in dialing order: those in flight, those
    /// final but not yet counted by the campaign, those waiting for a retry, and the next
    /// `fresh` contacts never dialed. Its cost follows the work in progress, not the size of
    /// the campaign, and it reads only the columns the dialer decides from (every round runs
    /// it for every active campaign).
    pub async fn for_dialer(
        pool: &AnyPool,
        campaign_id: &str,
        fresh: i64,
    ) -> Result<Vec<CallView>, sqlx::Error> {
        // The limit is in the text, not bound (see `commands::db`).
        let sql = format!(
            "SELECT {DIALER_COLUMNS} FROM call_list WHERE campaign_id = $1 AND has_aggregate = 1 AND \
             (status IN ('CALLING', 'IN_PROGRESS', 'PENDING') OR finished = 0) \
             UNION ALL \
             SELECT * FROM (SELECT {DIALER_COLUMNS} FROM call_list WHERE campaign_id = $1 \
             AND has_aggregate = 0 AND status = 'PENDING' ORDER BY seq LIMIT {fresh}) fresh"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(campaign_id)
            .fetch_all(pool)
            .await?;
        let mut calls: Vec<CallView> = rows.iter().map(dialer_row).collect::<Result<_, _>>()?;
        calls.sort_by_key(|call| call.seq);
        Ok(calls)
    }

    /// A page of a campaign's calls, filtered, and the total matching.
    pub async fn page(
        pool: &AnyPool,
        campaign_id: &str,
        filter: &CallFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<CallRecord>, i64), sqlx::Error> {
        let clause =
            "WHERE campaign_id = $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR result = $3)";
        let status = filter.status.clone().unwrap_or_default();
        let result = filter.result.clone().unwrap_or_default();
        let sql =
            format!("SELECT {COLUMNS} FROM call_list {clause} ORDER BY seq LIMIT $4 OFFSET $5");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(campaign_id)
            .bind(&status)
            .bind(&result)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
        let count_sql = format!("SELECT COUNT(*) FROM call_list {clause}");
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql))
            .bind(campaign_id)
            .bind(&status)
            .bind(&result)
            .fetch_one(pool)
            .await?;
        Ok((rows.iter().map(call_row).collect::<Result<_, _>>()?, total))
    }

    /// One call, if it belongs to `owner_id`.
    pub async fn find(
        pool: &AnyPool,
        owner_id: &str,
        call_id: &str,
    ) -> Result<Option<CallRecord>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM call_list WHERE call_id = $1 AND owner_id = $2");
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(call_id)
            .bind(owner_id);
        rows::one(pool, query, call_row).await
    }

    /// Calls of an account that are being dialed or talked to right now.
    pub async fn in_flight(pool: &AnyPool, owner_id: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM call_list WHERE owner_id = $1 AND status IN ('CALLING', 'IN_PROGRESS')",
        )
        .bind(owner_id)
        .fetch_one(pool)
        .await
    }
}

fn dialer_row(row: &AnyRow) -> Result<CallView, sqlx::Error> {
    let id: String = row.try_get("call_id")?;
    let context: String = row.try_get("context")?;
    let timestamp = |column: &str| -> Result<_, sqlx::Error> {
        let text: Option<String> = row.try_get(column)?;
        Ok(text.as_deref().and_then(parse_timestamp))
    };
    Ok(CallView {
        call_id: id.parse().map_err(|e| sqlx::Error::ColumnDecode {
            index: "call_id".to_owned(),
            source: Box::new(e),
        })?,
        seq: row.try_get("seq")?,
        phone: row.try_get("phone")?,
        name: row.try_get("name")?,
        context: serde_json::from_str(&context).unwrap_or_default(),
        status: rows::wire::<CallStatus>(row, "status")?.as_str().to_owned(),
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
        retry_at: timestamp("retry_at")?,
        provider_sid: row.try_get("provider_sid")?,
        has_aggregate: row.try_get::<i64, _>("has_aggregate")? != 0,
        reported: row.try_get::<i64, _>("finished")? != 0,
        attempt_at: timestamp("attempt_at")?,
        cost_micros: row.try_get("cost_micros")?,
    })
}

fn call_row(row: &AnyRow) -> Result<CallRecord, sqlx::Error> {
    let context: String = row.try_get("context")?;
    Ok(CallRecord {
        id: row.try_get("call_id")?,
        campaign_id: row.try_get("campaign_id")?,
        owner_id: row.try_get("owner_id")?,
        seq: row.try_get("seq")?,
        phone_number: row.try_get("phone")?,
        name: row.try_get("name")?,
        context: serde_json::from_str(&context).unwrap_or_default(),
        status: rows::wire(row, "status")?,
        result: rows::wire_opt(row, "result")?,
        status_reason: row.try_get("status_reason")?,
        attempts: row.try_get("attempts")?,
        retry_at: row.try_get("retry_at")?,
        attempt_at: row.try_get("attempt_at")?,
        provider_sid: row.try_get("provider_sid")?,
        has_aggregate: row.try_get::<i64, _>("has_aggregate")? != 0,
        reported: row.try_get::<i64, _>("finished")? != 0,
        duration_secs: row.try_get("duration_secs")?,
        cost_micros: row.try_get("cost_micros")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        post_call: PostCallRecord {
            transcript: crate::call_results::parse_transcript(row.try_get("transcript")?),
            transcript_source: row.try_get("transcript_source")?,
            conversation_id: row.try_get("conversation_id")?,
            summary: row.try_get("summary")?,
            suggested_result: row.try_get("suggested_result")?,
            follow_up_needed: rows::flag_opt(row, "follow_up_needed")?,
            summary_source: row.try_get("summary_source")?,
        },
        cost_split: CostSplit {
            telephony_micros: row.try_get("cost_telephony_micros")?,
            voice_micros: row.try_get("cost_voice_micros")?,
            llm_micros: row.try_get("cost_llm_micros")?,
        },
    })
}

/// The campaign events that shape the call list.
pub(crate) async fn apply_campaign_event(
    conn: &mut AnyConnection,
    event: &StoredEvent,
    payload: &CampaignEvent,
) -> Result<(), ProjectionError> {
    let campaign_id = event.aggregate_id.as_str();
    let at = timestamp(event.recorded_at);
    match payload {
        CampaignEvent::ContactsAdded { contacts, .. } => {
            let owner: Option<String> =
                sqlx::query_scalar("SELECT owner_id FROM campaign_list WHERE campaign_id = $1")
                    .bind(campaign_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            let Some(owner) = owner else { return Ok(()) };
            let start: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM call_list WHERE campaign_id = $1",
            )
            .bind(campaign_id)
            .fetch_one(&mut *conn)
            .await?;
            for (offset, contact) in contacts.iter().enumerate() {
                let context = serde_json::to_string(&contact.context)
                    .map_err(|e| ProjectionError::bad_event(event, e))?;
                sqlx::query(
                    "INSERT INTO call_list (call_id, campaign_id, owner_id, seq, phone, name, context, \
                     status, attempts, has_aggregate, finished, cost_micros, created_at, updated_at, \
                     last_position) VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING', 0, 0, 0, 0, $8, $8, $9) \
                     ON CONFLICT (call_id) DO NOTHING",
                )
                .bind(contact.call_id.to_string())
                .bind(campaign_id)
                .bind(&owner)
                .bind(start + offset as i64 + 1)
                .bind(contact.phone.as_str())
                .bind(contact.name.clone())
                .bind(context)
                .bind(&at)
                .bind(event.position)
                .execute(&mut *conn)
                .await?;
            }
        }
        CampaignEvent::CampaignCallFinished { call_id, .. } => {
            sqlx::query("UPDATE call_list SET finished = 1 WHERE call_id = $1")
                .bind(call_id.to_string())
                .execute(&mut *conn)
                .await?;
        }
        CampaignEvent::CampaignCancelled { .. } => {
            // Contacts never dialed end with the campaign; calls waiting for a retry are
            // cancelled through their own aggregate by the dialer.
            sqlx::query(
                "UPDATE call_list SET status = 'CANCELLED', status_reason = 'CAMPAIGN_CANCELLED', \
                 updated_at = $1, last_position = $2 \
                 WHERE campaign_id = $3 AND has_aggregate = 0 AND status = 'PENDING' AND last_position < $2",
            )
            .bind(&at)
            .bind(event.position)
            .bind(campaign_id)
            .execute(&mut *conn)
            .await?;
        }
        CampaignEvent::CampaignDeleted { .. } => {
            sqlx::query("DELETE FROM call_list WHERE campaign_id = $1")
                .bind(campaign_id)
                .execute(&mut *conn)
                .await?;
        }
        _ => {}
    }
    Ok(())
}

/// Call events: each one moves its row.
pub(crate) async fn apply_call_event(
    conn: &mut AnyConnection,
    event: &StoredEvent,
) -> Result<(), ProjectionError> {
    let payload: CallEvent = stored::payload(event)?;
    if crate::call_results::apply(conn, event, &payload).await? {
        return Ok(());
    }
    let status = |status: CallStatus| wire_name(event, &status);
    // (assignments, bound text values) — every update also stamps updated_at and the position.
    let (assignments, values): (&str, Vec<Option<String>>) = match payload {
        CallEvent::CallCreated { .. } => ("has_aggregate = 1", vec![]),
        CallEvent::DialRequested {
            attempt,
            requested_at,
        } => (
            "status = $4, attempts = CAST($5 AS BIGINT), retry_at = NULL, attempt_at = $6",
            vec![
                Some(status(CallStatus::Calling)?),
                Some(attempt.to_string()),
                Some(timestamp(requested_at)),
            ],
        ),
        CallEvent::ProviderCallCreated {
            provider_call_sid, ..
        } => ("provider_sid = $4", vec![Some(provider_call_sid)]),
        CallEvent::CallAnswered { .. } => {
            ("status = $4", vec![Some(status(CallStatus::InProgress)?)])
        }
        CallEvent::OutcomeReported { result, .. } => {
            ("result = $4", vec![Some(wire_name(event, &result)?)])
        }
        CallEvent::AttemptEnded { duration_secs, .. } => (
            "duration_secs = CAST($4 AS BIGINT)",
            vec![Some(duration_secs.to_string())],
        ),
        CallEvent::CallCompleted {
            result,
            duration_secs,
            ..
        } => (
            "status = $4, result = $5, duration_secs = CAST($6 AS BIGINT)",
            vec![
                Some(status(CallStatus::Completed)?),
                Some(wire_name(event, &result)?),
                Some(duration_secs.to_string()),
            ],
        ),
        CallEvent::RetryScheduled { retry_at, .. } => (
            "status = $4, retry_at = $5",
            vec![
                Some(status(CallStatus::Pending)?),
                Some(timestamp(retry_at)),
            ],
        ),
        CallEvent::CallFinishedNoAnswer { .. } => {
            ("status = $4", vec![Some(status(CallStatus::NoAnswer)?)])
        }
        CallEvent::CallFailed { reason, .. } => (
            "status = $4, status_reason = $5",
            vec![Some(status(CallStatus::Failed)?), Some(reason)],
        ),
        CallEvent::CallCancelled { reason, .. } => (
            "status = $4, status_reason = $5",
            vec![
                Some(status(CallStatus::Cancelled)?),
                reason.map(|r| wire_name(event, &r)).transpose()?,
            ],
        ),
        CallEvent::CostRecorded { amount_micros, .. } => (
            "cost_micros = cost_micros + CAST($4 AS BIGINT)",
            vec![Some(amount_micros.to_string())],
        ),
        recording @ (CallEvent::RecordingConsentGiven { .. }
        | CallEvent::RecordingConsentRevoked { .. }
        | CallEvent::RecordingAvailable { .. }
        | CallEvent::RecordingStored { .. }
        | CallEvent::RecordingDiscarded { .. }
        | CallEvent::RecordingPurged { .. }) => {
            return crate::recordings::apply_call_event(conn, event, &recording).await;
        }
        // Handled by `call_results::apply` above.
        CallEvent::ConversationStarted { .. }
        | CallEvent::TranscriptRecorded { .. }
        | CallEvent::SummaryGenerated { .. }
        | CallEvent::AttemptCostRecorded { .. } => return Ok(()),
        CallEvent::ConversationEnded {
            reason,
            close_code,
            detail,
            ..
        } => (
            "end_reason = $4, end_close_code = CAST($5 AS BIGINT), end_detail = $6",
            vec![
                Some(reason.as_str().to_owned()),
                close_code.map(|code| code.to_string()),
                detail,
            ],
        ),
        CallEvent::VoicemailReached { .. } => ("result = $4", vec![Some("VOICEMAIL".to_owned())]),
    };
    update_row(conn, event, assignments, values).await?;
    Ok(())
}

/// Moves a call's row: `assignments` bind `values` from `$4` on. Every update also stamps
/// `updated_at` (`$3`) and the event's position, and never lets an older event overwrite a newer
/// one.
pub(crate) async fn update_row(
    conn: &mut AnyConnection,
    event: &StoredEvent,
    assignments: &str,
    values: Vec<Option<String>>,
) -> Result<(), sqlx::Error> {
    let assignments = format!("{assignments}, updated_at = $3");
    let values = std::iter::once(Some(timestamp(event.recorded_at)))
        .chain(values)
        .collect();
    rows::update(conn, ("call_list", "call_id"), event, &assignments, values).await
}
