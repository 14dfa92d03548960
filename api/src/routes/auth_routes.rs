//! `/api/v1/auth/*` and `/api/v1/me`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use commands::services::accounts::{
    self, AccountCreated, Credentials, Login, PasswordChanged, SessionInfo,
};
use openapi::{ErrorBody, Success, tags};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{self, SignedIn, UserPath};
use crate::client_ip::TrustedProxies;
use crate::error::{ApiError, ApiJson, Envelope, created, ok, timestamp};
use crate::rate_limit::{self, RateLimiter};
use crate::state::AppState;

/// Routes anyone may call (limited per client address; see [`TrustedProxies`]).
pub fn public(
    limiter: &Arc<RateLimiter>,
    proxies: &Arc<TrustedProxies>,
) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .route_layer(middleware::from_fn_with_state(
            (limiter.clone(), proxies.clone()),
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
    State((limiter, proxies)): State<(Arc<RateLimiter>, Arc<TrustedProxies>)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let client = proxies.client_ip(peer.ip(), request.headers());
    limiter.check(rate_limit::AUTH_PER_IP, &client.to_string())?;
    Ok(next.run(request).await)
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
) -> Result<Envelope<AccountCreated>, ApiError> {
    Ok(created(state.account_service().register(body).await?))
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
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let session = state
        .account_service()
        .login(Login {
            credentials: body,
            user_agent,
        })
        .await?;
    let token = auth::issue_token(
        secrecy::ExposeSecret::expose_secret(&state.jwt_secret),
        session.user,
        session.at,
    )?;
    let answer = LoginAnswer {
        access_token: token,
        token_type: "Bearer".to_owned(),
        expires_at: timestamp(session.expires_at),
        session_id: session.user.session_id,
    };
    let cookie = auth::session_cookie(&answer.access_token, state.secure_cookies);
    let mut response = ok(answer).into_response();
    set_cookie(&mut response, &cookie);
    Ok(response)
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
async fn logout(SignedIn(state, user): SignedIn) -> Result<Response, ApiError> {
    state.account_service().logout(user).await?;
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
        (status = 400, description = "`INVALID_INPUT` (the current password is wrong; it counts toward the sign-in lockout), `WEAK_PASSWORD`", body = ErrorBody),
        (status = 423, description = "`ACCOUNT_LOCKED`: five wrong passwords in a row (sign-ins and changes alike); `details.lockedUntil` says when it lifts", body = ErrorBody),
    ),
)]
#[tracing::instrument(skip_all, fields(account = %user.account_id))]
async fn change_password(
    SignedIn(state, user): SignedIn,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<Response, ApiError> {
    let change = accounts::PasswordChange {
        current_password: body.current_password,
        new_password: body.new_password,
    };
    let changed = state
        .account_service()
        .change_password(user, change)
        .await?;
    let mut response = ok(changed).into_response();
    set_cookie(&mut response, &auth::cleared_cookie());
    Ok(response)
}

/// The account's live sessions, oldest first.
#[utoipa::path(
    get, path = "/auth/sessions", tag = tags::AUTH,
    responses((status = 200, description = "Live sessions", body = Success<Vec<SessionInfo>>)),
)]
async fn list_sessions(
    SignedIn(state, user): SignedIn,
) -> Result<Envelope<Vec<SessionInfo>>, ApiError> {
    Ok(ok(state.account_service().sessions(user).await?))
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
    UserPath { user, id }: UserPath,
) -> Result<StatusCode, ApiError> {
    state.account_service().end_session(user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account.
#[utoipa::path(
    get, path = "/me", tag = tags::AUTH,
    responses((status = 200, description = "The account", body = Success<AccountCreated>)),
)]
async fn me(SignedIn(state, user): SignedIn) -> Result<Envelope<AccountCreated>, ApiError> {
    Ok(ok(state.account_service().me(user).await?))
}

/// A new session.
#[derive(Serialize, ToSchema)]
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
