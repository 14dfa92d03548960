//! The `Account` aggregate: registration, login failures and lockout, password changes and
//! the sessions logins open.
//!
//! Credentials themselves (password hashes, sessions) live in plain tables; events only record
//! that something happened.

mod aggregate;
mod commands;
mod errors;
mod events;
#[cfg(test)]
mod tests;

pub use aggregate::Account;
pub use commands::AccountCommand;
pub use errors::AccountError;
pub use events::AccountEvent;

use serde::{Deserialize, Serialize};

/// Why a session ended before expiring on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionEndReason {
    /// The user logged out.
    Logout,
    /// The user ended it from the session list.
    Revoked,
    /// A newer login took its place (at most three live sessions).
    Evicted,
    /// The password changed.
    PasswordChanged,
}
