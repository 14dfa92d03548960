//! The do-not-call list of an account: list, add, remove.

use std::sync::Arc;

use domain::PhoneNumber;
use domain::phone::PhoneError;
use serde::{Deserialize, Serialize};
use sqlx::AnyPool;
use uuid::Uuid;

use crate::Clock;
use crate::accounts::{Suppression, Suppressions};

/// Longest reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = domain::limits::SUPPRESSION_REASON.max;
/// The reason recorded when none is given.
const DEFAULT_REASON: &str = "added by the account";

/// Why a do-not-call change was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SuppressionsError {
    /// The number does not parse (`value` as typed).
    #[error("phoneNumber: {reason}")]
    InvalidPhone { value: String, reason: PhoneError },
    /// The reason is over its limit.
    #[error(transparent)]
    TooLarge(#[from] domain::limits::TooLarge),
    /// The reason holds control characters.
    #[error("reason: must not contain control characters")]
    ControlCharacters,
    /// The number is not on the list.
    #[error("the number is not listed")]
    NotListed,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A number never to call.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[cfg_attr(
    feature = "utoipa",
    schema(example = json!({ "phoneNumber": "010-1234-5678", "reason": "asked not to be called" }))
)]
pub struct NewSuppression {
    /// E.164 or a domestic Korean form.
    pub phone_number: String,
    /// Why (at most 200 characters are kept).
    // A default when absent.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The do-not-call list after an addition.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SuppressionAdded {
    /// The number in E.164.
    #[cfg_attr(feature = "utoipa", schema(example = "+821012345678"))]
    pub phone_number: String,
    pub reason: String,
    /// False when the number was already listed.
    pub added: bool,
}

/// The do-not-call use cases.
#[derive(Clone)]
pub struct SuppressionService {
    pool: AnyPool,
    clock: Arc<dyn Clock>,
}

impl SuppressionService {
    /// The service over this database and clock.
    pub fn new(pool: AnyPool, clock: Arc<dyn Clock>) -> Self {
        Self { pool, clock }
    }

    /// The whole list, newest first.
    pub async fn list(&self, account_id: Uuid) -> Result<Vec<Suppression>, SuppressionsError> {
        Ok(Suppressions::list(&self.pool, &account_id.to_string()).await?)
    }

    /// Adds a number (again: keeps the first entry and says it was not added).
    pub async fn add(
        &self,
        account_id: Uuid,
        input: NewSuppression,
    ) -> Result<SuppressionAdded, SuppressionsError> {
        let number = phone(&input.phone_number)?;
        let reason = input.reason.unwrap_or_else(|| DEFAULT_REASON.into());
        domain::limits::SUPPRESSION_REASON.check_text(&reason)?;
        if domain::limits::has_control_characters(&reason) {
            return Err(SuppressionsError::ControlCharacters);
        }
        let added = Suppressions::add(
            &self.pool,
            &account_id.to_string(),
            &number,
            &reason,
            self.clock.now(),
        )
        .await?;
        Ok(SuppressionAdded {
            phone_number: number.as_str().to_owned(),
            reason,
            added,
        })
    }

    /// Removes a number (`input` E.164 or domestic).
    pub async fn remove(&self, account_id: Uuid, input: &str) -> Result<(), SuppressionsError> {
        let number = phone(input)?;
        if Suppressions::remove(&self.pool, &account_id.to_string(), &number).await? {
            Ok(())
        } else {
            Err(SuppressionsError::NotListed)
        }
    }
}

fn phone(input: &str) -> Result<PhoneNumber, SuppressionsError> {
    PhoneNumber::parse(input, &["KR"]).map_err(|reason| SuppressionsError::InvalidPhone {
        value: input.to_owned(),
        reason,
    })
}
