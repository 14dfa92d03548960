//! Operations endpoints: liveness, readiness and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// The process is up.
#[utoipa::path(
    get, path = "/healthz", tag = openapi::tags::OPS,
    responses((status = 200, description = "Up", body = Health, example = json!({ "status": "ok" }))),
)]
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// The store and the bus are reachable; what each background worker is doing, and who holds
/// the lease of each single-active one.
#[utoipa::path(
    get, path = "/readyz", tag = openapi::tags::OPS,
    responses(
        (status = 200, description = "Ready", body = Readiness, example = json!({
            "status": "ok",
            "database": { "backend": "sqlite", "status": "ok" },
            "bus": { "kind": "in-process", "status": "ok" },
            "workers": [
                { "name": "dialer", "state": "running", "restarts": 0, "lastError": null,
                  "lease": { "epoch": 7, "holder": "callbot-1:4242", "heldHere": true, "losses": 0 } },
                { "name": "dial_consumer", "state": "running", "restarts": 0, "lastError": null,
                  "lease": null }
            ]
        })),
        (status = 503, description = "The store or the bus is unreachable", body = Readiness),
    ),
)]
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
        "workers": state.metrics.workers(),
    });
    (status, Json(body))
}

/// Prometheus text format.
#[utoipa::path(
    get, path = "/metrics", tag = openapi::tags::OPS,
    responses((status = 200, description = "Counters, gauges and latency histograms", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String)),
)]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let head = state.store.head().await.unwrap_or(-1);
    let mut text = state.prometheus.render();
    text.push_str(&state.metrics.render_lags(head));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

// ----- answers, for the document ---------------------------------------------------------------

/// Liveness.
#[derive(ToSchema)]
#[allow(dead_code)]
struct Health {
    #[schema(example = "ok")]
    status: String,
}

/// Readiness of the process and what it depends on.
#[derive(ToSchema)]
#[allow(dead_code)]
struct Readiness {
    /// `ok` or `unreachable`.
    status: String,
    database: DatabaseReadiness,
    bus: BusReadiness,
    /// The background workers this process supervises.
    workers: Vec<WorkerReadiness>,
}

/// One background worker.
#[derive(ToSchema)]
#[allow(dead_code)]
struct WorkerReadiness {
    name: String,
    /// `standing_by` (another process holds its lease), `running`, `backing_off` (restarting
    /// after an error) or `stopped`.
    state: String,
    /// Restarts after an error since the process started.
    restarts: u64,
    /// The error behind the latest restart.
    #[schema(rename = "lastError")]
    last_error: Option<String>,
    /// The lease of a single-active worker; `null` for a worker every process runs.
    lease: Option<LeaseReadiness>,
}

/// A single-active worker's lease, as this process last saw it.
#[derive(ToSchema)]
#[allow(dead_code)]
struct LeaseReadiness {
    /// Bumped by every acquisition in any process; `null` until seen.
    epoch: Option<i64>,
    /// Who holds it (`host:pid`); `null` until seen.
    holder: Option<String>,
    /// Whether this process holds it and runs the worker.
    #[schema(rename = "heldHere")]
    held_here: bool,
    /// Times this process found the lease lost while holding it.
    losses: u64,
}

/// The event store.
#[derive(ToSchema)]
#[allow(dead_code)]
struct DatabaseReadiness {
    /// `sqlite` or `postgres`.
    backend: String,
    status: String,
}

/// The event bus.
#[derive(ToSchema)]
#[allow(dead_code)]
struct BusReadiness {
    /// `in-process` or `nats`.
    kind: String,
    status: String,
}
