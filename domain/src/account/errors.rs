//! Rules an [`Account`](super::Account) command can break.

use chrono::{DateTime, Utc};
use thiserror::Error;

/// Why an account command was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccountError {
    /// The account already exists.
    #[error("the account is already registered")]
    AlreadyRegistered,
    /// The account does not exist yet.
    #[error("the account is not registered")]
    NotRegistered,
    /// The email address is empty or has no `@`.
    #[error("the email address is not valid")]
    InvalidEmail,
    /// Too many failed logins; try again after `until`.
    #[error("the account is locked until {until}")]
    Locked {
        /// When the lock lifts.
        until: DateTime<Utc>,
    },
}
