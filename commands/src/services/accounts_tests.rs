//! Branches of the account rules the HTTP tests do not reach, driven with a manual clock.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use tempfile::TempDir;

use super::*;
use crate::{Db, EventStore, ManualClock, Metrics};

/// A fresh SQLite database with every migration, kept alive by the returned directory.
pub(crate) async fn test_store() -> (TempDir, EventStore) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite:{}", dir.path().join("callbot.db").display());
    let db = Db::connect_and_migrate(&url)
        .await
        .expect("a migrated database");
    let store = EventStore::open(db, Arc::new(Metrics::default()))
        .await
        .expect("the event store");
    (dir, store)
}

/// A clock at a fixed instant.
pub(crate) fn test_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap(),
    ))
}

async fn service() -> (TempDir, AccountService, Arc<ManualClock>) {
    let (dir, store) = test_store().await;
    let clock = test_clock();
    let accounts = Arc::new(Commands::new(store.clone(), ()));
    let service = AccountService::new(store.clone(), accounts, clock.clone(), Arc::default());
    (dir, service, clock)
}

fn credentials(email: &str, password: &str) -> Credentials {
    Credentials {
        email: email.to_owned(),
        password: password.to_owned(),
    }
}

fn login(email: &str, password: &str) -> Login {
    Login {
        credentials: credentials(email, password),
        user_agent: None,
    }
}

#[test]
fn an_unknown_email_locks_on_the_sixth_try_and_the_lock_lifts_after_fifteen_minutes() {
    let lockouts = UnknownEmailLockouts::default();
    let start = Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap();
    for _ in 0..LOCK_AFTER {
        assert_eq!(lockouts.fail("nobody@example.com", start), None);
    }
    assert_eq!(
        lockouts.fail("nobody@example.com", start),
        Some(start + LOCK_FOR)
    );
    // Another email is not affected.
    assert_eq!(lockouts.fail("other@example.com", start), None);
    let later = start + LOCK_FOR;
    assert_eq!(lockouts.fail("nobody@example.com", later), None);
}

#[tokio::test]
async fn an_unknown_email_answers_like_a_locked_account_once_locked() {
    let (_dir, service, clock) = service().await;
    for _ in 0..LOCK_AFTER {
        let err = service.login(login("ghost@example.com", "whatever1")).await;
        assert!(matches!(err, Err(AccountsError::Unauthorized)), "{err:?}");
    }
    let err = service.login(login("ghost@example.com", "whatever1")).await;
    assert!(
        matches!(err, Err(AccountsError::Locked { until }) if until == clock.now() + LOCK_FOR),
        "{err:?}"
    );
    clock.advance(LOCK_FOR);
    let err = service.login(login("ghost@example.com", "whatever1")).await;
    assert!(matches!(err, Err(AccountsError::Unauthorized)), "{err:?}");
}

#[tokio::test]
async fn a_session_slides_with_use_and_ends_a_day_after_the_last_request() {
    let (_dir, service, clock) = service().await;
    let session = signed_in(&service).await;
    assert_eq!(session.expires_at, session.at + SESSION_IDLE);
    clock.advance(SESSION_IDLE - Duration::minutes(1));
    service
        .authenticate(session.user)
        .await
        .expect("still live");
    clock.advance(SESSION_IDLE - Duration::minutes(1));
    service.authenticate(session.user).await.expect("slid");
    clock.advance(SESSION_IDLE);
    let err = service.authenticate(session.user).await;
    assert!(matches!(err, Err(AccountsError::Unauthorized)), "{err:?}");
    assert!(
        service
            .sessions(session.user)
            .await
            .expect("listed")
            .is_empty()
    );
}

#[tokio::test]
async fn a_token_for_another_accounts_session_is_refused() {
    let (_dir, service, _clock) = service().await;
    let session = signed_in(&service).await;
    let forged = CurrentUser {
        account_id: Uuid::now_v7(),
        session_id: session.user.session_id,
    };
    let err = service.authenticate(forged).await;
    assert!(matches!(err, Err(AccountsError::Unauthorized)), "{err:?}");
}

#[tokio::test]
async fn ending_a_session_id_that_is_not_a_uuid_or_already_ended_is_not_found() {
    let (_dir, service, _clock) = service().await;
    let session = signed_in(&service).await;
    let err = service.end_session(session.user, "not-a-uuid").await;
    assert!(matches!(err, Err(AccountsError::NotFound)), "{err:?}");
    service.logout(session.user).await.expect("logged out");
    let id = session.user.session_id.to_string();
    let err = service.end_session(session.user, &id).await;
    assert!(matches!(err, Err(AccountsError::NotFound)), "{err:?}");
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let (_dir, service, _clock) = service().await;
    let session = signed_in(&service).await;
    let change = PasswordChange {
        current_password: "wrong-pass1".to_owned(),
        new_password: "n3w-s3cret-pass".to_owned(),
    };
    let err = service.change_password(session.user, change).await;
    assert!(
        matches!(err, Err(AccountsError::WrongCurrentPassword)),
        "{err:?}"
    );
    service
        .authenticate(session.user)
        .await
        .expect("the session goes on");
}

#[test]
fn finding_7_the_dummy_hash_has_the_live_argon2_parameters_and_is_a_real_hash() {
    let dummy = argon2::PasswordHash::new(DUMMY_HASH).expect("a PHC string");
    let live = argon2();
    let params = argon2::Params::try_from(&dummy).expect("Argon2 parameters");
    assert_eq!(dummy.algorithm, argon2::Algorithm::Argon2id.ident());
    assert_eq!(params.m_cost(), live.params().m_cost());
    assert_eq!(params.t_cost(), live.params().t_cost());
    assert_eq!(params.p_cost(), live.params().p_cost());
    assert_eq!(
        params.output_len(),
        Some(
            live.params()
                .output_len()
                .unwrap_or(argon2::Params::DEFAULT_OUTPUT_LEN)
        )
    );
    // A real hash: verifying it does the whole work (and the password it was made of passes).
    assert!(
        argon2()
            .verify_password(b"no such account 0", DUMMY_HASH)
            .is_ok()
    );
}

#[tokio::test]
async fn finding_7_every_refusal_is_held_to_the_same_floor() {
    let (_dir, service, _clock) = service().await;
    signed_in(&service).await;
    let floor = std::time::Duration::from_millis(300);
    let service = service.with_refusal_floor(floor);
    for (email, password) in [
        ("ghost@clinic.example", "s3cret-pass"),
        ("owner@clinic.example", "wrong-pass1"),
    ] {
        let started = std::time::Instant::now();
        let refused = service.login(login(email, password)).await;
        assert!(
            matches!(refused, Err(AccountsError::Unauthorized)),
            "{refused:?}"
        );
        // A lower bound the floor guarantees, whichever way the refusal was reached.
        assert!(
            started.elapsed() >= floor,
            "{email}: {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn finding_7_an_unknown_email_verifies_a_password_as_a_wrong_one_does() {
    let (_dir, service, _clock) = service().await;
    signed_in(&service).await;
    for (email, password, who) in [
        ("ghost@clinic.example", "s3cret-pass", "the unknown email"),
        ("owner@clinic.example", "wrong-pass1", "the wrong password"),
    ] {
        let before = service.verifications();
        let err = service.login(login(email, password)).await;
        assert!(matches!(err, Err(AccountsError::Unauthorized)), "{err:?}");
        assert_eq!(service.verifications(), before + 1, "{who} verified once");
    }
}

#[tokio::test]
async fn finding_3_wrong_current_passwords_lock_the_account_like_failed_logins() {
    let (_dir, service, clock) = service().await;
    let session = signed_in(&service).await;
    let change = |current: &str| PasswordChange {
        current_password: current.to_owned(),
        new_password: "n3w-s3cret-pass".to_owned(),
    };
    for _ in 0..LOCK_AFTER {
        let err = service
            .change_password(session.user, change("wrong-pass1"))
            .await;
        assert!(
            matches!(err, Err(AccountsError::WrongCurrentPassword)),
            "{err:?}"
        );
    }
    let until = clock.now() + LOCK_FOR;
    // Locked: the right password neither changes it nor signs in.
    let err = service
        .change_password(session.user, change("s3cret-pass"))
        .await;
    assert!(
        matches!(err, Err(AccountsError::Locked { until: u }) if u == until),
        "{err:?}"
    );
    let err = service
        .login(login("owner@clinic.example", "s3cret-pass"))
        .await;
    assert!(matches!(err, Err(AccountsError::Locked { .. })), "{err:?}");
    clock.advance(LOCK_FOR);
    service
        .change_password(session.user, change("s3cret-pass"))
        .await
        .expect("the lock lifted");
}

#[tokio::test]
async fn finding_11_sign_in_finds_the_account_under_any_compatibility_form_of_its_email() {
    let (_dir, service, _clock) = service().await;
    signed_in(&service).await;
    for typed in ["ＯＷＮＥＲ@clinic.example", "OWNER@Clinic.Example "] {
        service
            .login(login(typed, "s3cret-pass"))
            .await
            .unwrap_or_else(|err| panic!("{typed:?}: {err:?}"));
    }
    let err = service
        .register(credentials("ｏｗｎｅｒ@clinic.example", "s3cret-pass"))
        .await;
    assert!(matches!(err, Err(AccountsError::EmailTaken)), "{err:?}");
}

#[tokio::test]
async fn finding_10_a_sign_in_over_the_limits_is_refused_before_any_hashing() {
    let (_dir, service, _clock) = service().await;
    signed_in(&service).await;
    let before = service.verifications();
    let long_password = "a1".repeat(50_000);
    let err = service
        .login(login("owner@clinic.example", &long_password))
        .await;
    assert!(matches!(err, Err(AccountsError::Unauthorized)), "{err:?}");
    let long_email = format!("{}@clinic.example", "a".repeat(300));
    let err = service.login(login(&long_email, "s3cret-pass")).await;
    assert!(matches!(err, Err(AccountsError::Unauthorized)), "{err:?}");
    assert_eq!(service.verifications(), before);
}

#[tokio::test]
async fn finding_11_an_account_stored_before_normalization_still_signs_in_as_typed() {
    let (_dir, service, _clock) = service().await;
    signed_in(&service).await;
    // As an account made before NFKC was applied is stored: trimmed and lower-cased only.
    sqlx::query("UPDATE credentials SET email = $1")
        .bind("ｏｗｎｅｒ@clinic.example")
        .execute(&service.pool)
        .await
        .unwrap();
    service
        .login(login("ＯＷＮＥＲ@clinic.example", "s3cret-pass"))
        .await
        .expect("found by its stored form");
}

/// The owner registered and signed in once.
async fn signed_in(service: &AccountService) -> LoggedIn {
    service
        .register(credentials("owner@clinic.example", "s3cret-pass"))
        .await
        .expect("registered");
    service
        .login(login("owner@clinic.example", "s3cret-pass"))
        .await
        .expect("signed in")
}
