//! `/api/v1/auth/*` and `/api/v1/me`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use commands::{CommandContext, CommandError};
use domain::account::{AccountCommand, AccountError, SessionEndReason};
use domain::{Email, Password};
use openapi::{ErrorBody, Success, tags};
use serde::Deserialize;
use serde_json::json;
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{self, CurrentUser, Sessions};
use crate::error::{ApiError, ApiJson, created, ok, timestamp};
use crate::rate_limit::{self, RateLimiter};
use crate::state::AppState;

/// Routes anyone may call (limited per client IP).
pub fn public(limiter: &Arc<RateLimiter>) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .route_layer(middleware::from_fn_with_state(
            limiter.clone(),
            limit_per_ip,
        ))
}

/// Routes for a signed-in user.
pub fn signed_in() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(list_sessions))
        .routes(routes!(end_session))
        .routes(routes!(me))
}

async fn limit_per_ip(
    State(limiter): State<Arc<RateLimiter>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    limiter.check(rate_limit::AUTH_PER_IP, &peer.ip().to_string())?;
    Ok(next.run(request).await)
}

/// An email and a password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "email": "owner@clinic.example", "password": "s3cret-pass" }))]
struct Credentials {
    #[schema(format = Email)]
    email: String,
    /// At least 8 characters with letters and digits.
    #[schema(format = Password)]
    password: String,
}

/// Creates an account.
#[utoipa::path(
    post, path = "/auth/register", tag = tags::AUTH,
    request_body = Credentials,
    responses(
        (status = 201, description = "The account", body = Success<AccountCreated>),
        (status = 400, description = "`INVALID_INPUT` (the email), `WEAK_PASSWORD` (what the password lacks)", body = ErrorBody),
        (status = 409, description = "`CONFLICT`: an account with this email exists", body = ErrorBody),
    ),
)]
#[tracing::instrument(skip_all)]
async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid(format!("email: {e}")))?;
    let password = Password::parse(&body.password)
        .map_err(|e| ApiError::WeakPassword { missing: e.missing })?;
    let hash = auth::hash_password(password.expose().to_owned()).await?;
    let account_id = Uuid::now_v7();
    let now = state.clock.now();
    let pool = state.store.db().pool();
    let inserted = sqlx::query(
        "INSERT INTO credentials (account_id, email, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (email) DO NOTHING",
    )
    .bind(account_id.to_string())
    .bind(email.as_str())
    .bind(hash)
    .bind(timestamp(now))
    .execute(pool)
    .await
    .map_err(ApiError::internal)?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::Conflict(
            "an account with this email already exists".into(),
        ));
    }
    let command = AccountCommand::Register {
        email: email.to_string(),
        at: now,
    };
    let context = CommandContext::new(account_id.to_string());
    if let Err(err) = state
        .accounts
        .execute(&account_id.to_string(), command, &context)
        .await
    {
        // Never leave credentials without the account's history.
        let _ = sqlx::query("DELETE FROM credentials WHERE account_id = $1")
            .bind(account_id.to_string())
            .execute(pool)
            .await;
        return Err(ApiError::internal(err));
    }
    Ok(created(json!({
        "id": account_id,
        "email": email.as_str(),
        "createdAt": timestamp(now),
    }))
    .into_response())
}

/// Signs in: a token for `Authorization: Bearer …`, and the same token as an HttpOnly cookie for
/// browsers. At most three live sessions; a fourth login ends the oldest.
#[utoipa::path(
    post, path = "/auth/login", tag = tags::AUTH,
    request_body = Credentials,
    responses(
        (status = 200, description = "Signed in", body = Success<LoginAnswer>,
            headers(("Set-Cookie" = String, description = "`callbot_session=<token>; HttpOnly; SameSite=Lax; Path=/`"))),
        (status = 401, description = "`UNAUTHORIZED`: wrong email or password", body = ErrorBody),
        (status = 423, description = "`ACCOUNT_LOCKED`: five failures in a row; `details.lockedUntil` says when it lifts", body = ErrorBody),
    ),
)]
#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let email = body.email.trim().to_lowercase();
    let pool = state.store.db().pool();
    let row = sqlx::query("SELECT account_id, password_hash FROM credentials WHERE email = $1")
        .bind(&email)
        .fetch_optional(pool)
        .await
        .map_err(ApiError::internal)?;
    let Some(row) = row else {
        // Same work and same answers as a wrong password.
        auth::verify_password(body.password, auth::DUMMY_HASH.clone()).await;
        return Err(match state.auth.unknown_emails.fail(&email, now) {
            Some(until) => ApiError::AccountLocked { until },
            None => ApiError::Unauthorized,
        });
    };
    let account_id: String = row.try_get("account_id").map_err(ApiError::internal)?;
    let hash: String = row.try_get("password_hash").map_err(ApiError::internal)?;
    let context = CommandContext::new(account_id.clone());
    if !auth::verify_password(body.password, hash).await {
        let command = AccountCommand::RecordLoginFailure {
            at: now,
            lock_after: auth::LOCK_AFTER,
            lock_for: auth::LOCK_FOR,
        };
        return Err(
            match state.accounts.execute(&account_id, command, &context).await {
                Err(CommandError::Rejected(AccountError::Locked { until })) => {
                    ApiError::AccountLocked { until }
                }
                Err(other) => ApiError::internal(other),
                Ok(()) => ApiError::Unauthorized,
            },
        );
    }
    let user = CurrentUser {
        account_id: account_id.parse().map_err(ApiError::internal)?,
        session_id: Uuid::now_v7(),
    };
    let command = AccountCommand::RecordLoginSuccess {
        session_id: user.session_id,
        at: now,
    };
    match state.accounts.execute(&account_id, command, &context).await {
        Ok(()) => {}
        Err(CommandError::Rejected(AccountError::Locked { until })) => {
            return Err(ApiError::AccountLocked { until });
        }
        Err(other) => return Err(ApiError::internal(other)),
    }
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    Sessions::create(pool, user, user_agent, now).await?;
    // At most three live sessions: the oldest ones make room.
    let live = Sessions::live(pool, user.account_id, now).await?;
    for old in live
        .iter()
        .take(live.len().saturating_sub(auth::MAX_SESSIONS))
    {
        end_session_for(
            &state,
            user.account_id,
            old.id,
            SessionEndReason::Evicted,
            "EVICTED",
        )
        .await?;
    }
    let token = auth::issue_token(
        secrecy::ExposeSecret::expose_secret(&state.jwt_secret),
        user,
        now,
    )?;
    let mut response = ok(json!({
        "accessToken": token,
        "tokenType": "Bearer",
        "expiresAt": timestamp(now + auth::SESSION_IDLE),
        "sessionId": user.session_id,
    }))
    .into_response();
    set_cookie(
        &mut response,
        &auth::session_cookie(&token, state.secure_cookies),
    );
    Ok(response)
}

async fn end_session_for(
    state: &AppState,
    account_id: Uuid,
    session_id: Uuid,
    reason: SessionEndReason,
    reason_text: &str,
) -> Result<bool, ApiError> {
    let now = state.clock.now();
    let ended = Sessions::end(state.store.db().pool(), session_id, reason_text, now).await?;
    if ended {
        let command = AccountCommand::EndSession {
            session_id,
            reason,
            at: now,
        };
        let context = CommandContext::new(account_id.to_string());
        state
            .accounts
            .execute(&account_id.to_string(), command, &context)
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(ended)
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Ends this session and clears the cookie.
#[utoipa::path(
    post, path = "/auth/logout", tag = tags::AUTH,
    responses((status = 204, description = "Signed out")),
)]
async fn logout(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, ApiError> {
    end_session_for(
        &state,
        user.account_id,
        user.session_id,
        SessionEndReason::Logout,
        "LOGOUT",
    )
    .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookie(&mut response, &auth::cleared_cookie());
    Ok(response)
}

/// The current password and the new one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({ "currentPassword": "s3cret-pass", "newPassword": "n3w-s3cret-pass" }))]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the password; every session ends, this one too.
#[utoipa::path(
    post, path = "/auth/password", tag = tags::AUTH,
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Changed; sign in again", body = Success<PasswordChanged>),
        (status = 400, description = "`INVALID_INPUT` (the current password is wrong), `WEAK_PASSWORD`", body = ErrorBody),
    ),
)]
#[tracing::instrument(skip_all, fields(account = %user.account_id))]
async fn change_password(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<Response, ApiError> {
    let pool = state.store.db().pool();
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM credentials WHERE account_id = $1")
            .bind(user.account_id.to_string())
            .fetch_one(pool)
            .await
            .map_err(ApiError::internal)?;
    if !auth::verify_password(body.current_password, hash).await {
        return Err(ApiError::invalid("currentPassword: incorrect"));
    }
    let password = Password::parse(&body.new_password)
        .map_err(|e| ApiError::WeakPassword { missing: e.missing })?;
    let new_hash = auth::hash_password(password.expose().to_owned()).await?;
    let now = state.clock.now();
    sqlx::query("UPDATE credentials SET password_hash = $1, updated_at = $2 WHERE account_id = $3")
        .bind(new_hash)
        .bind(timestamp(now))
        .bind(user.account_id.to_string())
        .execute(pool)
        .await
        .map_err(ApiError::internal)?;
    // Every session ends at once, this one included: the next request must log in again.
    let ended = Sessions::end_all(pool, user.account_id, "PASSWORD_CHANGED", now).await?;
    let context = CommandContext::new(user.account_id.to_string());
    state
        .accounts
        .execute(
            &user.account_id.to_string(),
            AccountCommand::ChangePassword { at: now },
            &context,
        )
        .await
        .map_err(ApiError::internal)?;
    let mut response =
        ok(json!({ "passwordChanged": true, "sessionsEnded": ended })).into_response();
    set_cookie(&mut response, &auth::cleared_cookie());
    Ok(response)
}

/// The account's live sessions, oldest first.
#[utoipa::path(
    get, path = "/auth/sessions", tag = tags::AUTH,
    responses((status = 200, description = "Live sessions", body = Success<Vec<SessionInfo>>)),
)]
async fn list_sessions(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let sessions = Sessions::live(state.store.db().pool(), user.account_id, now).await?;
    let items: Vec<_> = sessions
        .iter()
        .map(|session| {
            json!({
                "id": session.id,
                "createdAt": timestamp(session.created_at),
                "lastSeenAt": timestamp(session.last_seen_at),
                "expiresAt": timestamp(session.expires_at()),
                "userAgent": session.user_agent,
                "current": session.id == user.session_id,
            })
        })
        .collect();
    Ok(ok(items).into_response())
}

/// Ends one of the account's sessions.
#[utoipa::path(
    delete, path = "/auth/sessions/{id}", tag = tags::AUTH,
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "`NOT_FOUND`: no live session of this account with this id", body = ErrorBody),
    ),
)]
async fn end_session(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let session = Sessions::find(state.store.db().pool(), id)
        .await?
        .filter(|session| {
            session.account_id == user.account_id && session.is_live(state.clock.now())
        })
        .ok_or(ApiError::NotFound)?;
    end_session_for(
        &state,
        user.account_id,
        session.id,
        SessionEndReason::Revoked,
        "REVOKED",
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The signed-in account.
#[utoipa::path(
    get, path = "/me", tag = tags::AUTH,
    responses((status = 200, description = "The account", body = Success<AccountCreated>)),
)]
async fn me(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> Result<Response, ApiError> {
    let row = sqlx::query("SELECT email, created_at FROM credentials WHERE account_id = $1")
        .bind(user.account_id.to_string())
        .fetch_optional(state.store.db().pool())
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let email: String = row.try_get("email").map_err(ApiError::internal)?;
    let created_at: String = row.try_get("created_at").map_err(ApiError::internal)?;
    Ok(
        ok(json!({ "id": user.account_id, "email": email, "createdAt": created_at }))
            .into_response(),
    )
}

// ----- answers, for the document (the handlers build the same JSON; the contract run checks it) --

/// An account.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct AccountCreated {
    id: Uuid,
    #[schema(format = Email, example = "owner@clinic.example")]
    email: String,
    #[schema(format = DateTime)]
    created_at: String,
}

/// A new session.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct LoginAnswer {
    /// The token for `Authorization: Bearer …`.
    access_token: String,
    #[schema(example = "Bearer")]
    token_type: String,
    /// When the session ends if unused (it slides 24 h on every request).
    #[schema(format = DateTime)]
    expires_at: String,
    session_id: Uuid,
}

/// What a password change did.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct PasswordChanged {
    password_changed: bool,
    /// Sessions ended, this one included.
    sessions_ended: u64,
}

/// A live session.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct SessionInfo {
    id: Uuid,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_seen_at: String,
    #[schema(format = DateTime)]
    expires_at: String,
    user_agent: Option<String>,
    /// The session of this request.
    current: bool,
}
