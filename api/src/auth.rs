//! Authentication at the HTTP edge: HS256 tokens naming a session row, the session cookie, and
//! the middleware that admits a request. The rules (passwords, lockout, sliding sessions, three
//! per account) are `commands::services::accounts`; signing tokens stays here because a token
//! is how HTTP carries a session, and other front doors (web pages) use the same cookie.

use axum::Extension;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use commands::services::accounts::AccountService;
pub use commands::services::accounts::{
    CurrentUser, LOCK_AFTER, LOCK_FOR, MAX_SESSIONS, SESSION_IDLE, hash_password, verify_password,
};
use commands::services::campaigns::CampaignRef;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::rate_limit;
use crate::state::AppState;

/// Name of the browser session cookie.
pub const COOKIE: &str = "callbot_session";
/// Tokens outlive any session; the session row decides.
const TOKEN_LIFETIME: Duration = Duration::days(30);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    iat: i64,
    exp: i64,
}

/// A token could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("signing a session token: {0}")]
pub struct TokenError(#[from] jsonwebtoken::errors::Error);

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        Self::internal(err)
    }
}

/// Signs a token for a session.
pub fn issue_token(
    secret: &str,
    user: CurrentUser,
    now: DateTime<Utc>,
) -> Result<String, TokenError> {
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
    .map_err(TokenError)
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

/// The user of a bearer token whose session is live (and slides it on), else `UNAUTHORIZED`.
pub async fn authenticate(state: &AppState, token: &str) -> Result<CurrentUser, ApiError> {
    let user = read_token(
        secrecy::ExposeSecret::expose_secret(&state.jwt_secret),
        token,
    )?;
    state.account_service().authenticate(user).await?;
    Ok(user)
}

/// Middleware for every signed-in route: a valid token for a live session, then the whole-API
/// rate limit. Puts [`CurrentUser`] into the request.
pub async fn require_user(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = token_of(request.headers()).ok_or(ApiError::Unauthorized)?;
    let user = authenticate(&state, token).await?;
    // Signing out is always possible, however busy the account has been.
    if !request.uri().path().ends_with("/auth/logout") {
        state
            .limiter
            .check(rate_limit::API, &user.account_id.to_string())?;
    }
    request.extensions_mut().insert(user);
    Ok(next.run(request).await)
}

/// Middleware for the JSON API's signed-in routes (after [`require_user`]): a browser sends the
/// session cookie by itself, so a change signed in by the cookie alone must also carry the
/// pages' CSRF token in `x-csrf-token`, else 401. A Bearer token is never sent on its own and
/// needs none; reading needs none.
pub async fn cookie_changes_need_csrf(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let by_cookie = !request.headers().contains_key(header::AUTHORIZATION);
    let changes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if by_cookie && changes {
        let user = request
            .extensions()
            .get::<CurrentUser>()
            .ok_or(ApiError::Unauthorized)?;
        let secret = secrecy::ExposeSecret::expose_secret(&state.jwt_secret);
        let given = request
            .headers()
            .get(crate::csrf::HEADER)
            .and_then(|v| v.to_str().ok());
        if !given.is_some_and(|given| crate::csrf::verify(secret, user, given)) {
            return Err(ApiError::Unauthorized);
        }
    }
    Ok(next.run(request).await)
}

/// Middleware for a route that has its own per-user limit (after authentication).
pub async fn per_user(
    State((limiter, limit)): State<(std::sync::Arc<rate_limit::RateLimiter>, rate_limit::Limit)>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let user = request
        .extensions()
        .get::<CurrentUser>()
        .ok_or(ApiError::Unauthorized)?;
    limiter.check(limit, &user.account_id.to_string())?;
    Ok(next.run(request).await)
}

impl AppState {
    /// The account use cases over this process's database, history and clock.
    pub fn account_service(&self) -> AccountService {
        AccountService::new(
            self.store.clone(),
            self.accounts.clone(),
            self.clock.clone(),
            self.auth.unknown_emails.clone(),
        )
    }
}

/// The state and the signed-in user ([`require_user`] put it on the request): what a handler of
/// the account's own resources starts from, as the pages' `SignedIn` is for the web pages.
pub struct SignedIn(pub AppState, pub CurrentUser);

impl FromRequestParts<AppState> for SignedIn {
    /// The extension's own rejection (a route without [`require_user`] in front of it).
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        Ok(Self(state.clone(), signed_in_user(parts, state).await?))
    }
}

/// The user [`require_user`] put on the request, else the extension's own rejection (plain
/// text, put into the envelope by the API's middleware).
async fn signed_in_user<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<CurrentUser, Response> {
    let Extension(user) = Extension::<CurrentUser>::from_request_parts(parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(user)
}

/// The signed-in user and the one id in the path: what most resource handlers start from.
/// An id that is not a UUID is simply not found by the service it goes to.
pub struct UserPath {
    pub user: CurrentUser,
    pub id: String,
}

impl UserPath {
    /// The user's campaign named in the path.
    pub fn campaign(&self) -> CampaignRef<'_> {
        CampaignRef {
            owner_id: self.user.account_id,
            campaign_id: &self.id,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for UserPath {
    /// The parts' own rejections (plain text, put into the envelope by the API's middleware).
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = signed_in_user(parts, state).await?;
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self { user, id })
    }
}
