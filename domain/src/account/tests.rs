use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::DomainEvent;
use cqrs_es::test::TestFramework;

use super::*;
use uuid::Uuid;

type Fixture = TestFramework<Account>;

fn t(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, minute, 0).unwrap()
}

fn session() -> Uuid {
    Uuid::from_u128(7)
}

fn registered() -> AccountEvent {
    AccountEvent::AccountRegistered {
        email: "owner@clinic.kr".to_owned(),
        registered_at: t(0),
    }
}

fn failure(at: DateTime<Utc>) -> AccountCommand {
    AccountCommand::RecordLoginFailure {
        at,
        lock_after: 5,
        lock_for: Duration::minutes(15),
    }
}

fn failed(minute: u32, n: u32) -> AccountEvent {
    AccountEvent::LoginFailed {
        at: t(minute),
        consecutive_failures: n,
    }
}

fn locked_at_minute_5() -> Vec<AccountEvent> {
    vec![
        registered(),
        failed(1, 1),
        failed(2, 2),
        failed(3, 3),
        failed(4, 4),
        failed(5, 5),
        AccountEvent::AccountLocked {
            at: t(5),
            locked_until: t(20),
        },
    ]
}

#[test]
fn registering_a_new_account_records_the_email() {
    Fixture::with(())
        .given_no_previous_events()
        .when(AccountCommand::Register {
            email: "owner@clinic.kr".to_owned(),
            at: t(0),
        })
        .then_expect_events(vec![registered()]);
}

#[test]
fn registering_twice_is_refused() {
    Fixture::with(())
        .given(vec![registered()])
        .when(AccountCommand::Register {
            email: "owner@clinic.kr".to_owned(),
            at: t(1),
        })
        .then_expect_error(AccountError::AlreadyRegistered);
}

#[test]
fn registering_without_a_usable_email_is_refused() {
    Fixture::with(())
        .given_no_previous_events()
        .when(AccountCommand::Register {
            email: "owner".to_owned(),
            at: t(0),
        })
        .then_expect_error(AccountError::InvalidEmail);
}

#[test]
fn a_login_failure_before_registration_is_refused() {
    Fixture::with(())
        .given_no_previous_events()
        .when(failure(t(1)))
        .then_expect_error(AccountError::NotRegistered);
}

#[test]
fn a_login_success_before_registration_is_refused() {
    Fixture::with(())
        .given_no_previous_events()
        .when(AccountCommand::RecordLoginSuccess {
            session_id: session(),
            at: t(1),
        })
        .then_expect_error(AccountError::NotRegistered);
}

#[test]
fn a_password_change_before_registration_is_refused() {
    Fixture::with(())
        .given_no_previous_events()
        .when(AccountCommand::ChangePassword { at: t(1) })
        .then_expect_error(AccountError::NotRegistered);
}

#[test]
fn a_login_failure_counts_consecutive_failures() {
    Fixture::with(())
        .given(vec![registered(), failed(1, 1)])
        .when(failure(t(2)))
        .then_expect_events(vec![failed(2, 2)]);
}

#[test]
fn the_fifth_failure_in_a_row_locks_the_account_for_fifteen_minutes() {
    Fixture::with(())
        .given(vec![
            registered(),
            failed(1, 1),
            failed(2, 2),
            failed(3, 3),
            failed(4, 4),
        ])
        .when(failure(t(5)))
        .then_expect_events(vec![
            failed(5, 5),
            AccountEvent::AccountLocked {
                at: t(5),
                locked_until: t(20),
            },
        ]);
}

#[test]
fn a_lock_after_of_zero_never_locks() {
    Fixture::with(())
        .given(vec![registered(), failed(1, 1)])
        .when(AccountCommand::RecordLoginFailure {
            at: t(2),
            lock_after: 0,
            lock_for: Duration::minutes(15),
        })
        .then_expect_events(vec![failed(2, 2)]);
}

#[test]
fn a_success_resets_the_failure_count() {
    Fixture::with(())
        .given(vec![
            registered(),
            failed(1, 1),
            failed(2, 2),
            AccountEvent::LoginSucceeded { at: t(3) },
        ])
        .when(failure(t(4)))
        .then_expect_events(vec![failed(4, 1)]);
}

#[test]
fn a_login_success_is_recorded() {
    Fixture::with(())
        .given(vec![registered()])
        .when(AccountCommand::RecordLoginSuccess {
            session_id: session(),
            at: t(1),
        })
        .then_expect_events(vec![
            AccountEvent::LoginSucceeded { at: t(1) },
            AccountEvent::SessionStarted {
                session_id: session(),
                at: t(1),
            },
        ]);
}

#[test]
fn a_login_success_while_locked_is_refused_with_when_the_lock_lifts() {
    Fixture::with(())
        .given(locked_at_minute_5())
        .when(AccountCommand::RecordLoginSuccess {
            session_id: session(),
            at: t(19),
        })
        .then_expect_error(AccountError::Locked { until: t(20) });
}

#[test]
fn a_login_failure_while_locked_is_refused_and_does_not_extend_the_lock() {
    Fixture::with(())
        .given(locked_at_minute_5())
        .when(failure(t(10)))
        .then_expect_error(AccountError::Locked { until: t(20) });
}

#[test]
fn a_login_success_after_the_lock_expires_lifts_it() {
    Fixture::with(())
        .given(locked_at_minute_5())
        .when(AccountCommand::RecordLoginSuccess {
            session_id: session(),
            at: t(20),
        })
        .then_expect_events(vec![
            AccountEvent::AccountUnlocked { at: t(20) },
            AccountEvent::LoginSucceeded { at: t(20) },
            AccountEvent::SessionStarted {
                session_id: session(),
                at: t(20),
            },
        ]);
}

#[test]
fn failures_after_a_lock_expires_count_from_one_again() {
    Fixture::with(())
        .given(locked_at_minute_5())
        .when(failure(t(21)))
        .then_expect_events(vec![failed(21, 1)]);
}

#[test]
fn a_password_change_is_recorded() {
    Fixture::with(())
        .given(vec![registered()])
        .when(AccountCommand::ChangePassword { at: t(2) })
        .then_expect_events(vec![AccountEvent::PasswordChanged { at: t(2) }]);
}

#[test]
fn account_events_have_stable_names_and_externally_tagged_json() {
    let event = failed(1, 1);
    assert_eq!(event.event_type(), "LoginFailed");
    assert_eq!(event.event_version(), "1.0");
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        serde_json::json!({
            "LoginFailed": { "at": "2025-03-01T09:01:00Z", "consecutive_failures": 1 }
        })
    );
}

#[test]
fn a_password_change_ends_every_open_session() {
    let other = Uuid::from_u128(8);
    TestFramework::<Account>::with(())
        .given(vec![
            registered(),
            AccountEvent::SessionStarted {
                session_id: session(),
                at: t(1),
            },
            AccountEvent::SessionStarted {
                session_id: other,
                at: t(2),
            },
        ])
        .when(AccountCommand::ChangePassword { at: t(3) })
        .then_expect_events(vec![
            AccountEvent::PasswordChanged { at: t(3) },
            AccountEvent::SessionEnded {
                session_id: session(),
                reason: SessionEndReason::PasswordChanged,
                at: t(3),
            },
            AccountEvent::SessionEnded {
                session_id: other,
                reason: SessionEndReason::PasswordChanged,
                at: t(3),
            },
        ]);
}

#[test]
fn ending_an_open_session_records_why() {
    TestFramework::<Account>::with(())
        .given(vec![
            registered(),
            AccountEvent::SessionStarted {
                session_id: session(),
                at: t(1),
            },
        ])
        .when(AccountCommand::EndSession {
            session_id: session(),
            reason: SessionEndReason::Evicted,
            at: t(2),
        })
        .then_expect_events(vec![AccountEvent::SessionEnded {
            session_id: session(),
            reason: SessionEndReason::Evicted,
            at: t(2),
        }]);
}

#[test]
fn ending_a_session_that_is_not_open_changes_nothing() {
    TestFramework::<Account>::with(())
        .given(vec![
            registered(),
            AccountEvent::SessionStarted {
                session_id: session(),
                at: t(1),
            },
            AccountEvent::SessionEnded {
                session_id: session(),
                reason: SessionEndReason::Logout,
                at: t(2),
            },
        ])
        .when(AccountCommand::EndSession {
            session_id: session(),
            reason: SessionEndReason::Logout,
            at: t(3),
        })
        .then_expect_events(vec![]);
}

#[test]
fn ending_a_session_before_registration_is_refused() {
    TestFramework::<Account>::with(())
        .given_no_previous_events()
        .when(AccountCommand::EndSession {
            session_id: session(),
            reason: SessionEndReason::Logout,
            at: t(1),
        })
        .then_expect_error(AccountError::NotRegistered);
}
