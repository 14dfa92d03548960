//! The campaign list: one row per live campaign with its status and call counts.

use async_trait::async_trait;
use commands::StoredEvent;
use commands::store::timestamp;
use cqrs_es::Aggregate;
use domain::campaign::{Campaign, CampaignEvent};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::runner::{Projection, ProjectionError};

/// Builds `campaign_list`.
pub struct CampaignList;

/// One row of the campaign list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignSummary {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub status: String,
    pub script_id: String,
    pub total_calls: i64,
    pub finished_calls: i64,
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub cancelled_at: Option<String>,
}

impl CampaignList {
    /// An owner's campaigns, newest first.
    pub async fn for_owner(
        pool: &AnyPool,
        owner_id: &str,
    ) -> Result<Vec<CampaignSummary>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT campaign_id, owner_id, name, status, script_id, total_calls, finished_calls, \
             created_at, started_at, completed_at, cancelled_at FROM campaign_list \
             WHERE owner_id = $1 ORDER BY created_at DESC, campaign_id",
        )
        .bind(owner_id)
        .fetch_all(pool)
        .await?;
        rows.iter().map(summary).collect()
    }
}

fn summary(row: &AnyRow) -> Result<CampaignSummary, sqlx::Error> {
    Ok(CampaignSummary {
        id: row.try_get("campaign_id")?,
        owner_id: row.try_get("owner_id")?,
        name: row.try_get("name")?,
        status: row.try_get("status")?,
        script_id: row.try_get("script_id")?,
        total_calls: row.try_get("total_calls")?,
        finished_calls: row.try_get("finished_calls")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        completed_at: row.try_get("completed_at")?,
        cancelled_at: row.try_get("cancelled_at")?,
    })
}

#[async_trait]
impl Projection for CampaignList {
    fn name(&self) -> &'static str {
        "campaign_list"
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        if event.aggregate_type != Campaign::TYPE {
            return Ok(());
        }
        let payload: CampaignEvent = serde_json::from_value(event.payload.clone())
            .map_err(|e| ProjectionError::bad_event(event, e))?;
        let id = event.aggregate_id.as_str();
        let position = event.position;
        // Every update is guarded by `last_position`, so applying an event twice changes nothing.
        match payload {
            CampaignEvent::CampaignCreated {
                owner_id,
                name,
                script_id,
                created_at,
                ..
            } => {
                sqlx::query(
                    "INSERT INTO campaign_list (campaign_id, owner_id, name, status, script_id, \
                     total_calls, finished_calls, created_at, last_position) \
                     VALUES ($1, $2, $3, 'DRAFT', $4, 0, 0, $5, $6) ON CONFLICT (campaign_id) DO NOTHING",
                )
                .bind(id)
                .bind(owner_id.to_string())
                .bind(name)
                .bind(script_id.to_string())
                .bind(timestamp(created_at))
                .bind(position)
                .execute(conn)
                .await?;
            }
            CampaignEvent::ContactsAdded { contacts, .. } => {
                sqlx::query(
                    "UPDATE campaign_list SET total_calls = total_calls + $1, last_position = $2 \
                     WHERE campaign_id = $3 AND last_position < $2",
                )
                .bind(contacts.len() as i64)
                .bind(position)
                .bind(id)
                .execute(conn)
                .await?;
            }
            CampaignEvent::CampaignCallFinished { .. } => {
                sqlx::query(
                    "UPDATE campaign_list SET finished_calls = finished_calls + 1, last_position = $1 \
                     WHERE campaign_id = $2 AND last_position < $1",
                )
                .bind(position)
                .bind(id)
                .execute(conn)
                .await?;
            }
            CampaignEvent::CampaignScheduled { .. } => {
                set_status(conn, id, position, "SCHEDULED").await?
            }
            CampaignEvent::CampaignPaused { .. } => {
                set_status(conn, id, position, "PAUSED").await?
            }
            CampaignEvent::CampaignResumed { .. } => {
                set_status(conn, id, position, "RUNNING").await?
            }
            CampaignEvent::CampaignStarted { started_at } => {
                sqlx::query(
                    "UPDATE campaign_list SET status = 'RUNNING', started_at = $1, last_position = $2 \
                     WHERE campaign_id = $3 AND last_position < $2",
                )
                .bind(timestamp(started_at))
                .bind(position)
                .bind(id)
                .execute(conn)
                .await?;
            }
            CampaignEvent::CampaignCompleted { completed_at } => {
                sqlx::query(
                    "UPDATE campaign_list SET status = 'COMPLETED', completed_at = $1, last_position = $2 \
                     WHERE campaign_id = $3 AND last_position < $2",
                )
                .bind(timestamp(completed_at))
                .bind(position)
                .bind(id)
                .execute(conn)
                .await?;
            }
            CampaignEvent::CampaignCancelled { cancelled_at } => {
                sqlx::query(
                    "UPDATE campaign_list SET status = 'CANCELLED', cancelled_at = $1, last_position = $2 \
                     WHERE campaign_id = $3 AND last_position < $2",
                )
                .bind(timestamp(cancelled_at))
                .bind(position)
                .bind(id)
                .execute(conn)
                .await?;
            }
            CampaignEvent::CampaignDeleted { .. } => {
                sqlx::query("DELETE FROM campaign_list WHERE campaign_id = $1")
                    .bind(id)
                    .execute(conn)
                    .await?;
            }
        }
        Ok(())
    }
}

async fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    position: i64,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE campaign_list SET status = $1, last_position = $2 \
         WHERE campaign_id = $3 AND last_position < $2",
    )
    .bind(status)
    .bind(position)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}
