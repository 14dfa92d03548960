//! `post_call_work`: the post-call worker's queue, fed from the call events with a checkpoint
//! of its own. Every dial attempt gets a row; the row falls due when the attempt is over. It is
//! worker state, not a read model: rows record progress and are never rebuilt.

use async_trait::async_trait;
use commands::StoredEvent;
use commands::store::timestamp;
use domain::call::{Call, CallEvent};
use sqlx::AnyConnection;

use crate::runner::{Projection, ProjectionError};
use crate::stored::payload_of;

/// Feeds the post-call work queue.
pub struct PostCallWork;

#[async_trait]
impl Projection for PostCallWork {
    fn name(&self) -> &'static str {
        "post_call_work"
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let Some(payload) = payload_of::<Call>(event)? else {
            return Ok(());
        };
        let at = timestamp(event.recorded_at);
        let call_id = event.aggregate_id.as_str();
        match payload {
            CallEvent::DialRequested { attempt, .. } => {
                sqlx::query(
                    "INSERT INTO post_call_work (call_id, attempt, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (call_id, attempt) DO NOTHING",
                )
                .bind(call_id)
                .bind(i64::from(attempt))
                .bind(&at)
                .execute(conn)
                .await?;
            }
            CallEvent::AttemptEnded { attempt, .. } => {
                // Also creates the row if the dial was recorded before this queue existed.
                sqlx::query(
                    "INSERT INTO post_call_work (call_id, attempt, due_at, updated_at) \
                     VALUES ($1, $2, $3, $3) \
                     ON CONFLICT (call_id, attempt) DO UPDATE SET due_at = COALESCE(post_call_work.due_at, $3)",
                )
                .bind(call_id)
                .bind(i64::from(attempt))
                .bind(&at)
                .execute(conn)
                .await?;
            }
            // A call can end without an `AttemptEnded` (the bridge failed it on the line).
            CallEvent::CallFailed { .. } | CallEvent::CallCompleted { .. } => {
                sqlx::query(
                    "UPDATE post_call_work SET due_at = $1 WHERE call_id = $2 AND due_at IS NULL \
                     AND attempt = (SELECT MAX(attempt) FROM post_call_work WHERE call_id = $2)",
                )
                .bind(&at)
                .bind(call_id)
                .execute(conn)
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}
