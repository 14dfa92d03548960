//! Outbound webhooks end to end (issue 19): a receiver on loopback (sandbox mode) that refuses
//! the first two attempts of every delivery gets each event of a sandbox campaign once after
//! the retries, signed as Standard Webhooks say (checked here with hmac and base64 directly);
//! a dead-lettered delivery is redelivered by the API with its id; URLs to private addresses
//! are refused outside sandbox mode; and a worker killed in the middle of an attempt loses
//! nothing: its successor sends the delivery again under the same `webhook-id`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use callbot_tests::fixtures::{assert_error, one_cent_daily_budget};
use callbot_tests::{AppOptions, Backend, TestApp, eventually, poll_api, spawn_app_with};
use commands::recordings::RecordingCipher;
use commands::webhooks::guard::Guard;
use commands::webhooks::sender::Sender;
use commands::webhooks::{DeliveryPolicy, WebhookEventType};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use workers::webhooks::WebhookWorker;

/// Every event type there is.
fn all_types() -> Vec<&'static str> {
    WebhookEventType::ALL.map(WebhookEventType::as_str).to_vec()
}
const RECORDING_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const DEADLINE: Duration = Duration::from_secs(90);

/// One request the receiver saw.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    /// What the receiver answered.
    accepted: bool,
}

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// 503 to the first `n` attempts of each webhook id, then 204.
    RefuseFirst(usize),
    /// 500 to everything.
    RefuseAll,
    /// Never answers the first attempt of an id (the worker dies meanwhile), 200 after.
    HangFirst,
}

#[derive(Clone)]
struct Receiver {
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// A receiver on a free loopback port; its URL.
    async fn start(mode: Mode) -> (Self, String) {
        let receiver = Self {
            mode: Arc::new(Mutex::new(mode)),
            seen: Arc::default(),
        };
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (receiver, url)
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    fn accepted(&self) -> Vec<Received> {
        self.seen().into_iter().filter(|r| r.accepted).collect()
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    let earlier = receiver
        .seen()
        .iter()
        .filter(|r| r.id == id && !r.accepted)
        .count();
    let mode = *receiver.mode.lock().unwrap();
    let accepted = match mode {
        Mode::RefuseFirst(n) => earlier >= n,
        Mode::RefuseAll => false,
        Mode::HangFirst => earlier >= 1,
    };
    receiver.seen.lock().unwrap().push(Received {
        id,
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
        accepted,
    });
    if mode == Mode::HangFirst && !accepted {
        std::future::pending::<()>().await;
    }
    match (accepted, mode) {
        (true, _) => StatusCode::NO_CONTENT,
        (false, Mode::RefuseAll) => StatusCode::INTERNAL_SERVER_ERROR,
        (false, _) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Verifies a request as a receiver would, with nothing of ours: HMAC-SHA256 over
/// `id.timestamp.body` keyed with the base64-decoded secret after `whsec_`.
fn signature_is_valid(secret: &str, received: &Received) -> bool {
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .expect("base64 after whsec_");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", received.id, received.timestamp, received.body).as_bytes());
    let expected = BASE64.encode(mac.finalize().into_bytes());
    received
        .signature
        .split(' ')
        .any(|candidate| candidate == format!("v1,{expected}"))
}

async fn register(app: &TestApp, url: &str, types: &[&str]) -> Value {
    app.register_webhook_ok(url, types).await
}

async fn post_webhook(app: &TestApp, url: &str, types: &[&str]) -> (StatusCode, Value) {
    let body = json!({ "url": url, "eventTypes": types });
    app.call("POST", "/webhooks", Some(body)).await
}

async fn deliveries(app: &TestApp, endpoint: &str, query: &str) -> Vec<Value> {
    app.webhook_deliveries_ok(endpoint, query).await
}

/// A started sandbox campaign calling SPEC §9's `010-5550-01NN` for each `nn`.
async fn run_campaign(app: &TestApp, numbers: &[u32]) -> String {
    let phones: Vec<String> = numbers
        .iter()
        .map(|nn| format!("010-5550-01{nn:02}"))
        .collect();
    app.start_sandbox_campaign_ok(&phones).await
}

callbot_tests::app_backend_tests!(a_receiver_refusing_two_attempts_gets_each_event_once_signed);

async fn a_receiver_refusing_two_attempts_gets_each_event_once_signed(backend: Backend) {
    let app = spawn_app_with(
        AppOptions::sandbox_calls()
            .backend(backend)
            .var("WEBHOOK_RETRY_SCHEDULE", "0.05,0.1,0.2"),
    )
    .await;
    let (receiver, url) = Receiver::start(Mode::RefuseFirst(2)).await;
    let endpoint = register(&app, &url, &all_types()).await;
    let secret = endpoint["secret"].as_str().expect("the secret, once");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id = endpoint["id"].as_str().unwrap().to_owned();
    let (_, listed) = app.call("GET", "/webhooks", None).await;
    assert_eq!(listed["data"][0]["id"], id.as_str());
    assert!(
        listed["data"][0].get("secret").is_none() && !listed.to_string().contains(secret),
        "the secret is shown only once: {listed}"
    );

    // 01 confirms (call.completed), 10 is unreachable (call.failed).
    let campaign = run_campaign(&app, &[1, 10]).await;
    app.wait_for_campaign(&campaign, "COMPLETED").await;
    app.wait_for_workers_finished().await;

    let log = poll_api("every delivery to be delivered", DEADLINE, || async {
        let log = deliveries(&app, &id, "").await;
        let done = log.iter().all(|d| d["status"] == "delivered");
        let types: Vec<&str> = log.iter().filter_map(|d| d["eventType"].as_str()).collect();
        let complete = types.contains(&"campaign.completed");
        (done && complete).then_some(log)
    })
    .await;
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for delivery in &log {
        *kinds
            .entry(delivery["eventType"].as_str().unwrap().to_owned())
            .or_default() += 1;
        assert_eq!(
            delivery["attempts"], 3,
            "two refusals, then 2xx: {delivery}"
        );
    }
    assert_eq!(kinds.get("campaign.started"), Some(&1), "{kinds:?}");
    assert_eq!(kinds.get("campaign.completed"), Some(&1), "{kinds:?}");
    assert_eq!(kinds.get("call.completed"), Some(&1), "{kinds:?}");
    assert_eq!(kinds.get("call.failed"), Some(&1), "{kinds:?}");

    // Each event accepted exactly once, after exactly two refusals, every attempt signed.
    let seen = receiver.seen();
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), log.len(), "{accepted:?}");
    let mut per_id: HashMap<&str, (usize, usize)> = HashMap::new();
    for request in &seen {
        let entry = per_id.entry(request.id.as_str()).or_default();
        if request.accepted {
            entry.1 += 1;
        } else {
            entry.0 += 1;
        }
        assert!(
            signature_is_valid(secret, request),
            "bad signature: {request:?}"
        );
    }
    for delivery in &log {
        let id = delivery["id"].as_str().unwrap();
        assert_eq!(per_id.get(id), Some(&(2, 1)), "{id}");
    }
    for request in &accepted {
        let body: Value = serde_json::from_str(&request.body).unwrap();
        let kind = body["type"].as_str().unwrap();
        assert!(WebhookEventType::parse(kind).is_some(), "{body}");
        assert_eq!(body["data"]["campaignId"], campaign.as_str(), "{body}");
        let timestamp: i64 = request.timestamp.parse().expect("unix seconds");
        assert!(timestamp > 1_600_000_000, "{timestamp}");
    }
    let delivered = |kind: &str| {
        accepted
            .iter()
            .map(|r| serde_json::from_str::<Value>(&r.body).unwrap())
            .find(|b| b["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} delivered"))
    };
    let completed = delivered("call.completed");
    assert_eq!(completed["data"]["result"], "SUCCESS", "{completed}");
    let failed = delivered("call.failed");
    assert_eq!(failed["data"]["reason"], "FAILED", "{failed}");

    // `/metrics` counts the attempts by outcome and times the deliveries.
    let scrape = app.scrape().await;
    let deliveries = "callbot_webhook_deliveries_total";
    assert!(scrape.sum(deliveries, &[("outcome", "delivered")]) >= log.len() as f64);
    assert!(scrape.sum(deliveries, &[("outcome", "retrying")]) >= 2.0 * log.len() as f64);
    let latency = "callbot_webhook_delivery_latency_seconds";
    assert!(scrape.histogram_count(latency, &[]) >= log.len() as f64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_lettered_delivery_is_redelivered_by_the_api_with_its_id() {
    let app =
        spawn_app_with(AppOptions::sandbox_calls().var("WEBHOOK_RETRY_SCHEDULE", "0.05")).await;
    let (receiver, url) = Receiver::start(Mode::RefuseAll).await;
    let endpoint = register(&app, &url, &["campaign.started"]).await;
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    let id = endpoint["id"].as_str().unwrap().to_owned();
    run_campaign(&app, &[1]).await;

    let dead = poll_api("the delivery to be dead-lettered", DEADLINE, || async {
        deliveries(&app, &id, "?status=dead").await.first().cloned()
    })
    .await;
    assert_eq!(dead["attempts"], 2, "one attempt and one retry: {dead}");
    assert_eq!(dead["lastStatus"], 500, "{dead}");
    let delivery_id = dead["id"].as_str().unwrap().to_owned();
    assert_eq!(receiver.seen().len(), 2);

    receiver.set_mode(Mode::RefuseFirst(0));
    let redeliver = format!("/webhooks/{id}/deliveries/{delivery_id}/redeliver");
    let (status, queued) = app.call("POST", &redeliver, None).await;
    assert_eq!(status, StatusCode::OK, "{queued}");
    let delivered = poll_api("the redelivery to land", DEADLINE, || async {
        let log = deliveries(&app, &id, "?status=delivered").await;
        log.into_iter().find(|d| d["id"] == delivery_id.as_str())
    })
    .await;
    assert_eq!(delivered["attempts"], 1, "{delivered}");
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].id, delivery_id, "the same webhook-id");
    assert!(signature_is_valid(&secret, &accepted[0]));
    assert!(deliveries(&app, &id, "?status=dead").await.is_empty());

    // Another endpoint's or an unknown delivery is not found; deleting ends the log.
    let (status, body) = app
        .call(
            "POST",
            &format!("/webhooks/{id}/deliveries/msg_unknown/redeliver"),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(
        app.delete(&format!("/webhooks/{id}"), &app.token).await,
        StatusCode::NO_CONTENT
    );
    let (status, _) = app
        .call("GET", &format!("/webhooks/{id}/deliveries"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outside_sandbox_mode_private_and_plain_http_receivers_are_refused() {
    // Real Twilio credentials (a sandbox outside the app) mean a real deployment.
    let app = spawn_app_with(AppOptions::default().twilio_sandbox()).await;
    for (url, reason) in [
        ("http://hooks.example.com/in", "HTTPS_REQUIRED"),
        ("https://127.0.0.1/in", "PRIVATE_ADDRESS"),
        ("https://localhost:8443/in", "PRIVATE_ADDRESS"),
        ("https://[::1]/in", "PRIVATE_ADDRESS"),
        (
            "https://169.254.169.254/latest/meta-data",
            "PRIVATE_ADDRESS",
        ),
        ("https://10.0.0.7/in", "PRIVATE_ADDRESS"),
        ("https://[::ffff:192.168.0.1]/in", "PRIVATE_ADDRESS"),
        ("not a url", "INVALID_URL"),
    ] {
        let (status, body) = post_webhook(&app, url, &["call.completed"]).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
        assert_eq!(body["error"]["details"]["reason"], reason, "{url}: {body}");
    }
    let (status, body) =
        post_webhook(&app, "https://hooks.example.com/in", &["call.started"]).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    let long = format!("https://hooks.example.com/{}", "a".repeat(2_000));
    let (status, body) = post_webhook(&app, &long, &["call.completed"]).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    assert_eq!(body["error"]["details"]["reason"], "TOO_LARGE", "{body}");
    for n in 0..10 {
        register(
            &app,
            &format!("https://hooks{n}.example.com/in"),
            &["call.completed"],
        )
        .await;
    }
    let (status, body) =
        post_webhook(&app, "https://one-more.example.com/in", &["call.completed"]).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    assert_eq!(
        body["error"]["details"]["field"], "webhook endpoints",
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_attempt_loses_nothing_and_its_successor_resends_the_same_id() {
    let app = spawn_app_with(
        AppOptions::sandbox_calls()
            .manual_workers()
            .var("RECORDING_KEY", RECORDING_KEY),
    )
    .await;
    let (receiver, url) = Receiver::start(Mode::HangFirst).await;
    let endpoint = register(&app, &url, &["campaign.started"]).await;
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    let id = endpoint["id"].as_str().unwrap().to_owned();
    run_campaign(&app, &[1]).await;

    let worker = || {
        let cipher = RecordingCipher::from_base64(RECORDING_KEY).unwrap();
        let policy = DeliveryPolicy {
            allow_private: true,
            ..DeliveryPolicy::default()
        };
        Arc::new(WebhookWorker::new(
            app.state.store.clone(),
            Sender::new(Guard::new(true), cipher),
            policy,
            app.state.clock.clone(),
        ))
    };
    // The first worker fans the event out and is killed while the receiver holds its attempt.
    let first = worker();
    let running = tokio::spawn({
        let first = first.clone();
        async move { workers::drive_to_idle(first.as_ref(), 10).await }
    });
    eventually(
        "the first attempt to reach the receiver",
        DEADLINE,
        || async { (receiver.seen().len() == 1).then_some(()) },
    )
    .await;
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    let pending = deliveries(&app, &id, "").await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(
        pending[0]["status"], "pending",
        "the attempt never finished"
    );

    // A fresh worker (a restarted process) sends it again, once, with the same id.
    let second = worker();
    workers::drive_to_idle(second.as_ref(), 10).await.unwrap();
    let log = deliveries(&app, &id, "").await;
    assert_eq!(log.len(), 1, "the event was not fanned out twice: {log:?}");
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"], 1);
    let seen = receiver.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        seen[0].id, seen[1].id,
        "at least once, under one webhook-id"
    );
    assert_eq!(seen[0].body, seen[1].body);
    assert!(seen[1].accepted && signature_is_valid(&secret, &seen[1]));
    // Nothing more to do: the checkpoint moved past the event.
    workers::drive_to_idle(second.as_ref(), 10).await.unwrap();
    assert_eq!(receiver.seen().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_endpoint_failing_longer_than_the_limit_is_disabled_and_shown_so() {
    let app = spawn_app_with(
        AppOptions::default()
            .manual_clock(chrono::Utc::now())
            .manual_workers()
            .var("RECORDING_KEY", RECORDING_KEY),
    )
    .await;
    let (receiver, url) = Receiver::start(Mode::RefuseAll).await;
    let endpoint = register(&app, &url, &["campaign.started", "campaign.paused"]).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    let campaign = run_campaign(&app, &[1]).await;
    let worker = WebhookWorker::new(
        app.state.store.clone(),
        Sender::new(
            Guard::new(true),
            RecordingCipher::from_base64(RECORDING_KEY).unwrap(),
        ),
        DeliveryPolicy {
            retry_schedule: vec![Duration::from_secs(30), Duration::from_secs(7200)],
            disable_after: Duration::from_secs(3600),
            allow_private: true,
        },
        app.state.clock.clone(),
    );

    workers::drive_to_idle(&worker, 10).await.unwrap();
    let (_, listed) = app.call("GET", "/webhooks", None).await;
    assert_eq!(listed["data"][0]["disabled"], false, "{listed}");
    assert!(listed["data"][0]["failingSince"].is_string(), "{listed}");
    assert_eq!(deliveries(&app, &id, "?status=retrying").await.len(), 1);

    // The retry two hours later fails too: failing for over an hour, the endpoint is disabled
    // and its waiting deliveries are dead.
    app.manual_clock().advance(chrono::Duration::hours(2));
    workers::drive_to_idle(&worker, 10).await.unwrap();
    assert_eq!(receiver.seen().len(), 2);
    let (_, listed) = app.call("GET", "/webhooks", None).await;
    assert_eq!(listed["data"][0]["disabled"], true, "{listed}");
    assert!(listed["data"][0]["disabledAt"].is_string(), "{listed}");
    assert_eq!(deliveries(&app, &id, "?status=dead").await.len(), 1);

    // Nothing more goes to it.
    let (status, body) = app.campaign_action(&campaign, "pause", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    workers::drive_to_idle(&worker, 10).await.unwrap();
    assert_eq!(deliveries(&app, &id, "").await.len(), 1);
    assert_eq!(receiver.seen().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_budget_alert_and_the_pause_at_the_cap_are_delivered() {
    let app = spawn_app_with(AppOptions::sandbox_calls()).await;
    app.put_settings_ok(one_cent_daily_budget()).await;
    let (receiver, url) = Receiver::start(Mode::RefuseFirst(0)).await;
    let endpoint = register(&app, &url, &["budget.alert", "campaign.paused"]).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    let campaign = run_campaign(&app, &(21..=32).collect::<Vec<_>>()).await;
    app.wait_for_campaign(&campaign, "PAUSED").await;

    let bodies = poll_api("the alert and the pause to land", DEADLINE, || async {
        let log = deliveries(&app, &id, "?status=delivered").await;
        let bodies: Vec<Value> = receiver
            .accepted()
            .iter()
            .map(|r| serde_json::from_str(&r.body).unwrap())
            .collect();
        (log.len() == 2 && bodies.len() == 2).then_some(bodies)
    })
    .await;
    let of = |kind: &str| bodies.iter().find(|b| b["type"] == kind).cloned();
    let alert = of("budget.alert").expect("a budget.alert");
    assert_eq!(alert["data"]["thresholdUsd"], 0.01, "{alert}");
    assert!(
        alert["data"]["spendUsd"].as_f64().unwrap() >= 0.01,
        "{alert}"
    );
    assert!(
        alert["data"]["month"].as_str().unwrap().len() == 7,
        "{alert}"
    );
    let paused = of("campaign.paused").expect("a campaign.paused");
    assert_eq!(paused["data"]["reason"], "BUDGET_EXCEEDED", "{paused}");
    assert_eq!(paused["data"]["campaignId"], campaign.as_str());
}
