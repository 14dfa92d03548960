//! The `webhook_endpoints` and `webhook_deliveries` tables. A delivery is the durable unit of
//! work: `pending` until its first attempt, `retrying` while its schedule lasts, then
//! `delivered` or `dead`; a dead one goes back to `pending` when redelivered, keeping its id.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};
use uuid::Uuid;

use super::WebhookEventType;
use super::events::WebhookEvent;
use crate::store::{parse_timestamp, timestamp};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not tried yet (or redelivered).
    Pending,
    /// Failed; tried again at `nextAttemptAt`.
    Retrying,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed (or its endpoint was disabled): on the dead-letter list.
    Dead,
}

impl DeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retrying => "retrying",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "retrying" => Self::Retrying,
            "delivered" => Self::Delivered,
            "dead" => Self::Dead,
            _ => Self::Pending,
        }
    }
}

/// An endpoint as stored (its secret stays in the table: see [`secret_of`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRow {
    pub endpoint_id: Uuid,
    pub account_id: Uuid,
    pub url: String,
    pub event_types: Vec<WebhookEventType>,
    pub created_at: DateTime<Utc>,
    /// The first failure since the last success.
    pub failing_since: Option<DateTime<Utc>>,
    /// Set when it failed for too long; nothing is delivered to it any more.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// One delivery as its log shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Also the `webhook-id` header of every attempt.
    #[serde(rename = "id")]
    #[cfg_attr(
        feature = "utoipa",
        schema(example = "msg_0190a8c4f2a07c3c9a3b1f6d2e4c5b7a")
    )]
    pub delivery_id: String,
    #[serde(skip)]
    pub endpoint_id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    /// When the event happened.
    pub occurred_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's status code at the last attempt, when it answered.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A delivery to attempt now, with what sending it needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery_id: String,
    pub endpoint_id: Uuid,
    pub url: String,
    /// The endpoint's secret as stored (encrypted).
    pub sealed_secret: String,
    pub body: String,
    pub attempts: i64,
    pub occurred_at: DateTime<Utc>,
}

fn time(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let text: Option<String> = row.try_get(column)?;
    Ok(text.as_deref().and_then(parse_timestamp))
}

fn required_time(row: &AnyRow, column: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    time(row, column)?.ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: "not a timestamp".into(),
    })
}

fn uuid(row: &AnyRow, column: &str) -> Result<Uuid, sqlx::Error> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|error| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(error),
    })
}

const ENDPOINT_COLUMNS: &str =
    "endpoint_id, account_id, url, event_types, created_at, failing_since, disabled_at";

fn endpoint(row: &AnyRow) -> Result<EndpointRow, sqlx::Error> {
    let types: String = row.try_get("event_types")?;
    Ok(EndpointRow {
        endpoint_id: uuid(row, "endpoint_id")?,
        account_id: uuid(row, "account_id")?,
        url: row.try_get("url")?,
        event_types: types
            .split(',')
            .filter_map(WebhookEventType::parse)
            .collect(),
        created_at: required_time(row, "created_at")?,
        failing_since: time(row, "failing_since")?,
        disabled_at: time(row, "disabled_at")?,
    })
}

const DELIVERY_COLUMNS: &str = "delivery_id, endpoint_id, event_type, status, attempts, \
     occurred_at, next_attempt_at, last_attempt_at, last_status, last_error, delivered_at, created_at";

fn delivery(row: &AnyRow) -> Result<Delivery, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(Delivery {
        delivery_id: row.try_get("delivery_id")?,
        endpoint_id: uuid(row, "endpoint_id")?,
        event_type: row.try_get("event_type")?,
        status: DeliveryStatus::parse(&status),
        attempts: row.try_get("attempts")?,
        occurred_at: required_time(row, "occurred_at")?,
        next_attempt_at: time(row, "next_attempt_at")?,
        last_attempt_at: time(row, "last_attempt_at")?,
        last_status: row.try_get("last_status")?,
        last_error: row.try_get("last_error")?,
        delivered_at: time(row, "delivered_at")?,
        created_at: required_time(row, "created_at")?,
    })
}

/// Saves a new endpoint with its sealed secret.
pub async fn insert_endpoint(
    pool: &AnyPool,
    endpoint: &EndpointRow,
    sealed_secret: &str,
) -> Result<(), sqlx::Error> {
    let types: Vec<&str> = endpoint.event_types.iter().map(|t| t.as_str()).collect();
    sqlx::query(
        "INSERT INTO webhook_endpoints (endpoint_id, account_id, url, event_types, secret, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(endpoint.endpoint_id.to_string())
    .bind(endpoint.account_id.to_string())
    .bind(&endpoint.url)
    .bind(types.join(","))
    .bind(sealed_secret)
    .bind(timestamp(endpoint.created_at))
    .execute(pool)
    .await?;
    Ok(())
}

/// How many endpoints an account has.
pub async fn count_endpoints(pool: &AnyPool, account_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE account_id = $1")
        .bind(account_id.to_string())
        .fetch_one(pool)
        .await
}

/// An account's endpoints, oldest first.
pub async fn list_endpoints(
    pool: &AnyPool,
    account_id: Uuid,
) -> Result<Vec<EndpointRow>, sqlx::Error> {
    endpoints(pool, account_id, None).await
}

/// One endpoint of an account.
pub async fn find_endpoint(
    pool: &AnyPool,
    account_id: Uuid,
    endpoint_id: Uuid,
) -> Result<Option<EndpointRow>, sqlx::Error> {
    Ok(endpoints(pool, account_id, Some(endpoint_id)).await?.pop())
}

/// An account's endpoints, oldest first; only the one with id `only` when given.
async fn endpoints(
    pool: &AnyPool,
    account_id: Uuid,
    only: Option<Uuid>,
) -> Result<Vec<EndpointRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
         WHERE account_id = $1 AND ($2 = '' OR endpoint_id = $2) \
         ORDER BY created_at, endpoint_id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id.to_string())
        .bind(only.map(|id| id.to_string()).unwrap_or_default())
        .fetch_all(pool)
        .await?;
    rows.iter().map(endpoint).collect()
}

/// Deletes an account's endpoint and its delivery log; false when it has no such endpoint.
pub async fn delete_endpoint(
    pool: &AnyPool,
    account_id: Uuid,
    endpoint_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let mut tx = crate::db::begin_write(pool).await?;
    let deleted =
        sqlx::query("DELETE FROM webhook_endpoints WHERE account_id = $1 AND endpoint_id = $2")
            .bind(account_id.to_string())
            .bind(endpoint_id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if deleted > 0 {
        sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
            .bind(endpoint_id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(deleted > 0)
}

/// Whether any account has an enabled endpoint (else the fan-out only moves its checkpoint).
pub async fn any_enabled(pool: &AnyPool) -> Result<bool, sqlx::Error> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT endpoint_id FROM webhook_endpoints WHERE disabled_at IS NULL LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(found.is_some())
}

/// Writes a delivery of `event` for every enabled endpoint of its account subscribed to its
/// type (once per endpoint and source, however often this runs); returns how many were new.
pub async fn enqueue(
    conn: &mut AnyConnection,
    event: &WebhookEvent,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT endpoint_id, event_types FROM webhook_endpoints \
         WHERE account_id = $1 AND disabled_at IS NULL",
    )
    .bind(event.account_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let body = event.body();
    let mut added = 0;
    for row in rows {
        let types: String = row.try_get("event_types")?;
        if !types.split(',').any(|t| t == event.kind.as_str()) {
            continue;
        }
        let endpoint_id: String = row.try_get("endpoint_id")?;
        added += sqlx::query(
            "INSERT INTO webhook_deliveries (delivery_id, endpoint_id, event_type, source, body, \
             occurred_at, status, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7) \
             ON CONFLICT (endpoint_id, source) DO NOTHING",
        )
        .bind(format!("msg_{}", Uuid::new_v4().simple()))
        .bind(endpoint_id)
        .bind(event.kind.as_str())
        .bind(&event.source)
        .bind(&body)
        .bind(timestamp(event.occurred_at))
        .bind(timestamp(now))
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(added)
}

/// Deliveries whose next attempt is due at `now`, soonest first, at most `limit`.
pub async fn due(
    pool: &AnyPool,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueDelivery>, sqlx::Error> {
    // The limit is in the text, not bound (see `crate::db`): the worker polls this.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT d.delivery_id, d.endpoint_id, e.url, e.secret, d.body, d.attempts, d.occurred_at \
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.endpoint_id = d.endpoint_id \
         WHERE d.status IN ('pending', 'retrying') AND d.next_attempt_at <= $1 \
         AND e.disabled_at IS NULL \
         ORDER BY d.next_attempt_at, d.delivery_id LIMIT {limit}"
    )))
    .bind(timestamp(now))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(DueDelivery {
                delivery_id: row.try_get("delivery_id")?,
                endpoint_id: uuid(row, "endpoint_id")?,
                url: row.try_get("url")?,
                sealed_secret: row.try_get("secret")?,
                body: row.try_get("body")?,
                attempts: row.try_get("attempts")?,
                occurred_at: required_time(row, "occurred_at")?,
            })
        })
        .collect()
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The receiver's status code, when it answered.
    pub status: Option<u16>,
    /// Why it failed (`None` on success).
    pub error: Option<String>,
    /// When to try again; `None` after a failure = dead.
    pub retry_at: Option<DateTime<Utc>>,
}

/// Records an attempt of `delivery` and its endpoint's health: a success clears the endpoint's
/// failing streak; a failure starts one, and an endpoint failing since before `disable_before`
/// is disabled with its waiting deliveries dead. Returns true when this disabled the endpoint.
pub async fn record_attempt(
    pool: &AnyPool,
    delivery: &DueDelivery,
    attempt: &Attempt,
    disable_before: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut tx = crate::db::begin_write(pool).await?;
    let (status, next, delivered_at) = match (&attempt.error, attempt.retry_at) {
        (None, _) => (DeliveryStatus::Delivered, None, Some(timestamp(attempt.at))),
        (Some(_), Some(retry_at)) => (DeliveryStatus::Retrying, Some(timestamp(retry_at)), None),
        (Some(_), None) => (DeliveryStatus::Dead, None, None),
    };
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2, \
         last_attempt_at = $3, last_status = $4, last_error = $5, delivered_at = $6 \
         WHERE delivery_id = $7",
    )
    .bind(status.as_str())
    .bind(next)
    .bind(timestamp(attempt.at))
    .bind(attempt.status.map(i64::from))
    .bind(attempt.error.clone())
    .bind(delivered_at)
    .bind(&delivery.delivery_id)
    .execute(&mut *tx)
    .await?;
    let endpoint_id = delivery.endpoint_id.to_string();
    let mut disabled = false;
    if attempt.error.is_none() {
        sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE endpoint_id = $1")
            .bind(&endpoint_id)
            .execute(&mut *tx)
            .await?;
    } else {
        sqlx::query(
            "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1) \
             WHERE endpoint_id = $2",
        )
        .bind(timestamp(attempt.at))
        .bind(&endpoint_id)
        .execute(&mut *tx)
        .await?;
        disabled = sqlx::query(
            "UPDATE webhook_endpoints SET disabled_at = $1 \
             WHERE endpoint_id = $2 AND disabled_at IS NULL AND failing_since <= $3",
        )
        .bind(timestamp(attempt.at))
        .bind(&endpoint_id)
        .bind(timestamp(disable_before))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if disabled {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'dead', next_attempt_at = NULL, \
                 last_error = COALESCE(last_error, 'endpoint disabled') \
                 WHERE endpoint_id = $1 AND status IN ('pending', 'retrying')",
            )
            .bind(&endpoint_id)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(disabled)
}

/// An endpoint's deliveries, newest first, at most `limit`; only `status` ones when given.
pub async fn list_deliveries(
    pool: &AnyPool,
    endpoint_id: Uuid,
    status: Option<DeliveryStatus>,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
         WHERE endpoint_id = $1 AND ($2 = '' OR status = $2) \
         ORDER BY created_at DESC, delivery_id DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(endpoint_id.to_string())
        .bind(status.map_or("", DeliveryStatus::as_str))
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(delivery).collect()
}

/// One delivery of an endpoint.
pub async fn find_delivery(
    pool: &AnyPool,
    endpoint_id: Uuid,
    delivery_id: &str,
) -> Result<Option<Delivery>, sqlx::Error> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND delivery_id = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(endpoint_id.to_string())
        .bind(delivery_id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(delivery).transpose()
}

/// Puts a dead or delivered delivery back in the queue, due at `now`, with a fresh schedule
/// and the same id; false when it is still waiting for an attempt.
pub async fn redeliver(
    pool: &AnyPool,
    delivery_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1 \
         WHERE delivery_id = $2 AND status IN ('dead', 'delivered')",
    )
    .bind(timestamp(now))
    .bind(delivery_id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

/// The sealed secret of an endpoint (for tests and the sender).
pub async fn secret_of(pool: &AnyPool, endpoint_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT secret FROM webhook_endpoints WHERE endpoint_id = $1")
        .bind(endpoint_id.to_string())
        .fetch_optional(pool)
        .await
}
