//! `GET /api/v1/usage?from=YYYY-MM-DD&to=YYYY-MM-DD`: the signed-in account's costs by day
//! (Asia/Seoul), campaign and component, with its budget caps and alert threshold.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use commands::accounts::AccountSettings;
use openapi::{ErrorBody, Success, tags};
use projections::call_results::seoul_day;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiQuery, ok};
use crate::state::AppState;
use commands::budget::{seoul_month, spend_from_day};

/// The longest range one request may ask for.
const MAX_DAYS: i64 = 366;

/// Signed-in usage route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(usage))
}

/// The days to report, in Korean time.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Period {
    /// First day, `YYYY-MM-DD` (default: the first of this month).
    #[param(example = "2026-11-01")]
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today); at most 366 days after `from`.
    #[param(example = "2026-11-30")]
    to: Option<String>,
}

/// Costs of one group, in micro-dollars.
#[derive(Default)]
struct Sums {
    telephony: i64,
    voice: i64,
    llm: i64,
    calls: std::collections::BTreeSet<String>,
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

    fn json(&self) -> Value {
        json!({
            "cost": usd(self.telephony + self.voice + self.llm),
            "telephony": usd(self.telephony),
            "voice": usd(self.voice),
            "llm": usd(self.llm),
            "calls": self.calls.len(),
        })
    }
}

fn usd(micros: i64) -> f64 {
    micros as f64 / 1_000_000.0
}

fn date(value: Option<&str>, field: &str) -> Result<Option<NaiveDate>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::invalid(format!("{field} must be a date as YYYY-MM-DD"))),
    }
}

/// Costs by day, campaign and provider, with the budget caps and the alert threshold.
#[utoipa::path(
    get, path = "/usage", tag = tags::SETTINGS,
    params(Period),
    responses(
        (status = 200, description = "Costs in USD for the period", body = Success<Usage>),
        (status = 400, description = "`INVALID_INPUT`: a date that does not parse, `from` after `to`, a period over 366 days, or an unknown parameter", body = ErrorBody),
    ),
)]
async fn usage(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiQuery(period): ApiQuery<Period>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let today =
        NaiveDate::parse_from_str(&seoul_day(now), "%Y-%m-%d").map_err(ApiError::internal)?;
    let month_start = today.with_day(1).unwrap_or(today);
    let from = date(period.from.as_deref(), "from")?.unwrap_or(month_start);
    let to = date(period.to.as_deref(), "to")?.unwrap_or(today);
    if from > to {
        return Err(ApiError::invalid("from must not be after to"));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::invalid(format!(
            "to must be less than {MAX_DAYS} days after from"
        )));
    }
    let owner = user.account_id.to_string();
    let pool = state.store.db().pool();
    let rows = sqlx::query(
        "SELECT c.day, c.campaign_id, c.component, c.amount_micros, c.call_id, l.name \
         FROM call_costs c LEFT JOIN campaign_list l ON l.campaign_id = c.campaign_id \
         WHERE c.owner_id = $1 AND c.day >= $2 AND c.day <= $3 ORDER BY c.position",
    )
    .bind(&owner)
    .bind(from.format("%Y-%m-%d").to_string())
    .bind(to.format("%Y-%m-%d").to_string())
    .fetch_all(pool)
    .await
    .map_err(ApiError::internal)?;
    let mut total = Sums::default();
    let mut by_day: BTreeMap<String, Sums> = BTreeMap::new();
    let mut by_campaign: BTreeMap<String, (Option<String>, Sums)> = BTreeMap::new();
    for row in rows {
        let day: String = row.try_get("day").map_err(ApiError::internal)?;
        let campaign: String = row.try_get("campaign_id").map_err(ApiError::internal)?;
        let component: String = row.try_get("component").map_err(ApiError::internal)?;
        let micros: i64 = row.try_get("amount_micros").map_err(ApiError::internal)?;
        let call: String = row.try_get("call_id").map_err(ApiError::internal)?;
        let name: Option<String> = row.try_get("name").map_err(ApiError::internal)?;
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
    let settings = AccountSettings::load(pool, &owner)
        .await
        .map_err(ApiError::internal)?;
    let (first_day, month) = seoul_month(now);
    let today_text = today.format("%Y-%m-%d").to_string();
    let today_spend = spend_from_day(pool, &owner, &today_text)
        .await
        .map_err(ApiError::internal)?;
    let month_spend = spend_from_day(pool, &owner, &first_day)
        .await
        .map_err(ApiError::internal)?;
    let alerted_at: Option<String> = sqlx::query_scalar(
        "SELECT alerted_at FROM budget_alerts WHERE account_id = $1 AND month = $2",
    )
    .bind(&owner)
    .bind(&month)
    .fetch_optional(pool)
    .await
    .map_err(ApiError::internal)?;
    let reached = |cap: Option<f64>, spend: i64| {
        cap.is_some_and(|cap| spend >= (cap * 1_000_000.0).round() as i64)
    };
    let threshold = (settings.alert_threshold_usd * 1_000_000.0).round() as i64;
    let mut summary = total.json();
    summary["currency"] = json!("USD");
    Ok(ok(json!({
        "from": from.format("%Y-%m-%d").to_string(),
        "to": to.format("%Y-%m-%d").to_string(),
        "timeZone": "Asia/Seoul",
        "total": summary,
        "byComponent": {
            "telephony": usd(total.telephony),
            "voice": usd(total.voice),
            "llm": usd(total.llm),
        },
        "byDay": by_day.iter().map(|(day, sums)| {
            let mut value = sums.json();
            value["date"] = json!(day);
            value
        }).collect::<Vec<_>>(),
        "byCampaign": by_campaign.iter().map(|(id, (name, sums))| {
            let mut value = sums.json();
            value["campaignId"] = json!(id);
            value["name"] = json!(name);
            value
        }).collect::<Vec<_>>(),
        "budget": {
            "dailyBudgetUsd": settings.daily_budget_usd,
            "monthlyBudgetUsd": settings.monthly_budget_usd,
            "alertThresholdUsd": settings.alert_threshold_usd,
            "todaySpend": usd(today_spend),
            "monthSpend": usd(month_spend),
            "dailyCapReached": reached(settings.daily_budget_usd, today_spend),
            "monthlyCapReached": reached(settings.monthly_budget_usd, month_spend),
            "alert": {
                "crossed": month_spend >= threshold,
                "alertedAt": alerted_at,
            },
        },
    }))
    .into_response())
}

// ----- answers, for the document (the handler builds the same JSON; the contract run checks it) --

/// Costs of a period, in USD.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct Usage {
    #[schema(example = "2026-11-01")]
    from: String,
    #[schema(example = "2026-11-30")]
    to: String,
    #[schema(example = "Asia/Seoul")]
    time_zone: String,
    total: UsageTotal,
    by_component: ByComponent,
    by_day: Vec<UsageDay>,
    by_campaign: Vec<UsageCampaign>,
    budget: Budget,
}

/// Sums of one slice of the period.
#[derive(ToSchema)]
#[allow(dead_code)]
struct UsageSums {
    /// All components together.
    cost: f64,
    telephony: f64,
    voice: f64,
    llm: f64,
    /// Calls that cost something.
    calls: u64,
}

/// The period's sums.
#[derive(ToSchema)]
#[allow(dead_code)]
struct UsageTotal {
    #[serde(flatten)]
    sums: UsageSums,
    #[schema(example = "USD")]
    currency: String,
}

/// The period's cost by provider.
#[derive(ToSchema)]
#[allow(dead_code)]
struct ByComponent {
    /// Twilio.
    telephony: f64,
    /// ElevenLabs.
    voice: f64,
    /// Summaries (OpenAI-compatible).
    llm: f64,
}

/// One day (Asia/Seoul).
#[derive(ToSchema)]
#[allow(dead_code)]
struct UsageDay {
    #[schema(example = "2026-11-21")]
    date: String,
    #[serde(flatten)]
    sums: UsageSums,
}

/// One campaign.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct UsageCampaign {
    campaign_id: String,
    name: Option<String>,
    #[serde(flatten)]
    sums: UsageSums,
}

/// The account's caps and where spending stands.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct Budget {
    daily_budget_usd: Option<f64>,
    monthly_budget_usd: Option<f64>,
    alert_threshold_usd: f64,
    today_spend: f64,
    month_spend: f64,
    daily_cap_reached: bool,
    monthly_cap_reached: bool,
    alert: BudgetAlert,
}

/// The monthly alert threshold.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct BudgetAlert {
    /// This month's spending reached the threshold.
    crossed: bool,
    /// When the alert was raised this month.
    #[schema(format = DateTime)]
    alerted_at: Option<String>,
}
