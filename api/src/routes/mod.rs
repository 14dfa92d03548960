//! The HTTP surface.

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;

use crate::app::AppState;

mod ops;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ops::router())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

/// Counts requests by method, route template (never the raw path, which holds ids) and status.
async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    state
        .metrics
        .http_request(&method, &route, response.status().as_u16());
    response
}
