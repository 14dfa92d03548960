//! The HTTP surface, and its OpenAPI document.
//!
//! Each resource module exposes a `utoipa_axum` `OpenApiRouter` whose handlers carry
//! `#[utoipa::path]`; [`documented`] assembles them into the `openapi` crate's frame, so the
//! router and the document come from the same list and cannot drift apart.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use commands::SystemClock;
use tracing::Instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;
use uuid::Uuid;

use crate::auth;
use crate::error::{self, ApiError};
use crate::rate_limit::RateLimiter;
use crate::state::AppState;

mod auth_routes;
mod campaigns;
mod events;
mod ops;
pub mod recordings;
pub mod reports;
mod scripts;
mod settings;
mod status;
mod status_doc;
pub mod twilio;
mod twilio_doc;
mod usage;

/// Request bodies larger than this are refused with 413 (CSV import raises it for itself).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Every route of the server, with the document at `/openapi.json` and Swagger UI at `/docs`
/// (its assets are compiled in, so it works offline).
pub fn router(state: AppState) -> Router {
    let require_user = middleware::from_fn_with_state(state.clone(), auth::require_user);
    let (routes, document) = documented(&state.limiter, |signed_in| {
        signed_in.route_layer(require_user)
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
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

/// The OpenAPI document of every route: what `/openapi.json` serves and `callbot openapi` prints.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let limiter = Arc::new(RateLimiter::new(Arc::new(SystemClock)));
    documented(&limiter, |signed_in| signed_in).into_openapi()
}

/// The routes and their document. `guard` wraps the signed-in routes (the server passes the
/// sign-in layer; the document alone needs none).
fn documented(
    limiter: &Arc<RateLimiter>,
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
        .merge(usage::router());
    openapi::signed_in(signed_in.get_openapi_mut());
    let mut public = auth_routes::public(limiter);
    openapi::rate_limited(public.get_openapi_mut());
    // Signed links: no sign-in, the signature is the credential.
    let downloads = recordings::downloads().merge(reports::downloads());
    let api = OpenApiRouter::new()
        .merge(public)
        .merge(downloads)
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

/// Gives every request an id (in the logs of everything it does and in `x-request-id`) and
/// counts it by method, route template (never the raw path, which holds ids) and status.
async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let request_id = Uuid::now_v7().to_string();
    let span = tracing::info_span!("request", id = %request_id, %method, %route);
    let mut response = next.run(request).instrument(span).await;
    state
        .metrics
        .http_request(&method, &route, response.status().as_u16());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
