//! Given/when/then tables of an account: registration, login failures and lockout, sessions.

use chrono::Duration;
use cqrs_es::DomainEvent;
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::testing::{and, check_all, json_of, t};

fn session() -> Uuid {
    Uuid::from_u128(7)
}

fn registered() -> AccountEvent {
    AccountEvent::AccountRegistered {
        email: "owner@clinic.kr".to_owned(),
        registered_at: t(0),
    }
}

fn register(email: &str, minute: i64) -> AccountCommand {
    AccountCommand::Register {
        email: email.to_owned(),
        at: t(minute),
    }
}

/// A wrong password at `minute`; five in a row lock for fifteen minutes (0: never).
fn failure_locking_after(lock_after: u32, minute: i64) -> AccountCommand {
    AccountCommand::RecordLoginFailure {
        at: t(minute),
        lock_after,
        lock_for: Duration::minutes(15),
    }
}

fn failure(minute: i64) -> AccountCommand {
    failure_locking_after(5, minute)
}

fn failed(minute: i64, n: u32) -> AccountEvent {
    AccountEvent::LoginFailed {
        at: t(minute),
        consecutive_failures: n,
    }
}

fn success(minute: i64) -> AccountCommand {
    AccountCommand::RecordLoginSuccess {
        session_id: session(),
        at: t(minute),
    }
}

fn session_started(session_id: Uuid, minute: i64) -> AccountEvent {
    AccountEvent::SessionStarted {
        session_id,
        at: t(minute),
    }
}

fn end_session(reason: SessionEndReason, minute: i64) -> AccountCommand {
    AccountCommand::EndSession {
        session_id: session(),
        reason,
        at: t(minute),
    }
}

fn session_ended(session_id: Uuid, reason: SessionEndReason, minute: i64) -> AccountEvent {
    AccountEvent::SessionEnded {
        session_id,
        reason,
        at: t(minute),
    }
}

fn change_password(minute: i64) -> AccountCommand {
    AccountCommand::ChangePassword { at: t(minute) }
}

fn four_failures() -> Vec<AccountEvent> {
    vec![
        registered(),
        failed(1, 1),
        failed(2, 2),
        failed(3, 3),
        failed(4, 4),
    ]
}

fn locked() -> AccountEvent {
    AccountEvent::AccountLocked {
        at: t(5),
        locked_until: t(20),
    }
}

fn locked_at_minute_5() -> Vec<AccountEvent> {
    and(four_failures(), [failed(5, 5), locked()])
}

#[test]
fn registration() {
    use AccountError::*;
    check_all::<Account>([
        (
            "registering_a_new_account_records_the_email",
            vec![],
            register("owner@clinic.kr", 0),
            Ok(vec![registered()]),
        ),
        (
            "registering_twice_is_refused",
            vec![registered()],
            register("owner@clinic.kr", 1),
            Err(AlreadyRegistered),
        ),
        (
            "registering_without_a_usable_email_is_refused",
            vec![],
            register("owner", 0),
            Err(InvalidEmail),
        ),
        (
            "a_login_failure_before_registration_is_refused",
            vec![],
            failure(1),
            Err(NotRegistered),
        ),
        (
            "a_login_success_before_registration_is_refused",
            vec![],
            success(1),
            Err(NotRegistered),
        ),
        (
            "a_password_change_before_registration_is_refused",
            vec![],
            change_password(1),
            Err(NotRegistered),
        ),
        (
            "ending_a_session_before_registration_is_refused",
            vec![],
            end_session(SessionEndReason::Logout, 1),
            Err(NotRegistered),
        ),
    ]);
}

#[test]
fn logins_and_lockout() {
    let locked_error = || Err(AccountError::Locked { until: t(20) });
    let succeeded = |minute| AccountEvent::LoginSucceeded { at: t(minute) };
    let unlocked = AccountEvent::AccountUnlocked { at: t(20) };
    check_all::<Account>([
        (
            "a_login_failure_counts_consecutive_failures",
            vec![registered(), failed(1, 1)],
            failure(2),
            Ok(vec![failed(2, 2)]),
        ),
        (
            "the_fifth_failure_in_a_row_locks_the_account_for_fifteen_minutes",
            four_failures(),
            failure(5),
            Ok(vec![failed(5, 5), locked()]),
        ),
        (
            "a_lock_after_of_zero_never_locks",
            vec![registered(), failed(1, 1)],
            failure_locking_after(0, 2),
            Ok(vec![failed(2, 2)]),
        ),
        (
            "a_success_resets_the_failure_count",
            vec![registered(), failed(1, 1), failed(2, 2), succeeded(3)],
            failure(4),
            Ok(vec![failed(4, 1)]),
        ),
        (
            "a_login_success_is_recorded",
            vec![registered()],
            success(1),
            Ok(vec![succeeded(1), session_started(session(), 1)]),
        ),
        (
            "a_login_success_while_locked_is_refused_with_when_the_lock_lifts",
            locked_at_minute_5(),
            success(19),
            locked_error(),
        ),
        (
            "a_login_failure_while_locked_is_refused_and_does_not_extend_the_lock",
            locked_at_minute_5(),
            failure(10),
            locked_error(),
        ),
        (
            "a_login_success_after_the_lock_expires_lifts_it",
            locked_at_minute_5(),
            success(20),
            Ok(vec![
                unlocked,
                succeeded(20),
                session_started(session(), 20),
            ]),
        ),
        (
            "failures_after_a_lock_expires_count_from_one_again",
            locked_at_minute_5(),
            failure(21),
            Ok(vec![failed(21, 1)]),
        ),
    ]);
}

#[test]
fn passwords_and_sessions() {
    use SessionEndReason::*;
    let other = Uuid::from_u128(8);
    let two_sessions = vec![
        registered(),
        session_started(session(), 1),
        session_started(other, 2),
    ];
    let one_session = vec![registered(), session_started(session(), 1)];
    let password_changed = |minute| AccountEvent::PasswordChanged { at: t(minute) };
    check_all::<Account>([
        (
            "a_password_change_is_recorded",
            vec![registered()],
            change_password(2),
            Ok(vec![password_changed(2)]),
        ),
        (
            "a_password_change_ends_every_open_session",
            two_sessions,
            change_password(3),
            Ok(vec![
                password_changed(3),
                session_ended(session(), PasswordChanged, 3),
                session_ended(other, PasswordChanged, 3),
            ]),
        ),
        (
            "ending_an_open_session_records_why",
            one_session.clone(),
            end_session(Evicted, 2),
            Ok(vec![session_ended(session(), Evicted, 2)]),
        ),
        (
            "ending_a_session_that_is_not_open_changes_nothing",
            and(one_session, [session_ended(session(), Logout, 2)]),
            end_session(Logout, 3),
            Ok(vec![]),
        ),
    ]);
}

#[test]
fn account_events_have_stable_names_and_externally_tagged_json() {
    let event = failed(1, 1);
    assert_eq!(event.event_type(), "LoginFailed");
    assert_eq!(event.event_version(), "1.0");
    assert_eq!(
        json_of(&event),
        json!({
            "LoginFailed": { "at": "2025-03-01T09:01:00Z", "consecutive_failures": 1 }
        })
    );
}
