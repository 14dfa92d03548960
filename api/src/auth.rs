//! Authentication: Argon2id password hashes, HS256 session tokens bound to a session row, the
//! session rules (24 h sliding, three per account) and the middleware that admits a request.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use commands::store::{parse_timestamp, timestamp};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};
use uuid::Uuid;

use crate::error::ApiError;
use crate::rate_limit;
use crate::state::AppState;

/// Name of the browser session cookie.
pub const COOKIE: &str = "callbot_session";
/// A session ends this long after its last request.
pub const SESSION_IDLE: Duration = Duration::hours(24);
/// Live sessions an account may have; a newer login ends the oldest.
pub const MAX_SESSIONS: usize = 3;
/// Consecutive failures that lock an account, and for how long.
pub const LOCK_AFTER: u32 = 5;
pub const LOCK_FOR: Duration = Duration::minutes(15);
/// A session's last-seen time is written at most this often (not on every request).
const TOUCH_EVERY: Duration = Duration::seconds(60);
/// Tokens outlive any session; the session row decides.
const TOKEN_LIFETIME: Duration = Duration::days(30);

/// OWASP's Argon2id recommendation: 19 MiB, two passes, one lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password off the async threads.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        argon2()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Checks a password against a stored hash off the async threads.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        argon2()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// A hash to verify against when the email is unknown, so both cases take as long.
pub static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    argon2()
        .hash_password(b"no such account 0")
        .expect("hashing a constant")
        .to_string()
});

/// The signed-in user of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser {
    pub account_id: Uuid,
    pub session_id: Uuid,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    iat: i64,
    exp: i64,
}

/// Signs a token for a session.
pub fn issue_token(
    secret: &str,
    user: CurrentUser,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let claims = Claims {
        sub: user.account_id.to_string(),
        sid: user.session_id.to_string(),
        iat: now.timestamp(),
        exp: (now + TOKEN_LIFETIME).timestamp(),
    };
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(ApiError::internal)
}

/// Reads a token: HS256 only, signature and expiry checked; anything else is unauthorized.
fn read_token(secret: &str, token: &str) -> Result<CurrentUser, ApiError> {
    let validation = Validation::new(jsonwebtoken::Algorithm::HS256);
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map_err(|_| ApiError::Unauthorized)?;
    Ok(CurrentUser {
        account_id: data
            .claims
            .sub
            .parse()
            .map_err(|_| ApiError::Unauthorized)?,
        session_id: data
            .claims
            .sid
            .parse()
            .map_err(|_| ApiError::Unauthorized)?,
    })
}

/// The token of a request: the Bearer header, else the session cookie.
fn token_of(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return value.strip_prefix("Bearer ").map(str::trim);
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .find_map(|cookie| cookie.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// The `Set-Cookie` value carrying a session to a browser.
pub fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
        SESSION_IDLE.num_seconds()
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn cleared_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
}

/// Middleware for every signed-in route: a valid token for a live session, then the whole-API
/// rate limit. Puts [`CurrentUser`] into the request.
pub async fn require_user(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = token_of(request.headers()).ok_or(ApiError::Unauthorized)?;
    let user = read_token(
        secrecy::ExposeSecret::expose_secret(&state.jwt_secret),
        token,
    )?;
    let now = state.clock.now();
    let session = Sessions::find(state.store.db().pool(), user.session_id)
        .await?
        .filter(|session| session.account_id == user.account_id && session.is_live(now))
        .ok_or(ApiError::Unauthorized)?;
    if now - session.last_seen_at >= TOUCH_EVERY {
        Sessions::touch(state.store.db().pool(), user.session_id, now).await?;
    }
    state
        .limiter
        .check(rate_limit::API, &user.account_id.to_string())?;
    request.extensions_mut().insert(user);
    Ok(next.run(request).await)
}

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
pub struct Sessions;

impl Sessions {
    /// One session by id.
    pub async fn find(pool: &AnyPool, id: Uuid) -> Result<Option<Session>, ApiError> {
        let row = sqlx::query(
            "SELECT id, account_id, created_at, last_seen_at, ended_at, user_agent \
             FROM sessions WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(ApiError::internal)?;
        row.map(|row| session(&row)).transpose()
    }

    /// An account's live sessions, oldest first.
    pub async fn live(
        pool: &AnyPool,
        account_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, ApiError> {
        let rows = sqlx::query(
            "SELECT id, account_id, created_at, last_seen_at, ended_at, user_agent \
             FROM sessions WHERE account_id = $1 AND ended_at IS NULL ORDER BY created_at, id",
        )
        .bind(account_id.to_string())
        .fetch_all(pool)
        .await
        .map_err(ApiError::internal)?;
        let sessions: Result<Vec<Session>, ApiError> = rows.iter().map(session).collect();
        Ok(sessions?.into_iter().filter(|s| s.is_live(now)).collect())
    }

    /// Records a new session.
    pub async fn create(
        pool: &AnyPool,
        user: CurrentUser,
        user_agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "INSERT INTO sessions (id, account_id, created_at, last_seen_at, user_agent) \
             VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(user.session_id.to_string())
        .bind(user.account_id.to_string())
        .bind(timestamp(now))
        .bind(user_agent.map(|agent| agent.chars().take(200).collect::<String>()))
        .execute(pool)
        .await
        .map_err(ApiError::internal)?;
        Ok(())
    }

    /// Marks activity.
    pub async fn touch(pool: &AnyPool, id: Uuid, now: DateTime<Utc>) -> Result<(), ApiError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(timestamp(now))
            .bind(id.to_string())
            .execute(pool)
            .await
            .map_err(ApiError::internal)?;
        Ok(())
    }

    /// Ends one session; false if it was not open.
    pub async fn end(
        pool: &AnyPool,
        id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let result = sqlx::query(
            "UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL",
        )
        .bind(timestamp(now))
        .bind(reason)
        .bind(id.to_string())
        .execute(pool)
        .await
        .map_err(ApiError::internal)?;
        Ok(result.rows_affected() > 0)
    }

    /// Ends every open session of an account; returns how many.
    pub async fn end_all(
        pool: &AnyPool,
        account_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, ApiError> {
        let result = sqlx::query(
            "UPDATE sessions SET ended_at = $1, end_reason = $2 \
             WHERE account_id = $3 AND ended_at IS NULL",
        )
        .bind(timestamp(now))
        .bind(reason)
        .bind(account_id.to_string())
        .execute(pool)
        .await
        .map_err(ApiError::internal)?;
        Ok(result.rows_affected())
    }
}

fn session(row: &sqlx::any::AnyRow) -> Result<Session, ApiError> {
    let text =
        |name: &str| -> Result<String, ApiError> { row.try_get(name).map_err(ApiError::internal) };
    let time = |name: &str| -> Result<DateTime<Utc>, ApiError> {
        parse_timestamp(&text(name)?).ok_or_else(|| ApiError::internal(format!("bad {name}")))
    };
    let ended_at: Option<String> = row.try_get("ended_at").map_err(ApiError::internal)?;
    Ok(Session {
        id: text("id")?.parse().map_err(ApiError::internal)?,
        account_id: text("account_id")?.parse().map_err(ApiError::internal)?,
        created_at: time("created_at")?,
        last_seen_at: time("last_seen_at")?,
        ended: ended_at.is_some(),
        user_agent: row.try_get("user_agent").map_err(ApiError::internal)?,
    })
}

/// Lockout bookkeeping for emails that have no account, so that a locked-out answer does not
/// reveal which emails are registered.
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

/// Shared pieces the auth routes need.
pub struct AuthState {
    pub unknown_emails: UnknownEmailLockouts,
}

impl AuthState {
    /// Fresh state.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            unknown_emails: UnknownEmailLockouts::default(),
        })
    }
}
