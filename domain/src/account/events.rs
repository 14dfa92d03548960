//! Events recorded by [`Account`](super::Account). They never carry secrets.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::SessionEndReason;

/// Something that happened to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountEvent {
    /// The account was created.
    AccountRegistered {
        /// Normalized email address.
        email: String,
        /// When it was created.
        registered_at: DateTime<Utc>,
    },
    /// A login failed because of a wrong password.
    LoginFailed {
        /// When it failed.
        at: DateTime<Utc>,
        /// Failures in a row, this one included.
        consecutive_failures: u32,
    },
    /// Too many failures in a row: logins are refused until `locked_until`.
    AccountLocked {
        /// When the lock began.
        at: DateTime<Utc>,
        /// When the lock lifts.
        locked_until: DateTime<Utc>,
    },
    /// A login succeeded; the failure count resets.
    LoginSucceeded {
        /// When it succeeded.
        at: DateTime<Utc>,
    },
    /// The password was changed; every session ends.
    PasswordChanged {
        /// When it changed.
        at: DateTime<Utc>,
    },
    /// A login after a lock had expired lifted it.
    AccountUnlocked {
        /// When.
        at: DateTime<Utc>,
    },
    /// A login opened a session.
    SessionStarted {
        /// The session's id (the token carries it).
        session_id: Uuid,
        /// When.
        at: DateTime<Utc>,
    },
    /// A session ended before expiring on its own.
    SessionEnded {
        /// The session's id.
        session_id: Uuid,
        /// Why it ended.
        reason: SessionEndReason,
        /// When.
        at: DateTime<Utc>,
    },
}

domain_event!(AccountEvent, version "1.0", [
    AccountRegistered, LoginFailed, AccountLocked, LoginSucceeded, PasswordChanged, AccountUnlocked,
    SessionStarted, SessionEnded,
]);
