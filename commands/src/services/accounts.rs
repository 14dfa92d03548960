//! Accounts and sign-in: register, log in (Argon2id, lockout after five failures for fifteen
//! minutes, the same work for unknown emails), sessions (24 h sliding, at most three per
//! account), log out, change the password, and the account itself.
//!
//! A wrong current password on a password change is a failed sign-in like any other: it counts
//! toward the same lockout, and a locked account cannot change its password either (else a
//! stolen session could guess the password without limit).
//!
//! The rules live here; the HTTP edge only carries tokens and cookies. A session is a row of
//! `sessions` (the token only names it), so ending a row ends the token at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use domain::account::{Account, AccountCommand, AccountError, SessionEndReason};
use domain::credentials::{EmailError, WeakPassword};
use domain::{Email, Password};
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::store::{parse_timestamp, timestamp};
use crate::{Clock, CommandContext, CommandError, Commands, EventStore, StoreError};

/// A session ends this long after its last request.
pub const SESSION_IDLE: Duration = Duration::hours(24);
/// Live sessions an account may have; a newer login ends the oldest.
pub const MAX_SESSIONS: usize = 3;
/// Consecutive failures that lock an account.
pub const LOCK_AFTER: u32 = 5;
/// How long a lock lasts.
pub const LOCK_FOR: Duration = Duration::minutes(15);
/// A session's last-seen time is written at most this often (not on every request).
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// Why an account use case was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("email: {0}")]
    InvalidEmail(#[from] EmailError),
    #[error(transparent)]
    WeakPassword(#[from] WeakPassword),
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Wrong email or password, or a token whose session is over: the same answer for all.
    #[error("authentication required")]
    Unauthorized,
    #[error("account locked until {until}")]
    Locked { until: DateTime<Utc> },
    #[error("currentPassword: incorrect")]
    WrongCurrentPassword,
    /// No live session of this account with that id, or no such account.
    #[error("not found")]
    NotFound,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("account history: {0}")]
    Command(#[from] CommandError<AccountError>),
    #[error("account history: {0}")]
    Store(#[from] StoreError),
    #[error("password hashing: {0}")]
    Hashing(String),
    #[error("unreadable session row: {0}")]
    CorruptRow(String),
}

/// The signed-in account and session of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser {
    pub account_id: Uuid,
    pub session_id: Uuid,
}

/// An email and a password.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(
    feature = "utoipa",
    schema(example = json!({ "email": "owner@clinic.example", "password": "s3cret-pass" }))
)]
pub struct Credentials {
    #[cfg_attr(feature = "utoipa", schema(format = Email))]
    pub email: String,
    /// At least 8 characters with letters and digits.
    #[cfg_attr(feature = "utoipa", schema(format = Password))]
    pub password: String,
}

/// A login attempt.
#[derive(Debug, Clone)]
pub struct Login {
    pub credentials: Credentials,
    /// The browser or client, kept (200 characters) to tell sessions apart.
    pub user_agent: Option<String>,
}

/// A new session; the edge turns it into a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedIn {
    pub user: CurrentUser,
    pub at: DateTime<Utc>,
    /// When the session ends if unused.
    pub expires_at: DateTime<Utc>,
}

/// The current password and the new one.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// An account.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccountCreated {
    pub id: Uuid,
    #[cfg_attr(feature = "utoipa", schema(format = Email, example = "owner@clinic.example"))]
    pub email: String,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub created_at: String,
}

/// What a password change did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PasswordChanged {
    pub password_changed: bool,
    /// Sessions ended, this one included.
    pub sessions_ended: u64,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub id: Uuid,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub last_seen_at: String,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub expires_at: String,
    pub user_agent: Option<String>,
    /// The session of this request.
    pub current: bool,
}

/// API times: RFC 3339 UTC with milliseconds.
fn api_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The account use cases.
#[derive(Clone)]
pub struct AccountService {
    pool: AnyPool,
    store: EventStore,
    accounts: Arc<Commands<Account>>,
    clock: Arc<dyn Clock>,
    unknown_emails: Arc<UnknownEmailLockouts>,
    /// Password verifications done by this service and its clones (every sign-in attempt
    /// does exactly one, whether the email exists or not).
    verifications: Arc<AtomicU64>,
    /// A refused sign-in answers no sooner than this after it began (see [`REFUSAL_FLOOR`]).
    refusal_floor: std::time::Duration,
}

/// The least time a refused sign-in takes. An unknown email and a wrong password do the same
/// hashing, but a wrong password also records the failure in the account's history, which made
/// it measurably slower (≈ 1–3 ms); every refusal is held until this floor — far above both
/// paths — so the answer's timing says nothing about whether the email exists.
pub const REFUSAL_FLOOR: std::time::Duration = std::time::Duration::from_millis(250);

impl AccountService {
    /// The service over this store (its database holds the credentials), account history and
    /// clock; `unknown_emails` is shared by every request of the process.
    pub fn new(
        store: EventStore,
        accounts: Arc<Commands<Account>>,
        clock: Arc<dyn Clock>,
        unknown_emails: Arc<UnknownEmailLockouts>,
    ) -> Self {
        Self {
            pool: store.db().pool().clone(),
            store,
            accounts,
            clock,
            unknown_emails,
            verifications: Arc::default(),
            refusal_floor: REFUSAL_FLOOR,
        }
    }

    /// The same service holding refused sign-ins until `floor` instead (tests).
    pub fn with_refusal_floor(mut self, floor: std::time::Duration) -> Self {
        self.refusal_floor = floor;
        self
    }

    /// How many passwords this service (and its clones) has verified.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Checks a password against a stored hash (or the dummy one), counted.
    async fn verify(&self, password: String, hash: String) -> bool {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        verify_password(password, hash).await
    }

    /// Creates an account: credentials row, then the account's history.
    #[tracing::instrument(skip_all)]
    pub async fn register(&self, input: Credentials) -> Result<AccountCreated, AccountsError> {
        let email = Email::parse(&input.email)?;
        let password = Password::parse(&input.password)?;
        let hash = hash_password(password.expose().to_owned()).await?;
        let account_id = Uuid::now_v7();
        let now = self.clock.now();
        let inserted = sqlx::query(
            "INSERT INTO credentials (account_id, email, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (email) DO NOTHING",
        )
        .bind(account_id.to_string())
        .bind(email.as_str())
        .bind(hash)
        .bind(api_time(now))
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(AccountsError::EmailTaken);
        }
        let command = AccountCommand::Register {
            email: email.to_string(),
            at: now,
        };
        if let Err(err) = self.execute(account_id, command).await {
            // Never leave credentials without the account's history.
            if let Err(cleanup) = sqlx::query("DELETE FROM credentials WHERE account_id = $1")
                .bind(account_id.to_string())
                .execute(&self.pool)
                .await
            {
                tracing::error!(%account_id, error = %cleanup, "credentials left without history");
            }
            return Err(err);
        }
        Ok(AccountCreated {
            id: account_id,
            email: email.as_str().to_owned(),
            created_at: api_time(now),
        })
    }

    /// Signs in: a new session, the oldest ones ended beyond three. A refusal (wrong
    /// credentials, or locked) answers no sooner than the refusal floor.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, input: Login) -> Result<LoggedIn, AccountsError> {
        let started = tokio::time::Instant::now();
        let result = self.try_login(input).await;
        if matches!(
            result,
            Err(AccountsError::Unauthorized | AccountsError::Locked { .. })
        ) {
            tokio::time::sleep_until(started + self.refusal_floor).await;
        }
        result
    }

    async fn try_login(&self, input: Login) -> Result<LoggedIn, AccountsError> {
        let now = self.clock.now();
        let password = input.credentials.password;
        // No password over the limit was ever accepted, so none can match: refused before any
        // lookup, so this answer says nothing about the email (and costs no hashing).
        if domain::limits::PASSWORD.check_text(&password).is_err()
            || domain::limits::EMAIL
                .check_text(&input.credentials.email)
                .is_err()
        {
            return Err(AccountsError::Unauthorized);
        }
        let email = Email::normalize(&input.credentials.email);
        // Accounts made before emails were NFKC-normalized are stored trimmed and lower-cased
        // only: found by that form too, the normalized one first.
        let legacy = input.credentials.email.trim().to_lowercase();
        let row = sqlx::query(
            "SELECT account_id, password_hash FROM credentials WHERE email = $1 OR email = $2 \
             ORDER BY CASE WHEN email = $1 THEN 0 ELSE 1 END LIMIT 1",
        )
        .bind(&email)
        .bind(&legacy)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            // Same work and same answers as a wrong password.
            self.verify(password, DUMMY_HASH.to_owned()).await;
            return Err(match self.unknown_emails.fail(&email, now) {
                Some(until) => AccountsError::Locked { until },
                None => AccountsError::Unauthorized,
            });
        };
        let account_id: String = row.try_get("account_id")?;
        let hash: String = row.try_get("password_hash")?;
        let account_id: Uuid = account_id
            .parse()
            .map_err(|e| AccountsError::CorruptRow(format!("account_id: {e}")))?;
        if !self.verify(password, hash).await {
            return Err(self
                .record_failure(account_id, now, AccountsError::Unauthorized)
                .await);
        }
        let user = CurrentUser {
            account_id,
            session_id: Uuid::now_v7(),
        };
        let command = AccountCommand::RecordLoginSuccess {
            session_id: user.session_id,
            at: now,
        };
        self.execute(account_id, command).await?;
        Sessions::create(&self.pool, user, input.user_agent.as_deref(), now).await?;
        // At most three live sessions: the oldest ones make room.
        let live = Sessions::live(&self.pool, account_id, now).await?;
        for old in live.iter().take(live.len().saturating_sub(MAX_SESSIONS)) {
            self.end(account_id, old.id, SessionEndReason::Evicted, "EVICTED")
                .await?;
        }
        Ok(LoggedIn {
            user,
            at: now,
            expires_at: now + SESSION_IDLE,
        })
    }

    /// Admits a request whose token names `claimed`: the session must be this account's and
    /// live. Slides the session (written at most once a minute).
    pub async fn authenticate(&self, claimed: CurrentUser) -> Result<(), AccountsError> {
        let now = self.clock.now();
        let session = Sessions::find(&self.pool, claimed.session_id)
            .await?
            .filter(|session| session.account_id == claimed.account_id && session.is_live(now))
            .ok_or(AccountsError::Unauthorized)?;
        if now - session.last_seen_at >= TOUCH_EVERY {
            Sessions::touch(&self.pool, claimed.session_id, now).await?;
        }
        Ok(())
    }

    /// Ends the request's session.
    pub async fn logout(&self, user: CurrentUser) -> Result<(), AccountsError> {
        self.end(
            user.account_id,
            user.session_id,
            SessionEndReason::Logout,
            "LOGOUT",
        )
        .await?;
        Ok(())
    }

    /// Changes the password; every session ends, the caller's too.
    #[tracing::instrument(skip_all, fields(account = %user.account_id))]
    pub async fn change_password(
        &self,
        user: CurrentUser,
        input: PasswordChange,
    ) -> Result<PasswordChanged, AccountsError> {
        let now = self.clock.now();
        // A locked account answers as login does, whatever password is given.
        if let Some(account) =
            crate::cqrs::load::<Account>(&self.store, &user.account_id.to_string()).await?
            && let Some(until) = account.locked_at(now)
        {
            return Err(AccountsError::Locked { until });
        }
        let hash: String =
            sqlx::query_scalar("SELECT password_hash FROM credentials WHERE account_id = $1")
                .bind(user.account_id.to_string())
                .fetch_one(&self.pool)
                .await?;
        if !self.verify(input.current_password, hash).await {
            return Err(self
                .record_failure(user.account_id, now, AccountsError::WrongCurrentPassword)
                .await);
        }
        let password = Password::parse(&input.new_password)?;
        let new_hash = hash_password(password.expose().to_owned()).await?;
        sqlx::query(
            "UPDATE credentials SET password_hash = $1, updated_at = $2 WHERE account_id = $3",
        )
        .bind(new_hash)
        .bind(api_time(now))
        .bind(user.account_id.to_string())
        .execute(&self.pool)
        .await?;
        // Every session ends at once, this one included: the next request must log in again.
        let every = OpenSessions::OfAccount(user.account_id);
        let ended = Sessions::end(&self.pool, every, "PASSWORD_CHANGED", now).await?;
        self.execute(user.account_id, AccountCommand::ChangePassword { at: now })
            .await?;
        Ok(PasswordChanged {
            password_changed: true,
            sessions_ended: ended,
        })
    }

    /// The account's live sessions, oldest first.
    pub async fn sessions(&self, user: CurrentUser) -> Result<Vec<SessionInfo>, AccountsError> {
        let now = self.clock.now();
        let sessions = Sessions::live(&self.pool, user.account_id, now).await?;
        Ok(sessions
            .iter()
            .map(|session| SessionInfo {
                id: session.id,
                created_at: api_time(session.created_at),
                last_seen_at: api_time(session.last_seen_at),
                expires_at: api_time(session.expires_at()),
                user_agent: session.user_agent.clone(),
                current: session.id == user.session_id,
            })
            .collect())
    }

    /// Ends one of the account's live sessions (`id` as typed in the path).
    pub async fn end_session(&self, user: CurrentUser, id: &str) -> Result<(), AccountsError> {
        let id: Uuid = id.parse().map_err(|_| AccountsError::NotFound)?;
        let now = self.clock.now();
        let session = Sessions::find(&self.pool, id)
            .await?
            .filter(|session| session.account_id == user.account_id && session.is_live(now))
            .ok_or(AccountsError::NotFound)?;
        self.end(
            user.account_id,
            session.id,
            SessionEndReason::Revoked,
            "REVOKED",
        )
        .await?;
        Ok(())
    }

    /// The signed-in account.
    pub async fn me(&self, user: CurrentUser) -> Result<AccountCreated, AccountsError> {
        let row = sqlx::query("SELECT email, created_at FROM credentials WHERE account_id = $1")
            .bind(user.account_id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(AccountsError::NotFound)?;
        Ok(AccountCreated {
            id: user.account_id,
            email: row.try_get("email")?,
            created_at: row.try_get("created_at")?,
        })
    }

    /// Ends a session row and records it in the account's history; false if it was not open.
    async fn end(
        &self,
        account_id: Uuid,
        session_id: Uuid,
        reason: SessionEndReason,
        reason_text: &str,
    ) -> Result<bool, AccountsError> {
        let now = self.clock.now();
        let one = OpenSessions::One(session_id);
        let ended = Sessions::end(&self.pool, one, reason_text, now).await? > 0;
        if ended {
            let command = AccountCommand::EndSession {
                session_id,
                reason,
                at: now,
            };
            self.execute(account_id, command).await?;
        }
        Ok(ended)
    }

    /// Counts a wrong password toward the lockout; answers `wrong` unless the account is (or
    /// just became) locked, or the count could not be written.
    async fn record_failure(
        &self,
        account_id: Uuid,
        at: DateTime<Utc>,
        wrong: AccountsError,
    ) -> AccountsError {
        let command = AccountCommand::RecordLoginFailure {
            at,
            lock_after: LOCK_AFTER,
            lock_for: LOCK_FOR,
        };
        match self.execute(account_id, command).await {
            Ok(()) => wrong,
            Err(err) => err,
        }
    }

    /// Runs a command on the account; a lock the aggregate reports becomes [`AccountsError::Locked`].
    async fn execute(
        &self,
        account_id: Uuid,
        command: AccountCommand,
    ) -> Result<(), AccountsError> {
        let id = account_id.to_string();
        let context = CommandContext::new(id.clone());
        match self.accounts.execute(&id, command, &context).await {
            Ok(()) => Ok(()),
            Err(CommandError::Rejected(AccountError::Locked { until })) => {
                Err(AccountsError::Locked { until })
            }
            Err(other) => Err(other.into()),
        }
    }
}

// ----- passwords ----------------------------------------------------------------------------

/// OWASP's Argon2id recommendation: 19 MiB, two passes, one lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// How many passwords are hashed or checked at once, process-wide: one per core. Each takes
/// 19 MiB and a core for its whole run, so more at once would finish no sooner and only hold
/// more memory (a burst of sign-ins on the blocking pool's many threads once held 40 × 19 MiB,
/// which the allocator then kept). The others wait their turn in order.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
});

/// Runs one Argon2 computation off the async threads, after waiting for a [`HASHING`] place.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AccountsError> {
    // The semaphore is never closed, so acquiring only waits.
    let _place = HASHING
        .acquire()
        .await
        .map_err(|e| AccountsError::Hashing(e.to_string()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AccountsError::Hashing(e.to_string()))
}

/// Hashes a password off the async threads.
pub async fn hash_password(password: String) -> Result<String, AccountsError> {
    hashing(move || {
        argon2()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| AccountsError::Hashing(e.to_string()))
    })
    .await?
}

/// Checks a password against a stored hash off the async threads.
pub async fn verify_password(password: String, hash: String) -> bool {
    hashing(move || {
        argon2()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// A hash to verify against when the email is unknown, so both cases take as long: fixed
/// (no first-use hashing to give the first unknown email away) and made with [`argon2`]'s very
/// parameters (a test holds them equal; regenerate it when they change).
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bm8tc3VjaC1hY2NvdW50$TXLA7pnc3E6vEB/S6SQlAvc4Mp45PG39MNZO0JYQ8As";

// ----- sessions -----------------------------------------------------------------------------

/// A row of `sessions`.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: Uuid,
    pub account_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ended: bool,
    pub user_agent: Option<String>,
}

impl Session {
    /// Not ended and used within the idle limit.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        !self.ended && now - self.last_seen_at < SESSION_IDLE
    }

    /// When it expires if unused from now on.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.last_seen_at + SESSION_IDLE
    }
}

/// Queries on the sessions table.
struct Sessions;

/// Which open sessions to end.
enum OpenSessions {
    /// One session, by id.
    One(Uuid),
    /// Every session of an account.
    OfAccount(Uuid),
}

impl Sessions {
    async fn find(pool: &AnyPool, id: Uuid) -> Result<Option<Session>, AccountsError> {
        let row = sqlx::query(
            "SELECT id, account_id, created_at, last_seen_at, ended_at, user_agent \
             FROM sessions WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
        row.map(|row| session(&row)).transpose()
    }

    /// An account's live sessions, oldest first.
    async fn live(
        pool: &AnyPool,
        account_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, AccountsError> {
        let rows = sqlx::query(
            "SELECT id, account_id, created_at, last_seen_at, ended_at, user_agent \
             FROM sessions WHERE account_id = $1 AND ended_at IS NULL ORDER BY created_at, id",
        )
        .bind(account_id.to_string())
        .fetch_all(pool)
        .await?;
        let sessions = rows.iter().map(session).collect::<Result<Vec<_>, _>>()?;
        Ok(sessions.into_iter().filter(|s| s.is_live(now)).collect())
    }

    async fn create(
        pool: &AnyPool,
        user: CurrentUser,
        user_agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), AccountsError> {
        sqlx::query(
            "INSERT INTO sessions (id, account_id, created_at, last_seen_at, user_agent) \
             VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(user.session_id.to_string())
        .bind(user.account_id.to_string())
        .bind(timestamp(now))
        .bind(user_agent.map(|agent| agent.chars().take(200).collect::<String>()))
        .execute(pool)
        .await?;
        Ok(())
    }

    async fn touch(pool: &AnyPool, id: Uuid, now: DateTime<Utc>) -> Result<(), AccountsError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(timestamp(now))
            .bind(id.to_string())
            .execute(pool)
            .await?;
        Ok(())
    }

    /// Ends the open sessions `which` names; returns how many.
    async fn end(
        pool: &AnyPool,
        which: OpenSessions,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, AccountsError> {
        // The column is one of two fixed names, never input.
        let (column, id) = match which {
            OpenSessions::One(id) => ("id", id),
            OpenSessions::OfAccount(account_id) => ("account_id", account_id),
        };
        let sql = format!(
            "UPDATE sessions SET ended_at = $1, end_reason = $2 \
             WHERE {column} = $3 AND ended_at IS NULL"
        );
        let result = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(timestamp(now))
            .bind(reason)
            .bind(id.to_string())
            .execute(pool)
            .await?;
        Ok(result.rows_affected())
    }
}

fn session(row: &sqlx::any::AnyRow) -> Result<Session, AccountsError> {
    let text = |name: &str| -> Result<String, AccountsError> { Ok(row.try_get(name)?) };
    let uuid = |name: &str| -> Result<Uuid, AccountsError> {
        text(name)?
            .parse()
            .map_err(|e| AccountsError::CorruptRow(format!("{name}: {e}")))
    };
    let time = |name: &str| -> Result<DateTime<Utc>, AccountsError> {
        parse_timestamp(&text(name)?)
            .ok_or_else(|| AccountsError::CorruptRow(format!("bad {name}")))
    };
    let ended_at: Option<String> = row.try_get("ended_at")?;
    Ok(Session {
        id: uuid("id")?,
        account_id: uuid("account_id")?,
        created_at: time("created_at")?,
        last_seen_at: time("last_seen_at")?,
        ended: ended_at.is_some(),
        user_agent: row.try_get("user_agent")?,
    })
}

// ----- lockouts of unknown emails -----------------------------------------------------------

/// Lockout bookkeeping for emails that have no account, so that a locked-out answer does not
/// reveal which emails are registered. Kept in memory: a restart forgets it, which only makes
/// the disguise briefly imperfect.
#[derive(Default)]
pub struct UnknownEmailLockouts(Mutex<HashMap<String, FailureCount>>);

/// Consecutive failures, and the lock they led to.
type FailureCount = (u32, Option<DateTime<Utc>>);

impl UnknownEmailLockouts {
    /// Counts a failure; returns the lock's end when this email is (now) locked.
    pub fn fail(&self, email: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut entries = self.0.lock().expect("lockout lock");
        if entries.len() > 10_000 {
            entries.retain(|_, (_, until)| until.is_some_and(|until| until > now));
        }
        let (failures, until) = entries.entry(email.to_owned()).or_default();
        if let Some(locked_until) = *until {
            if locked_until > now {
                return Some(locked_until);
            }
            *until = None;
        }
        *failures += 1;
        if *failures >= LOCK_AFTER {
            *failures = 0;
            *until = Some(now + LOCK_FOR);
        }
        None
    }
}

#[cfg(test)]
#[path = "accounts_tests.rs"]
pub(crate) mod tests;
