//! Operations endpoints: liveness, readiness and Prometheus metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is up.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// The store and the bus are reachable.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.store.db().ping().await;
    let bus = state.bus.is_ready();
    let status = if database && bus {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    let body = json!({
        "status": word(database && bus),
        "database": { "backend": state.store.db().backend().name(), "status": word(database) },
        "bus": { "kind": state.bus.name(), "status": word(bus) },
    });
    (status, Json(body))
}

/// Prometheus text format.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let head = state.store.head().await.unwrap_or(-1);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(head),
    )
}
