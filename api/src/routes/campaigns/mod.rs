//! `/api/v1/campaigns` and `/api/v1/calls`: create, list, read, add and import contacts, start
//! (now or scheduled), pause, resume, cancel, delete, and the call list with progress and ETA.
//!
//! Every handler only translates: HTTP in, a `commands::services::{campaigns, calls}` call, the
//! service's typed answer (or error) out.

use std::sync::Arc;

use axum::middleware;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::rate_limit::{self, RateLimiter};
use crate::state::AppState;

mod calls;
pub mod dto;
mod handlers;
mod import;

/// Signed-in campaign routes.
pub fn router(limiter: &Arc<RateLimiter>) -> OpenApiRouter<AppState> {
    let start_limit =
        middleware::from_fn_with_state((limiter.clone(), rate_limit::START), crate::auth::per_user);
    OpenApiRouter::new()
        .routes(routes!(handlers::create, handlers::list))
        .routes(routes!(handlers::read, handlers::delete))
        .routes(routes!(calls::calls))
        .routes(routes!(handlers::add_contacts))
        .routes(routes!(import::import_contacts))
        .routes(routes!(handlers::start).map(|route| route.route_layer(start_limit)))
        .routes(routes!(handlers::pause))
        .routes(routes!(handlers::resume))
        .routes(routes!(handlers::cancel))
        .routes(routes!(calls::call))
}
