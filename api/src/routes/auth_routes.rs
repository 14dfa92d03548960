//! `/api/v1/auth/*` and `/api/v1/me`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use commands::{CommandContext, CommandError};
use domain::account::{AccountCommand, AccountError, SessionEndReason};
use domain::{Email, Password};
use serde::Deserialize;
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{self, CurrentUser, Sessions};
use crate::error::{ApiError, ApiJson, created, ok, timestamp};
use crate::rate_limit;

/// Routes anyone may call (limited per client IP).
pub fn public(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route_layer(middleware::from_fn_with_state(state, limit_per_ip))
}

/// Routes for a signed-in user.
pub fn signed_in() -> Router<AppState> {
    Router::new()
        .route("/auth/logout", post(logout))
        .route("/auth/password", post(change_password))
        .route("/auth/sessions", get(list_sessions))
        .route("/auth/sessions/{id}", delete(end_session))
        .route("/me", get(me))
}

async fn limit_per_ip(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    state
        .limiter
        .check(rate_limit::AUTH_PER_IP, &peer.ip().to_string())?;
    Ok(next.run(request).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: String,
}

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
    let token = auth::issue_token(state.jwt_secret.expose(), user, now)?;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

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
