//! Load binary: outbound webhook delivery latency, from an event's commit (the body's
//! `timestamp`, the event's stored time) to a receiver on loopback answering 204, p50/p99, over
//! a sandbox campaign whose every event type is subscribed. On SQLite with the in-process bus,
//! and on Postgres + NATS with `--postgres`.
//!
//! `cargo run --release -p callbot-tests --bin webhook-bench -- [contacts] [--postgres]`

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use callbot_tests::{AppOptions, Backend, poll_api, spawn_app_with};
use chrono::{DateTime, Utc};
use commands::webhooks::WebhookEventType;
use serde_json::Value;

type Latencies = Arc<Mutex<Vec<Duration>>>;

async fn receive(State(latencies): State<Latencies>, body: String) -> StatusCode {
    let received = Utc::now();
    let body: Value = serde_json::from_str(&body).expect("a JSON body");
    let at: DateTime<Utc> = body["timestamp"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("a timestamp");
    let latency = (received - at).to_std().unwrap_or_default();
    latencies.lock().unwrap().push(latency);
    StatusCode::NO_CONTENT
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let contacts: u32 = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(30)
        .clamp(1, 99);
    let backend = if args.iter().any(|a| a == "--postgres") {
        Backend::PostgresAndNats
    } else {
        Backend::Sqlite
    };
    let app = spawn_app_with(
        AppOptions::sandbox_calls()
            .backend(backend)
            .rate_limit_scale(100),
    )
    .await;
    let latencies = Latencies::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(latencies.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let types = WebhookEventType::ALL.map(WebhookEventType::as_str);
    let endpoint = app.register_webhook_ok(&url, &types).await;
    let endpoint = endpoint["id"].as_str().unwrap().to_owned();
    // Numbers that answer and confirm (SPEC §9: anything but 010-5550-01NN).
    let phones: Vec<String> = (0..contacts)
        .map(|n| format!("010-5551-{:04}", 1000 + n))
        .collect();
    let campaign = app.start_sandbox_campaign_ok(&phones).await;
    app.wait_for_campaign(&campaign, "COMPLETED").await;
    app.wait_for_workers_finished().await;
    let delivered = poll_api(
        "every delivery to land",
        Duration::from_secs(120),
        || async {
            let log = app.webhook_deliveries_ok(&endpoint, "").await;
            let done = !log.is_empty() && log.iter().all(|d| d["status"] == "delivered");
            done.then_some(log.len())
        },
    )
    .await;
    let mut sorted = latencies.lock().unwrap().clone();
    sorted.sort();
    println!(
        "webhook delivery latency ({backend:?}, {} deliveries, {delivered} in the log): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        sorted.len(),
        percentile(&sorted, 0.50).as_secs_f64() * 1000.0,
        percentile(&sorted, 0.99).as_secs_f64() * 1000.0,
        sorted.last().unwrap().as_secs_f64() * 1000.0,
    );
    app.shut_down().await;
}
