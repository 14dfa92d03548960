//! The usage report: an account's costs by day (Asia/Seoul), campaign and component over a
//! period, with its budget caps, today's and this month's spend, and the alert threshold.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};
use uuid::Uuid;

use crate::Clock;
use crate::accounts::AccountSettings;
use crate::budget::SpendFrom;

/// The longest range one request may ask for, in days.
pub const MAX_DAYS: i64 = 366;

/// Why a report was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// A date that does not parse, `from` after `to`, or a period too long.
    #[error("{0}")]
    InvalidPeriod(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The days to report, in Korean time, as typed (`YYYY-MM-DD`); absent = this month so far.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", into_params(parameter_in = Query))]
pub struct UsagePeriod {
    /// First day, `YYYY-MM-DD` (default: the first of this month).
    #[cfg_attr(feature = "utoipa", param(example = "2026-11-01"))]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today); at most 366 days after `from`.
    #[cfg_attr(feature = "utoipa", param(example = "2026-11-30"))]
    pub to: Option<String>,
}

/// Costs of a period, in USD.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    #[cfg_attr(feature = "utoipa", schema(example = "2026-11-01"))]
    pub from: String,
    #[cfg_attr(feature = "utoipa", schema(example = "2026-11-30"))]
    pub to: String,
    #[cfg_attr(feature = "utoipa", schema(example = "Asia/Seoul"))]
    pub time_zone: String,
    pub total: UsageTotal,
    pub by_component: ByComponent,
    pub by_day: Vec<UsageDay>,
    pub by_campaign: Vec<UsageCampaign>,
    pub budget: Budget,
}

/// Sums of one slice of the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct UsageSums {
    /// All components together.
    pub cost: f64,
    pub telephony: f64,
    pub voice: f64,
    pub llm: f64,
    /// Calls that cost something.
    pub calls: u64,
}

/// The period's sums.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct UsageTotal {
    #[serde(flatten)]
    pub sums: UsageSums,
    #[cfg_attr(feature = "utoipa", schema(example = "USD"))]
    pub currency: String,
}

/// The period's cost by provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ByComponent {
    /// Twilio.
    pub telephony: f64,
    /// ElevenLabs.
    pub voice: f64,
    /// Summaries (OpenAI-compatible).
    pub llm: f64,
}

/// One day (Asia/Seoul).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct UsageDay {
    #[cfg_attr(feature = "utoipa", schema(example = "2026-11-21"))]
    pub date: String,
    #[serde(flatten)]
    pub sums: UsageSums,
}

/// One campaign.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsageCampaign {
    pub campaign_id: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub sums: UsageSums,
}

/// The account's caps and where spending stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    pub daily_budget_usd: Option<f64>,
    pub monthly_budget_usd: Option<f64>,
    pub alert_threshold_usd: f64,
    pub today_spend: f64,
    pub month_spend: f64,
    pub daily_cap_reached: bool,
    pub monthly_cap_reached: bool,
    pub alert: BudgetAlert,
}

/// The monthly alert threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BudgetAlert {
    /// This month's spending reached the threshold.
    pub crossed: bool,
    /// When the alert was raised this month.
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub alerted_at: Option<String>,
}

/// Costs of one group, in micro-dollars.
#[derive(Default)]
struct Sums {
    telephony: i64,
    voice: i64,
    llm: i64,
    calls: BTreeSet<String>,
}

impl Sums {
    fn add(&mut self, component: &str, micros: i64, call_id: &str) {
        match component {
            "TELEPHONY" => self.telephony += micros,
            "VOICE" => self.voice += micros,
            _ => self.llm += micros,
        }
        self.calls.insert(call_id.to_owned());
    }

    fn usd(&self) -> UsageSums {
        UsageSums {
            cost: usd(self.telephony + self.voice + self.llm),
            telephony: usd(self.telephony),
            voice: usd(self.voice),
            llm: usd(self.llm),
            calls: self.calls.len() as u64,
        }
    }
}

fn usd(micros: i64) -> f64 {
    micros as f64 / 1_000_000.0
}

fn micros(usd: f64) -> i64 {
    (usd * 1_000_000.0).round() as i64
}

fn date(value: Option<&str>, field: &str) -> Result<Option<NaiveDate>, UsageError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                UsageError::InvalidPeriod(format!("{field} must be a date as YYYY-MM-DD"))
            }),
    }
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The usage use case.
#[derive(Clone)]
pub struct UsageService {
    pool: AnyPool,
    clock: Arc<dyn Clock>,
}

impl UsageService {
    /// The service over this database and clock.
    pub fn new(pool: AnyPool, clock: Arc<dyn Clock>) -> Self {
        Self { pool, clock }
    }

    /// Costs by day, campaign and provider, with the budget caps and the alert threshold.
    pub async fn report(&self, account_id: Uuid, period: UsagePeriod) -> Result<Usage, UsageError> {
        let now = self.clock.now();
        let today = crate::budget::seoul_date(now);
        let month_start = today.with_day(1).unwrap_or(today);
        let from = date(period.from.as_deref(), "from")?.unwrap_or(month_start);
        let to = date(period.to.as_deref(), "to")?.unwrap_or(today);
        if from > to {
            return Err(UsageError::InvalidPeriod(
                "from must not be after to".to_owned(),
            ));
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(UsageError::InvalidPeriod(format!(
                "to must be less than {MAX_DAYS} days after from"
            )));
        }
        let owner = account_id.to_string();
        let rows = sqlx::query(
            "SELECT c.day, c.campaign_id, c.component, c.amount_micros, c.call_id, l.name \
             FROM call_costs c LEFT JOIN campaign_list l ON l.campaign_id = c.campaign_id \
             WHERE c.owner_id = $1 AND c.day >= $2 AND c.day <= $3 ORDER BY c.position",
        )
        .bind(&owner)
        .bind(day_text(from))
        .bind(day_text(to))
        .fetch_all(&self.pool)
        .await?;
        let mut total = Sums::default();
        let mut by_day: BTreeMap<String, Sums> = BTreeMap::new();
        let mut by_campaign: BTreeMap<String, (Option<String>, Sums)> = BTreeMap::new();
        for row in rows {
            let day: String = row.try_get("day")?;
            let campaign: String = row.try_get("campaign_id")?;
            let component: String = row.try_get("component")?;
            let micros: i64 = row.try_get("amount_micros")?;
            let call: String = row.try_get("call_id")?;
            let name: Option<String> = row.try_get("name")?;
            total.add(&component, micros, &call);
            by_day
                .entry(day)
                .or_default()
                .add(&component, micros, &call);
            let entry = by_campaign
                .entry(campaign)
                .or_insert_with(|| (name, Sums::default()));
            entry.1.add(&component, micros, &call);
        }
        let settings = AccountSettings::load(&self.pool, &owner).await?;
        let today_spend = self.spend_from_day(&owner, today).await?;
        let month_spend = self.spend_from_day(&owner, month_start).await?;
        let month = month_start.format("%Y-%m").to_string();
        let alerted_at: Option<String> = sqlx::query_scalar(
            "SELECT alerted_at FROM budget_alerts WHERE account_id = $1 AND month = $2",
        )
        .bind(&owner)
        .bind(&month)
        .fetch_optional(&self.pool)
        .await?;
        let reached = |cap: Option<f64>, spend: i64| cap.is_some_and(|cap| spend >= micros(cap));
        Ok(Usage {
            from: day_text(from),
            to: day_text(to),
            time_zone: "Asia/Seoul".to_owned(),
            total: UsageTotal {
                sums: total.usd(),
                currency: "USD".to_owned(),
            },
            by_component: ByComponent {
                telephony: usd(total.telephony),
                voice: usd(total.voice),
                llm: usd(total.llm),
            },
            by_day: by_day
                .iter()
                .map(|(day, sums)| UsageDay {
                    date: day.clone(),
                    sums: sums.usd(),
                })
                .collect(),
            by_campaign: by_campaign
                .iter()
                .map(|(id, (name, sums))| UsageCampaign {
                    campaign_id: id.clone(),
                    name: name.clone(),
                    sums: sums.usd(),
                })
                .collect(),
            budget: Budget {
                daily_budget_usd: settings.daily_budget_usd,
                monthly_budget_usd: settings.monthly_budget_usd,
                alert_threshold_usd: settings.alert_threshold_usd,
                today_spend: usd(today_spend),
                month_spend: usd(month_spend),
                daily_cap_reached: reached(settings.daily_budget_usd, today_spend),
                monthly_cap_reached: reached(settings.monthly_budget_usd, month_spend),
                alert: BudgetAlert {
                    crossed: month_spend >= micros(settings.alert_threshold_usd),
                    alerted_at,
                },
            },
        })
    }

    /// Spend of an account from `from_day` on (Asia/Seoul days), in micro-dollars.
    async fn spend_from_day(&self, owner: &str, from_day: NaiveDate) -> Result<i64, UsageError> {
        let from_day = day_text(from_day);
        Ok(crate::budget::spend(&self.pool, owner, SpendFrom::Day(&from_day)).await?)
    }
}

#[cfg(test)]
#[path = "usage_tests.rs"]
mod tests;
