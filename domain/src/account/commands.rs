//! Commands accepted by [`Account`](super::Account).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::SessionEndReason;

/// What can be asked of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountCommand {
    /// Create the account for an email address that the caller has already normalized.
    Register {
        /// Normalized (trimmed, lower-cased) email address.
        email: String,
        /// When the request arrived.
        at: DateTime<Utc>,
    },
    /// A login with a wrong password; locks the account after `lock_after` in a row.
    RecordLoginFailure {
        /// When the attempt happened.
        at: DateTime<Utc>,
        /// Consecutive failures that lock the account (0 disables locking).
        lock_after: u32,
        /// How long the lock lasts.
        lock_for: Duration,
    },
    /// A login with the right password.
    RecordLoginSuccess {
        /// The session the login opens.
        session_id: Uuid,
        /// When the attempt happened.
        at: DateTime<Utc>,
    },
    /// The password was changed (the new hash is stored outside the event stream).
    ChangePassword {
        /// When it changed.
        at: DateTime<Utc>,
    },
    /// End one open session (logout, revocation, eviction by a newer login).
    EndSession {
        /// The session to end.
        session_id: Uuid,
        /// Why it ends.
        reason: SessionEndReason,
        /// When.
        at: DateTime<Utc>,
    },
}
