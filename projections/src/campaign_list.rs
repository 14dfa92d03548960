//! The campaign read models: `campaign_list` (one row per live campaign) and `call_list` (one
//! row per contact, see [`crate::call_list`]), kept by one projection so they always agree.

use async_trait::async_trait;
use commands::StoredEvent;
use commands::services::campaigns_view::CampaignRecord;
use commands::store::timestamp;
use cqrs_es::Aggregate;
use domain::call::Call;
use domain::campaign::{Campaign, CampaignEvent};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::call_list;

/// The projection's name (and checkpoint) for `campaign_list` and `call_list`.
pub const CAMPAIGNS: &str = "campaigns";
use crate::rows;
use crate::runner::{Projection, ProjectionError};
use crate::stored::{payload_of, wire_name};

/// Builds `campaign_list` and `call_list`; `campaign_list`'s rows are the campaign services'
/// [`CampaignRecord`]s.
pub struct CampaignList;

impl CampaignList {
    /// An owner's campaigns, newest first.
    pub async fn for_owner(
        pool: &AnyPool,
        owner_id: &str,
    ) -> Result<Vec<CampaignRecord>, sqlx::Error> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM campaign_list WHERE owner_id = $1 \
             ORDER BY created_at DESC, campaign_id"
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner_id);
        rows::all(pool, query, summary).await
    }

    /// One campaign, if it belongs to `owner_id`.
    pub async fn find(
        pool: &AnyPool,
        owner_id: &str,
        campaign_id: &str,
    ) -> Result<Option<CampaignRecord>, sqlx::Error> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM campaign_list WHERE owner_id = $1 AND campaign_id = $2"
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner_id)
            .bind(campaign_id);
        rows::one(pool, query, summary).await
    }

    /// Campaigns in the given statuses, of every account (the dialer's view). Cancelled ones
    /// only while some of their calls still need the dialer (a retry to cancel, or a finished
    /// call the campaign has not counted), so old campaigns cost nothing.
    pub async fn with_status(
        pool: &AnyPool,
        statuses: &[&str],
    ) -> Result<Vec<CampaignRecord>, sqlx::Error> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM campaign_list WHERE status IN ('{}') \
             AND (status <> 'CANCELLED' OR EXISTS (SELECT 1 FROM call_list c \
                 WHERE c.campaign_id = campaign_list.campaign_id AND c.has_aggregate = 1 \
                 AND (c.status = 'PENDING' OR (c.finished = 0 AND c.status IN \
                     ('COMPLETED', 'FAILED', 'NO_ANSWER', 'CANCELLED'))))) \
             ORDER BY created_at",
            statuses.join("', '")
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql));
        rows::all(pool, query, summary).await
    }
}

const SUMMARY_COLUMNS: &str = "campaign_id, owner_id, name, status, script_id, total_calls, \
     finished_calls, created_at, started_at, completed_at, cancelled_at, scheduled_at, pause_reason, settings";

fn summary(row: &AnyRow) -> Result<CampaignRecord, sqlx::Error> {
    Ok(CampaignRecord {
        id: row.try_get("campaign_id")?,
        owner_id: row.try_get("owner_id")?,
        name: row.try_get("name")?,
        status: rows::wire(row, "status")?,
        script_id: row.try_get("script_id")?,
        total_calls: row.try_get("total_calls")?,
        finished_calls: row.try_get("finished_calls")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        completed_at: row.try_get("completed_at")?,
        cancelled_at: row.try_get("cancelled_at")?,
        scheduled_at: row.try_get("scheduled_at")?,
        pause_reason: rows::wire_opt(row, "pause_reason")?,
        settings: match row.try_get::<Option<String>, _>("settings")? {
            None => Default::default(),
            Some(text) => serde_json::from_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
                index: "settings".to_owned(),
                source: Box::new(e),
            })?,
        },
    })
}

#[async_trait]
impl Projection for CampaignList {
    fn name(&self) -> &'static str {
        CAMPAIGNS
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        if event.aggregate_type == Call::TYPE {
            return call_list::apply_call_event(conn, event).await;
        }
        let Some(payload) = payload_of::<Campaign>(event)? else {
            return Ok(());
        };
        call_list::apply_campaign_event(conn, event, &payload).await?;
        let id = event.aggregate_id.as_str();
        // (assignments, bound text values from `$3` on) — every update is guarded by
        // `last_position`, so applying an event twice changes nothing.
        let (assignments, values): (&str, Vec<Option<String>>) = match payload {
            CampaignEvent::CampaignCreated {
                owner_id,
                name,
                script_id,
                settings,
                created_at,
                ..
            } => {
                let settings = serde_json::to_string(&settings)
                    .map_err(|e| ProjectionError::bad_event(event, e))?;
                sqlx::query(
                    "INSERT INTO campaign_list (campaign_id, owner_id, name, status, script_id, \
                     total_calls, finished_calls, created_at, last_position, settings) \
                     VALUES ($1, $2, $3, 'DRAFT', $4, 0, 0, $5, $6, $7) \
                     ON CONFLICT (campaign_id) DO NOTHING",
                )
                .bind(id)
                .bind(owner_id.to_string())
                .bind(name)
                .bind(script_id.to_string())
                .bind(timestamp(created_at))
                .bind(event.position)
                .bind(settings)
                .execute(conn)
                .await?;
                return Ok(());
            }
            CampaignEvent::ContactsAdded { contacts, .. } => (
                "total_calls = total_calls + CAST($3 AS BIGINT)",
                vec![Some(contacts.len().to_string())],
            ),
            CampaignEvent::CampaignCallFinished { .. } => {
                ("finished_calls = finished_calls + 1", vec![])
            }
            CampaignEvent::CampaignScheduled { start_at } => (
                "status = 'SCHEDULED', scheduled_at = $3",
                vec![Some(timestamp(start_at))],
            ),
            CampaignEvent::CampaignPaused { reason, .. } => (
                "status = 'PAUSED', pause_reason = $3",
                vec![Some(wire_name(event, &reason)?)],
            ),
            // A pause reason says why a campaign is paused: it goes once it is not.
            CampaignEvent::CampaignResumed { .. } => {
                ("status = 'RUNNING', pause_reason = NULL", vec![])
            }
            CampaignEvent::CampaignStarted { started_at } => (
                "status = 'RUNNING', started_at = $3",
                vec![Some(timestamp(started_at))],
            ),
            CampaignEvent::CampaignCompleted { completed_at } => (
                "status = 'COMPLETED', completed_at = $3, pause_reason = NULL",
                vec![Some(timestamp(completed_at))],
            ),
            CampaignEvent::CampaignCancelled { cancelled_at } => (
                "status = 'CANCELLED', cancelled_at = $3, pause_reason = NULL",
                vec![Some(timestamp(cancelled_at))],
            ),
            CampaignEvent::CampaignDeleted { .. } => {
                sqlx::query("DELETE FROM campaign_list WHERE campaign_id = $1")
                    .bind(id)
                    .execute(conn)
                    .await?;
                return Ok(());
            }
        };
        let row = ("campaign_list", "campaign_id");
        rows::update(conn, row, event, assignments, values).await?;
        Ok(())
    }
}
