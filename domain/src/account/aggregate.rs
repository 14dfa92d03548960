//! The [`Account`] aggregate.

use std::collections::BTreeSet;

use crate::aggregate::{Decided, Sink};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AccountCommand, AccountError, AccountEvent, SessionEndReason};

/// A user's account as far as the rules need it: registered, failure count, lock, open sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    registered: bool,
    email: String,
    consecutive_failures: u32,
    locked_until: Option<DateTime<Utc>>,
    open_sessions: BTreeSet<Uuid>,
}

aggregate!(Account, type "account", AccountCommand, AccountEvent, AccountError);

impl Account {
    /// The normalized email address (empty before registration).
    pub fn email(&self) -> &str {
        &self.email
    }

    /// When the current lock lifts, if the account is locked at `at`.
    pub fn locked_at(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|until| at < *until)
    }

    fn ensure_registered(&self) -> Result<(), AccountError> {
        if self.registered {
            Ok(())
        } else {
            Err(AccountError::NotRegistered)
        }
    }

    fn ensure_unlocked(&self, at: DateTime<Utc>) -> Result<(), AccountError> {
        match self.locked_at(at) {
            Some(until) => Err(AccountError::Locked { until }),
            None => Ok(()),
        }
    }
}

/// Writes that one session ended.
async fn end_session(
    account: &mut Account,
    sink: &Sink<Account>,
    session_id: Uuid,
    reason: SessionEndReason,
    at: DateTime<Utc>,
) {
    let ended = AccountEvent::SessionEnded {
        session_id,
        reason,
        at,
    };
    sink.write(ended, account).await;
}

impl Account {
    /// Checks `cmd` against the rules and writes the events it causes.
    async fn decide(&mut self, cmd: AccountCommand, sink: &Sink<Self>) -> Decided<AccountError> {
        match cmd {
            AccountCommand::Register { email, at } => {
                if self.registered {
                    return Err(AccountError::AlreadyRegistered);
                }
                if email.trim().is_empty() || !email.contains('@') {
                    return Err(AccountError::InvalidEmail);
                }
                sink.write(
                    AccountEvent::AccountRegistered {
                        email,
                        registered_at: at,
                    },
                    self,
                )
                .await;
            }
            AccountCommand::RecordLoginFailure {
                at,
                lock_after,
                lock_for,
            } => {
                self.ensure_registered()?;
                // While locked the password is not even checked, so nothing counts.
                self.ensure_unlocked(at)?;
                let consecutive_failures = self.consecutive_failures.saturating_add(1);
                sink.write(
                    AccountEvent::LoginFailed {
                        at,
                        consecutive_failures,
                    },
                    self,
                )
                .await;
                if lock_after > 0 && consecutive_failures >= lock_after {
                    sink.write(
                        AccountEvent::AccountLocked {
                            at,
                            locked_until: at + lock_for,
                        },
                        self,
                    )
                    .await;
                }
            }
            AccountCommand::RecordLoginSuccess { session_id, at } => {
                self.ensure_registered()?;
                self.ensure_unlocked(at)?;
                if self.locked_until.is_some() {
                    sink.write(AccountEvent::AccountUnlocked { at }, self).await;
                }
                sink.write(AccountEvent::LoginSucceeded { at }, self).await;
                sink.write(AccountEvent::SessionStarted { session_id, at }, self)
                    .await;
            }
            AccountCommand::ChangePassword { at } => {
                self.ensure_registered()?;
                sink.write(AccountEvent::PasswordChanged { at }, self).await;
                // A new password ends every session, including the one that changed it.
                for session_id in self.open_sessions.clone() {
                    let reason = SessionEndReason::PasswordChanged;
                    end_session(self, sink, session_id, reason, at).await;
                }
            }
            AccountCommand::EndSession {
                session_id,
                reason,
                at,
            } => {
                self.ensure_registered()?;
                // Ending a session twice (a retried logout) changes nothing.
                if self.open_sessions.contains(&session_id) {
                    end_session(self, sink, session_id, reason, at).await;
                }
            }
        }
        Ok(())
    }

    /// Applies one recorded event; it cannot fail.
    fn evolve(&mut self, event: AccountEvent) {
        match event {
            AccountEvent::AccountRegistered { email, .. } => {
                self.registered = true;
                self.email = email;
            }
            AccountEvent::LoginFailed {
                consecutive_failures,
                ..
            } => self.consecutive_failures = consecutive_failures,
            AccountEvent::AccountLocked { locked_until, .. } => {
                self.consecutive_failures = 0;
                self.locked_until = Some(locked_until);
            }
            AccountEvent::LoginSucceeded { .. } => self.consecutive_failures = 0,
            AccountEvent::AccountUnlocked { .. } => self.locked_until = None,
            AccountEvent::PasswordChanged { .. } => {}
            AccountEvent::SessionStarted { session_id, .. } => {
                self.open_sessions.insert(session_id);
            }
            AccountEvent::SessionEnded { session_id, .. } => {
                self.open_sessions.remove(&session_id);
            }
        }
    }
}
