//! An account's settings: defaults for new campaigns, budget caps, the alert threshold and the
//! caller id. A new caller id is checked with the telephony provider through [`CallerIdCheck`].

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::AnyPool;
use uuid::Uuid;

use crate::Clock;
use crate::accounts::{AccountSettings, AccountSettingsError};

/// Asks the telephony provider whether calls may come from a number (a port: the Twilio
/// adapter implements it, tests stub it).
#[async_trait]
pub trait CallerIdCheck: Send + Sync {
    /// Ok when the provider account owns or has verified `number` (E.164).
    async fn check_caller_id(&self, number: &str) -> Result<(), CallerIdError>;
}

/// Why a caller id was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallerIdError {
    /// The provider account neither owns nor has verified the number.
    #[error("the telephony account neither owns nor has verified {number}")]
    NotVerified { number: String },
    /// The provider could not be asked.
    #[error("{message}")]
    Unavailable {
        provider: &'static str,
        message: String,
    },
}

/// Why settings were not saved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Invalid(#[from] AccountSettingsError),
    #[error(transparent)]
    CallerId(#[from] CallerIdError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The settings use cases.
#[derive(Clone)]
pub struct SettingsService {
    pool: AnyPool,
    clock: Arc<dyn Clock>,
    caller_ids: Option<Arc<dyn CallerIdCheck>>,
}

impl SettingsService {
    /// `caller_ids` = `None` trusts every well-formed caller id (no provider to ask).
    pub fn new(
        pool: AnyPool,
        clock: Arc<dyn Clock>,
        caller_ids: Option<Arc<dyn CallerIdCheck>>,
    ) -> Self {
        Self {
            pool,
            clock,
            caller_ids,
        }
    }

    /// The account's settings (defaults until first written).
    pub async fn get(&self, account_id: Uuid) -> Result<AccountSettings, SettingsError> {
        Ok(AccountSettings::load(&self.pool, &account_id.to_string()).await?)
    }

    /// Replaces the account's settings; answers them as saved.
    #[tracing::instrument(skip_all, fields(account = %account_id))]
    pub async fn update(
        &self,
        account_id: Uuid,
        mut settings: AccountSettings,
    ) -> Result<AccountSettings, SettingsError> {
        settings.validate()?;
        // Numbers stored (and asked of the provider) in E.164, however they were typed.
        settings.normalize();
        let account = account_id.to_string();
        if let Some(check) = &self.caller_ids {
            let current = AccountSettings::load(&self.pool, &account).await?;
            // Both caller ids (the account's and new campaigns' default) pass the same check;
            // only a new one is asked about, so budgets can change while the provider is away.
            for (new, saved) in [
                (&settings.caller_id, &current.caller_id),
                (
                    &settings.campaign_defaults.caller_id,
                    &current.campaign_defaults.caller_id,
                ),
            ] {
                if let Some(number) = new
                    && saved != new
                {
                    check.check_caller_id(number).await?;
                }
            }
        }
        settings
            .save(&self.pool, &account, self.clock.now())
            .await?;
        Ok(settings)
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
