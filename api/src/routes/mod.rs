//! The HTTP surface.

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth;
use crate::error::ApiError;

mod auth_routes;
mod campaigns;
mod events;
mod ops;
pub mod recordings;
pub mod reports;
mod scripts;
mod settings;
mod status;
pub mod twilio;
pub mod twilio_media;
mod usage;

/// Request bodies larger than this are refused with 413 (CSV import raises it for itself).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let signed_in = auth_routes::signed_in()
        .merge(campaigns::router(&state))
        .merge(status::router())
        .merge(events::router())
        .merge(settings::router())
        .merge(scripts::router(&state))
        .merge(recordings::router())
        .merge(reports::router())
        .merge(usage::router())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_user,
        ));
    let api = Router::new()
        .merge(auth_routes::public(state.clone()))
        .merge(recordings::downloads())
        .merge(reports::downloads())
        .merge(signed_in);
    Router::new()
        .nest("/api/v1", api)
        .merge(ops::router())
        .merge(twilio::router().merge(twilio_media::router()))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed.into_response() })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
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
