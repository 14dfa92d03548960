//! The HTTP surface, and its OpenAPI document.
//!
//! Each resource module exposes a `utoipa_axum` `OpenApiRouter` whose handlers carry
//! `#[utoipa::path]`; [`documented`] assembles them into the `openapi` crate's frame, so the
//! router and the document come from the same list and cannot drift apart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use commands::SystemClock;
use commands::metrics::names;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth;
use crate::client_ip::{self, TrustedProxies};
use crate::error::{self, ApiError};
use crate::rate_limit::RateLimiter;
use crate::state::AppState;

mod auth_routes;
pub mod campaigns;
pub mod downloads;
mod events;
mod ops;
pub mod recordings;
pub mod reports;
pub mod scripts;
mod settings;
mod status;
mod status_doc;
pub mod twilio;
mod twilio_doc;
mod usage;
mod webhooks;

/// Request bodies larger than this are refused with 413 (CSV import raises it for itself).
pub const BODY_LIMIT: usize = domain::limits::JSON_BODY.max;

/// Every route of the server, with the document at `/openapi.json` and Swagger UI at `/docs`
/// (its assets are compiled in, so it works offline).
pub fn router(state: AppState) -> Router {
    let require_user = middleware::from_fn_with_state(state.clone(), auth::require_user);
    let csrf = middleware::from_fn_with_state(state.clone(), auth::cookie_changes_need_csrf);
    let (routes, document) = documented(&state.limiter, &state.auth.trusted_proxies, |signed_in| {
        // Layers run outside in: the user first, then the cookie's CSRF rule.
        signed_in.route_layer(csrf).route_layer(require_user)
    })
    .split_for_parts();
    Router::new()
        .merge(routes)
        .merge(
            SwaggerUi::new("/docs")
                .url("/openapi.json", document)
                // No badge from the online validator: the page needs nothing but this server.
                .config(utoipa_swagger_ui::Config::default().validator_url("none")),
        )
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed.into_response() })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), guard_metrics))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(measure_requests))
        // A request that has no answer (headers) within this is cut off with 408; streams
        // (SSE, downloads) are answered at once and are not limited by it.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        // Outermost: every request gets an id (kept from `x-request-id` when the caller sent
        // one) that is on every log line of its work and comes back in `x-request-id`.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_failure(log_failure),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The OpenAPI document of every route: what `/openapi.json` serves and `callbot openapi` prints.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let limiter = Arc::new(RateLimiter::new(Arc::new(SystemClock)));
    let proxies = Arc::new(TrustedProxies::default());
    documented(&limiter, &proxies, |signed_in| signed_in).into_openapi()
}

/// The routes and their document. `guard` wraps the signed-in routes (the server passes the
/// sign-in layer; the document alone needs none).
fn documented(
    limiter: &Arc<RateLimiter>,
    proxies: &Arc<TrustedProxies>,
    guard: impl FnOnce(OpenApiRouter<AppState>) -> OpenApiRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let mut signed_in = auth_routes::signed_in()
        .merge(campaigns::router(limiter))
        .merge(status::router())
        .merge(events::router())
        .merge(settings::router())
        .merge(scripts::router(limiter))
        .merge(recordings::router())
        .merge(reports::router())
        .merge(usage::router())
        .merge(webhooks::router());
    openapi::signed_in(signed_in.get_openapi_mut());
    let mut public = auth_routes::public(limiter, proxies);
    openapi::rate_limited(public.get_openapi_mut());
    // Signed links: no sign-in, the signature is the credential.
    let api = OpenApiRouter::new()
        .merge(public)
        .merge(downloads::router())
        .merge(guard(signed_in))
        .layer(middleware::from_fn(error::envelope_rejections));
    let mut all = OpenApiRouter::with_openapi(openapi::base())
        .nest("/api/v1", api)
        .merge(ops::router())
        .merge(twilio::router())
        .merge(twilio_doc::media_router());
    openapi::finish(all.get_openapi_mut());
    all
}

/// `/metrics` answers a scraper that shows `METRICS_TOKEN` as a bearer token; without a token
/// configured, only a request made on this machine (a loopback peer, not forwarded by a proxy)
/// is answered. Anything else is 401, as if signed out.
async fn guard_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path() != "/metrics" {
        return next.run(request).await;
    }
    let allowed = match &state.auth.metrics_token {
        Some(token) => request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|given| {
                same_secret(given.trim(), secrecy::ExposeSecret::expose_secret(token))
            }),
        None => {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip());
            peer.is_some_and(|ip| ip.is_loopback() || ip.to_canonical().is_loopback())
                && !client_ip::is_forwarded(request.headers())
        }
    };
    if allowed {
        next.run(request).await
    } else {
        let mut response = ApiError::Unauthorized.into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        response
    }
}

/// Compares a presented token with ours by their SHA-256 digests, so how long the comparison
/// takes says nothing about the token.
fn same_secret(given: &str, ours: &str) -> bool {
    use sha2::{Digest, Sha256};
    Sha256::digest(given.as_bytes()) == Sha256::digest(ours.as_bytes())
}

/// How long a request may take to be answered.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A 5xx answer is an error in the log, except 503: "not ready" (`/readyz` while a dependency
/// is down or still starting) and "not here" are states the handler chose to report, not faults.
fn log_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    let latency = format!("{} ms", latency.as_millis());
    match class {
        ServerErrorsFailureClass::StatusCode(StatusCode::SERVICE_UNAVAILABLE) => {
            tracing::info!(%latency, "answered 503 Service Unavailable")
        }
        class => tracing::error!(classification = %class, %latency, "response failed"),
    }
}

/// The span of one request: its id, method and route template (never the raw path, which
/// holds ids).
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-");
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", %id, method = %request.method(), %route)
}

/// Counts and times every request by method, route template (never the raw path, which holds
/// ids; `unmatched` when no route matched) and status. The time runs to the response's headers:
/// a stream's body is not waited for.
/// The API reference page loads only from this server and may not be framed (Swagger UI needs
/// inline styles and `data:` images, nothing inline to run).
const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                        frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Headers of every answer: `nosniff`; `no-store` on the sign-in answers and `/me` (tokens and
/// personal data must not sit in a cache); the reference page's CSP and frame refusal.
async fn security_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    if path.starts_with("/api/v1/auth/") || path == "/api/v1/me" {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if path.starts_with("/docs") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CSP),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

async fn measure_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(names::HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(names::HTTP_REQUEST_DURATION, &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
