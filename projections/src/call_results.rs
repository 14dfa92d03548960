//! The results columns of `call_list` (transcript, summary, cost per component) and the
//! `call_costs` ledger that usage and budgets read. Kept by the campaigns projection, inside the
//! same transaction as the call list, so both always agree.

use chrono::{DateTime, FixedOffset, Utc};
use commands::StoredEvent;
use commands::store::timestamp;
use domain::call::{CallEvent, CostComponent, TranscriptLine};
use sqlx::AnyConnection;

use crate::runner::ProjectionError;
use crate::stored::wire_name;

/// Asia/Seoul has no daylight saving time: UTC+9 all year.
const SEOUL_OFFSET_SECS: i32 = 9 * 3600;

/// The Asia/Seoul calendar day of an instant, `YYYY-MM-DD`.
pub fn seoul_day(at: DateTime<Utc>) -> String {
    let seoul = FixedOffset::east_opt(SEOUL_OFFSET_SECS).expect("a valid offset");
    at.with_timezone(&seoul).format("%Y-%m-%d").to_string()
}

fn component_column(component: CostComponent) -> &'static str {
    match component {
        CostComponent::Telephony => "cost_telephony_micros",
        CostComponent::Voice => "cost_voice_micros",
        CostComponent::Llm => "cost_llm_micros",
    }
}

/// Applies the results side of a call event. Returns true when the event is fully handled here
/// (the results events), false when the call list still has its own update to make.
pub(crate) async fn apply(
    conn: &mut AnyConnection,
    event: &StoredEvent,
    payload: &CallEvent,
) -> Result<bool, ProjectionError> {
    let (assignments, values): (String, Vec<Option<String>>) = match payload {
        CallEvent::CostRecorded {
            component,
            amount_micros,
            ..
        } => {
            ledger(conn, event, None, *component, *amount_micros).await?;
            // Only the component column here; the call list adds the total and moves the row.
            let sql = format!(
                "UPDATE call_list SET {column} = {column} + CAST($1 AS BIGINT) \
                 WHERE call_id = $2 AND last_position < $3",
                column = component_column(*component)
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(amount_micros.to_string())
                .bind(event.aggregate_id.clone())
                .bind(event.position)
                .execute(&mut *conn)
                .await?;
            return Ok(false);
        }
        CallEvent::AttemptCostRecorded {
            attempt,
            component,
            amount_micros,
            ..
        } => {
            ledger(conn, event, Some(*attempt), *component, *amount_micros).await?;
            (
                format!(
                    "cost_micros = cost_micros + CAST($4 AS BIGINT), \
                     {column} = {column} + CAST($4 AS BIGINT)",
                    column = component_column(*component)
                ),
                vec![Some(amount_micros.to_string())],
            )
        }
        CallEvent::ConversationStarted {
            conversation_id, ..
        } => (
            "conversation_id = $4".to_owned(),
            vec![Some(conversation_id.clone())],
        ),
        CallEvent::TranscriptRecorded {
            lines,
            source,
            conversation_id,
            ..
        } => {
            let lines =
                serde_json::to_string(lines).map_err(|e| ProjectionError::bad_event(event, e))?;
            (
                "transcript = $4, transcript_source = $5, \
                 conversation_id = COALESCE($6, conversation_id)"
                    .to_owned(),
                vec![
                    Some(lines),
                    Some(wire_name(event, source)?),
                    conversation_id.clone(),
                ],
            )
        }
        CallEvent::SummaryGenerated {
            summary,
            suggested_result,
            follow_up_needed,
            source,
            ..
        } => (
            "summary = $4, suggested_result = $5, follow_up_needed = CAST($6 AS BIGINT), \
             summary_source = $7"
                .to_owned(),
            vec![
                Some(summary.clone()),
                suggested_result.map(|r| wire_name(event, &r)).transpose()?,
                Some(i64::from(*follow_up_needed).to_string()),
                Some(wire_name(event, source)?),
            ],
        ),
        _ => return Ok(false),
    };
    crate::call_list::update_row(conn, event, &assignments, values).await?;
    Ok(true)
}

/// One line of the cost ledger, keyed by the event's position (so a replay adds nothing twice).
async fn ledger(
    conn: &mut AnyConnection,
    event: &StoredEvent,
    attempt: Option<u32>,
    component: CostComponent,
    amount_micros: i64,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO call_costs (position, call_id, owner_id, campaign_id, attempt, component, \
         amount_micros, recorded_at, day) \
         SELECT $1, call_id, owner_id, campaign_id, $2, $3, $4, $5, $6 FROM call_list \
         WHERE call_id = $7 ON CONFLICT (position) DO NOTHING",
    )
    .bind(event.position)
    .bind(attempt.map(i64::from))
    .bind(wire_name(event, &component)?)
    .bind(amount_micros)
    .bind(timestamp(event.recorded_at))
    .bind(seoul_day(event.recorded_at))
    .bind(event.aggregate_id.clone())
    .execute(conn)
    .await?;
    Ok(())
}

/// Reads the transcript column back.
pub(crate) fn parse_transcript(text: Option<String>) -> Option<Vec<TranscriptLine>> {
    text.and_then(|text| serde_json::from_str(&text).ok())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn seoul_days_start_at_nine_utc() {
        let before = Utc.with_ymd_and_hms(2026, 11, 20, 14, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap();
        assert_eq!(seoul_day(before), "2026-11-20");
        assert_eq!(seoul_day(after), "2026-11-21");
    }
}
