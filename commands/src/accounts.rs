//! Per-account settings and the do-not-call list: plain tables, since they are configuration
//! rather than history. Commands and the dialer read them; the API edits them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::PhoneNumber;
use domain::phone::display_number;
use domain::policy::{CALLER_ID_REGIONS, CampaignSettings};
use domain::script::variables::BusinessProfile;
use serde::{Deserialize, Serialize};
use sqlx::AnyPool;

use crate::store::timestamp;

/// The longest business name.
pub const MAX_BUSINESS_NAME_CHARS: usize = domain::limits::BUSINESS_NAME.max;
/// The longest business hours text.
pub const MAX_BUSINESS_HOURS_CHARS: usize = domain::limits::BUSINESS_HOURS.max;

/// An account's business profile, defaults and limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AccountSettings {
    /// The business the calls are made for, as the agent introduces it (`{businessName}`);
    /// required before a campaign can start.
    pub business_name: Option<String>,
    /// The callback number the agent may give (`{businessPhone}`), stored in E.164.
    pub business_phone: Option<String>,
    /// When the business answers calls, in the owner's words (`{businessHours}`).
    pub business_hours: Option<String>,
    /// Caller id for new campaigns (E.164), unless a campaign sets its own.
    pub caller_id: Option<String>,
    /// Spend cap per day (Asia/Seoul days), in US dollars; none = no cap.
    pub daily_budget_usd: Option<f64>,
    /// Spend cap per month, in US dollars; none = no cap.
    pub monthly_budget_usd: Option<f64>,
    /// Monthly spend at which the owner is warned, in US dollars.
    pub alert_threshold_usd: f64,
    /// Settings new campaigns start from.
    pub campaign_defaults: CampaignSettings,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            business_name: None,
            business_phone: None,
            business_hours: None,
            caller_id: None,
            daily_budget_usd: None,
            monthly_budget_usd: None,
            alert_threshold_usd: 50.0,
            campaign_defaults: CampaignSettings::default(),
        }
    }
}

/// Why settings were refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountSettingsError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

impl AccountSettings {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), AccountSettingsError> {
        let invalid = |field, reason: &str| AccountSettingsError::Invalid {
            field,
            reason: reason.to_owned(),
        };
        for (field, value) in [
            ("dailyBudgetUsd", self.daily_budget_usd),
            ("monthlyBudgetUsd", self.monthly_budget_usd),
            ("alertThresholdUsd", Some(self.alert_threshold_usd)),
        ] {
            if value.is_some_and(|v| !v.is_finite() || v < 0.0) {
                return Err(invalid(field, "must be a non-negative number"));
            }
        }
        for (field, value, max) in [
            ("businessName", &self.business_name, MAX_BUSINESS_NAME_CHARS),
            (
                "businessHours",
                &self.business_hours,
                MAX_BUSINESS_HOURS_CHARS,
            ),
        ] {
            if let Some(value) = value {
                let chars = value.trim().chars().count();
                if chars == 0 || chars > max {
                    return Err(invalid(field, &format!("must be 1 to {max} characters")));
                }
                if value.contains(['{', '}']) {
                    return Err(invalid(field, "must not contain { or }"));
                }
                if domain::limits::has_control_characters(value) {
                    return Err(invalid(field, "must not contain control characters"));
                }
            }
        }
        for (field, value) in [
            ("businessPhone", &self.business_phone),
            ("callerId", &self.caller_id),
        ] {
            if let Some(number) = value {
                PhoneNumber::parse(number, CALLER_ID_REGIONS)
                    .map_err(|e| invalid(field, &e.to_string()))?;
            }
        }
        self.campaign_defaults
            .validate()
            .map_err(|e| invalid("campaignDefaults", &e.to_string()))
    }

    /// Trims the business profile's texts and writes its numbers in E.164, however they were typed
    /// (after [`AccountSettings::validate`]).
    pub fn normalize(&mut self) {
        for text in [&mut self.business_name, &mut self.business_hours] {
            *text = text.take().map(|t| t.trim().to_owned());
        }
        for number in [&mut self.business_phone, &mut self.caller_id] {
            *number = number.take().map(|n| {
                PhoneNumber::parse(&n, CALLER_ID_REGIONS).map_or(n, |p| p.as_str().to_owned())
            });
        }
        self.campaign_defaults.normalize();
    }

    /// The business profile scripts are filled from, its number as people write it.
    pub fn business_profile(&self) -> BusinessProfile {
        BusinessProfile {
            name: self.business_name.clone(),
            phone: self.business_phone.as_deref().map(display_number),
            hours: self.business_hours.clone(),
        }
    }

    /// Reads an account's settings (defaults when never saved). A saved row that no longer
    /// reads (a time zone the tz database does not know, say) is an error, never the defaults:
    /// the dialer must not quietly call in another zone or without the owner's budget caps.
    pub async fn load(pool: &AnyPool, account_id: &str) -> Result<Self, sqlx::Error> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT settings FROM account_settings WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(pool)
                .await?;
        let Some(text) = text else {
            return Ok(Self::default());
        };
        serde_json::from_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
            index: "settings".to_owned(),
            source: Box::new(e),
        })
    }

    /// Reads the settings of several accounts at once (one round of the dialer reads every
    /// running campaign's owner): an account never saved gets the defaults, and one whose saved
    /// row no longer reads is left out, so that [`AccountSettings::load`] reports it for that
    /// account alone.
    pub async fn load_many(
        pool: &AnyPool,
        account_ids: &[String],
    ) -> Result<HashMap<String, Self>, sqlx::Error> {
        let mut settings: HashMap<String, Self> = account_ids
            .iter()
            .map(|id| (id.clone(), Self::default()))
            .collect();
        for chunk in account_ids.chunks(crate::db::IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT account_id, settings FROM account_settings WHERE account_id IN ({})",
                crate::db::placeholders(1, chunk.len())
            );
            let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            for (id, text) in query.fetch_all(pool).await? {
                match serde_json::from_str(&text) {
                    Ok(read) => settings.insert(id, read),
                    Err(_) => settings.remove(&id),
                };
            }
        }
        Ok(settings)
    }

    /// Saves an account's settings.
    pub async fn save(
        &self,
        pool: &AnyPool,
        account_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let text = serde_json::to_string(self).expect("settings serialize");
        sqlx::query(
            "INSERT INTO account_settings (account_id, settings, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        )
        .bind(account_id)
        .bind(text)
        .bind(timestamp(at))
        .execute(pool)
        .await?;
        Ok(())
    }
}

/// One entry of the do-not-call list.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Suppression {
    pub phone_number: String,
    pub reason: String,
    pub created_at: String,
}

/// The do-not-call list of each account.
pub struct Suppressions;

impl Suppressions {
    /// Adds a number (again: keeps the first entry). Returns whether it was new.
    pub async fn add(
        pool: &AnyPool,
        account_id: &str,
        phone: &PhoneNumber,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(
            "INSERT INTO suppressions (account_id, phone, reason, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, phone) DO NOTHING",
        )
        .bind(account_id)
        .bind(phone.as_str())
        .bind(reason)
        .bind(timestamp(at))
        .execute(pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Removes a number; returns whether it was listed.
    pub async fn remove(
        pool: &AnyPool,
        account_id: &str,
        phone: &PhoneNumber,
    ) -> Result<bool, sqlx::Error> {
        let result = sqlx::query("DELETE FROM suppressions WHERE account_id = $1 AND phone = $2")
            .bind(account_id)
            .bind(phone.as_str())
            .execute(pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Whether a number is listed.
    pub async fn contains(
        pool: &AnyPool,
        account_id: &str,
        phone: &str,
    ) -> Result<bool, sqlx::Error> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM suppressions WHERE account_id = $1 AND phone = $2")
                .bind(account_id)
                .bind(phone)
                .fetch_optional(pool)
                .await?;
        Ok(found.is_some())
    }

    /// The whole list, newest first.
    pub async fn list(pool: &AnyPool, account_id: &str) -> Result<Vec<Suppression>, sqlx::Error> {
        sqlx::query_as(
            "SELECT phone AS phone_number, reason, created_at FROM suppressions \
             WHERE account_id = $1 ORDER BY created_at DESC, phone",
        )
        .bind(account_id)
        .fetch_all(pool)
        .await
    }
}
