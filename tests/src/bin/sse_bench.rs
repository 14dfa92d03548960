//! Load binary: latency from a signed Twilio status webhook (`CallStatus=in-progress`) POSTed to
//! `/twilio/status/{callId}` to the `call_update` frame reaching every one of N SSE subscribers
//! of the campaign, p50/p99, on SQLite with the in-process bus and on Postgres + NATS.
//!
//! `cargo run --release -p callbot-tests --bin sse-bench -- [subscribers] [calls]`
//!
//! The calls are set up by commands (created, dial requested, provider call recorded) on a
//! campaign that is never started, in a process without the dialer role: no dial consumer places
//! them (it would record a sandbox call of its own first) and no reconciler asks Twilio about
//! them, so the only status changes are the benchmark's webhooks. The clock starts before the
//! webhook request is sent (HTTP, signature check, command, append, relay to the bus,
//! projection, SSE fan-out, HTTP to each client).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callbot::{Application, Config, Role};
use callbot_tests::fixtures::{create_call, post_json, save_script, script, sign_up_at};
use callbot_tests::{TestDb, TestNats};
use chrono::Utc;
use commands::CommandContext;
use domain::PhoneNumber;
use domain::call::CallCommand;

use projections::call_list::CallList;
use protocols::twilio::{self as wire, CallStatus as TwilioStatus, StatusCallback};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// Where the signed webhook URLs point (the benchmark posts to the bound port, as a proxy would).
const PUBLIC_BASE_URL: &str = "https://callbot.example";

/// Start instants of the changes in flight, by call id.
type Started = Arc<Mutex<HashMap<String, Instant>>>;

struct Samples {
    latencies: Mutex<Vec<Duration>>,
    received: Mutex<usize>,
    notify: Notify,
}

async fn run(
    label: &str,
    database_url: Option<String>,
    nats_url: Option<String>,
    subscribers: usize,
    calls: usize,
) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = Config::from_lookup(
        "127.0.0.1:0".parse().expect("an address"),
        dir.path().to_path_buf(),
        // The API, the relay and the projections; the dial requests stay unplaced.
        vec![Role::Api, Role::Projector],
        |name| match name {
            "DATABASE_URL" => database_url.clone(),
            "NATS_URL" => nats_url.clone(),
            "RECORDING_KEY" => Some("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned()),
            "JWT_SECRET" => Some("sse-bench-secret-0123456789abcdef0123456789".to_owned()),
            "PUBLIC_BASE_URL" => Some(PUBLIC_BASE_URL.to_owned()),
            _ => None,
        },
    )
    .expect("a config");
    // The real clock (the rate limiter refills with it); the campaign's window is all day.
    let app = Application::build(config).await.expect("the app");
    let origin = format!("http://127.0.0.1:{}", app.port());
    let base = format!("{origin}/api/v1");
    let state = app.state().clone();
    let stop = commands::CancellationToken::new();
    tokio::spawn(app.run_until_stopped(stop.clone()));
    let client = reqwest::Client::new();

    let (token, account) = sign_up_at(&client, &base, "bench@clinic.kr").await;
    let content = script("안녕하세요.", "예약 확인", "예약 확인 부탁드립니다.", &[]);
    let script = save_script(&state.store, account, content).await;
    let contacts: Vec<Value> = (0..calls)
        .map(|i| json!({ "phoneNumber": format!("010-6{:03}-{:04}", i / 10000, i % 10000) }))
        .collect();
    let body = json!({
        "name": "bench",
        "scriptId": script,
        "contacts": contacts,
        "settings": { "callWindow": { "start": "00:00", "end": "24:00" } },
    });
    let created = post_json(&client, &format!("{base}/campaigns"), Some(&token), &body).await;
    let campaign = created["data"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("the campaign was not created: {created}"))
        .to_owned();

    let started: Started = Arc::default();
    let samples = Arc::new(Samples {
        latencies: Mutex::new(Vec::new()),
        received: Mutex::new(0),
        notify: Notify::new(),
    });
    let mut readers = Vec::new();
    for _ in 0..subscribers {
        // One account may make 100 requests a minute: past that, wait as told and retry.
        let response = loop {
            let response = client
                .get(format!("{base}/campaigns/{campaign}/status"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("subscribe");
            if response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
                break response;
            }
            let wait = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait)).await;
        };
        assert!(response.status().is_success(), "{}", response.status());
        let (started, samples) = (started.clone(), samples.clone());
        readers.push(tokio::spawn(read_frames(response, started, samples)));
    }
    // Every call ringing with a provider call of its own, as after a dial.
    let pool = state.store.db().pool().clone();
    let rows = CallList::for_campaign(&pool, &campaign)
        .await
        .expect("rows");
    let context = CommandContext::new("system");
    let mut sids = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let sid = format!("CA{:032x}", i + 1);
        let phone = PhoneNumber::parse_kr(&row.phone_number).expect("a stored number");
        for command in [
            create_call(
                campaign.parse().expect("a uuid"),
                account,
                phone,
                Utc::now(),
            ),
            CallCommand::RequestDial { at: Utc::now() },
            CallCommand::RecordProviderCall {
                provider_call_sid: sid.clone(),
                at: Utc::now(),
            },
        ] {
            state
                .calls
                .execute(&row.id, command, &context)
                .await
                .expect("a ringing call");
        }
        sids.push((row.id.clone(), sid));
    }
    let twilio = state.twilio.clone().expect("a Twilio link");
    let auth_token = secrecy::ExposeSecret::expose_secret(&twilio.auth_token).to_owned();
    let account_sid = twilio.client.config().account_sid.clone();
    let webhook = |call: &str, sid: &str, status: TwilioStatus, sequence: u32| {
        let path = format!("/twilio/status/{call}?attempt=1");
        let callback = StatusCallback {
            call_sid: sid.to_owned(),
            account_sid: account_sid.clone(),
            call_status: status,
            sequence_number: Some(sequence),
            call_duration: (status == TwilioStatus::Completed).then_some(30),
            sip_response_code: None,
            error_code: None,
            timestamp: Some(Utc::now().to_rfc2822()),
        };
        let form = callback.to_form("+15005550006", "+821060000000");
        let signature =
            wire::compute_signature(&auth_token, &format!("{PUBLIC_BASE_URL}{path}"), &form);
        client
            .post(format!("{origin}{path}"))
            .header(wire::SIGNATURE_HEADER, signature)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(wire::encode_form(&form))
    };
    // Let the setup's frames reach everyone before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut measured = 0;
    for (call, sid) in &sids {
        started
            .lock()
            .expect("lock")
            .insert(call.clone(), Instant::now());
        let response = webhook(call, sid, TwilioStatus::InProgress, 2)
            .send()
            .await
            .expect("the webhook");
        assert!(response.status().is_success(), "{}", response.status());
        measured += 1;
        let target = measured * subscribers;
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let notified = samples.notify.notified();
                if *samples.received.lock().expect("lock") >= target {
                    return;
                }
                notified.await;
            }
        })
        .await
        .expect("every subscriber got the update");
        let response = webhook(call, sid, TwilioStatus::Completed, 3)
            .send()
            .await
            .expect("the webhook");
        assert!(response.status().is_success(), "{}", response.status());
    }
    let mut latencies = samples.latencies.lock().expect("lock").clone();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{label}: signed status webhook -> call_update at {subscribers} subscribers, {} webhooks = {} deliveries; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        measured,
        latencies.len(),
        at(0.50).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        latencies.last().expect("samples").as_secs_f64() * 1000.0,
    );
    for reader in readers {
        reader.abort();
    }
    stop.cancel();
}

/// Reads one subscriber's stream; records the latency of every `IN_PROGRESS` call update.
async fn read_frames(mut response: reqwest::Response, started: Started, samples: Arc<Samples>) {
    let mut buffer = String::new();
    // The attempt's end (duration known) sends the call IN_PROGRESS again: count the first only.
    let mut seen = std::collections::HashSet::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if !block.contains("event: call_update") {
                continue;
            }
            let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue;
            };
            let data: Value = serde_json::from_str(data).expect("frame json");
            if data["status"] != "IN_PROGRESS" {
                continue;
            }
            let call = data["callId"].as_str().unwrap_or_default();
            let Some(at) = started.lock().expect("lock").get(call).copied() else {
                continue;
            };
            if !seen.insert(call.to_owned()) {
                continue;
            }
            samples.latencies.lock().expect("lock").push(at.elapsed());
            *samples.received.lock().expect("lock") += 1;
            samples.notify.notify_waiters();
        }
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let subscribers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let calls: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    run("sqlite + in-process bus", None, None, subscribers, calls).await;
    let db = TestDb::postgres().await;
    let nats = TestNats::start();
    run(
        "postgres + nats",
        Some(db.url.clone()),
        Some(nats.url()),
        subscribers,
        calls,
    )
    .await;
}
