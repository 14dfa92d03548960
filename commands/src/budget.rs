//! Spend against budgets: the Asia/Seoul month, an account's spend from the cost ledger, and
//! the monthly alert. The post-call worker checks the alert after each cost (a first alert of
//! the month queues the account's `budget.alert` webhooks); the usage API reads the same figures.

use chrono::{DateTime, Utc};

use crate::accounts::AccountSettings;
use crate::store::{EventStore, timestamp};
use crate::webhooks::events::budget_alert;

/// The Asia/Seoul day of `at` (the cost ledger's day).
pub fn seoul_date(at: DateTime<Utc>) -> chrono::NaiveDate {
    at.with_timezone(&chrono_tz::Asia::Seoul).date_naive()
}

/// The Asia/Seoul day of `at`, `YYYY-MM-DD`.
fn seoul_day(at: DateTime<Utc>) -> String {
    seoul_date(at).format("%Y-%m-%d").to_string()
}

/// The first day of the Asia/Seoul month of `now`, `YYYY-MM-01`, and the month, `YYYY-MM`.
pub fn seoul_month(now: DateTime<Utc>) -> (String, String) {
    let day = seoul_day(now);
    let month = day[..7].to_owned();
    (format!("{month}-01"), month)
}

/// Where a spend is counted from in the cost ledger.
#[derive(Debug, Clone, Copy)]
pub enum SpendFrom<'a> {
    /// From an Asia/Seoul day on (`YYYY-MM-DD`), as budgets and usage count.
    Day(&'a str),
    /// From a moment on (RFC 3339 text, as stored), by when each cost was recorded.
    RecordedAt(&'a str),
}

/// Spend of an account from `from` on, in micro-dollars.
pub async fn spend(
    pool: &sqlx::AnyPool,
    owner_id: &str,
    from: SpendFrom<'_>,
) -> Result<i64, sqlx::Error> {
    // The column is one of two fixed names, never input.
    let (column, bound) = match from {
        SpendFrom::Day(day) => ("day", day),
        SpendFrom::RecordedAt(at) => ("recorded_at", at),
    };
    let sql = format!(
        "SELECT CAST(SUM(amount_micros) AS BIGINT) FROM call_costs WHERE owner_id = $1 AND {column} >= $2"
    );
    let spend: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(owner_id)
        .bind(bound)
        .fetch_one(pool)
        .await?;
    Ok(spend.unwrap_or(0))
}

/// Records (once per month) that an account's monthly spend reached its alert threshold.
pub async fn check_alert(
    store: &EventStore,
    owner_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let pool = store.db().pool();
    let settings = AccountSettings::load(pool, owner_id).await?;
    let threshold = (settings.alert_threshold_usd * 1_000_000.0).round() as i64;
    let (first_day, month) = seoul_month(now);
    let spend = spend(pool, owner_id, SpendFrom::Day(&first_day)).await?;
    if spend < threshold {
        return Ok(false);
    }
    // The alert and its webhooks commit together: a crash leaves both or neither.
    let mut tx = crate::db::begin_write(pool).await?;
    let inserted = sqlx::query(
        "INSERT INTO budget_alerts (account_id, month, spend_micros, threshold_micros, alerted_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, month) DO NOTHING",
    )
    .bind(owner_id)
    .bind(&month)
    .bind(spend)
    .bind(threshold)
    .bind(timestamp(now))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted > 0
        && let Ok(account) = owner_id.parse()
    {
        let alert = budget_alert(account, &month, spend, threshold, now);
        crate::webhooks::deliveries::enqueue(&mut tx, &alert, now).await?;
    }
    tx.commit().await?;
    if inserted > 0 {
        tracing::warn!(
            account = owner_id,
            %month,
            spend_usd = spend as f64 / 1_000_000.0,
            threshold_usd = settings.alert_threshold_usd,
            "monthly spend reached the alert threshold"
        );
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_month_is_seouls() {
        // 15:30 UTC on 31 January is already 1 February in Seoul.
        let now = Utc.with_ymd_and_hms(2026, 1, 31, 15, 30, 0).unwrap();
        assert_eq!(
            seoul_month(now),
            ("2026-02-01".to_owned(), "2026-02".to_owned())
        );
    }
}
