//! Load on one bridge process: N concurrent simulated calls placed through the real Twilio
//! adapter, answered by the Twilio sandbox (20 ms µ-law frames at `--speed`, 1 = real time),
//! bridged to the ElevenLabs sandbox. The dialer's loop is bypassed (it caps an account at 5
//! calls): the calls are created and dial-requested by commands, and the dial consumer places
//! them; everything else — REST, signed webhooks, the media socket, the agent socket — is real.
//!
//! `cargo run --release -p callbot-tests --bin bridge-bench -- --calls 50 --speed 1`
//!
//! Reports wall time, CPU seconds per call, peak RSS per call and frames sent, delivered and
//! dropped (callee frames that never reached the agent).

use std::sync::Arc;

use anyhow::Context;
use std::time::{Duration, Instant};

use callbot::{Application, Config, Role};
use callbot_tests::fixtures::{create_call, post_json, save_script, script, sign_up_at};
use chrono::Utc;
use commands::{CancellationToken, CommandContext, Commands};
use domain::PhoneNumber;
use domain::call::{Call, CallCommand};

use serde_json::{Value, json};
use uuid::Uuid;

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 (1-based), 11 and 12 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

/// A `/proc/self/status` value in kB.
fn status_kb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let calls = arg("--calls", 20.0) as u32;
    let speed = arg("--speed", 1.0);
    let dir = tempfile::tempdir()?;
    let vars = [
        ("SANDBOX_SPEED", speed.to_string()),
        ("PUBLIC_BASE_URL", "https://callbot.example".to_owned()),
    ];
    let config = Config::from_lookup(
        "127.0.0.1:0".parse()?,
        dir.path().to_path_buf(),
        // The dialer role runs the dial consumer that places the calls (the campaign itself is
        // never started, so the dialer's own loop has nothing to do).
        vec![Role::Api, Role::Projector, Role::Dialer],
        |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        },
    )?;
    let app = Application::build(config).await?;
    let base = format!("http://127.0.0.1:{}/api/v1", app.port());
    let state = app.state().clone();
    let providers = app.providers();
    let stop = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(stop.clone()));

    // An account, a script and a campaign whose contacts all confirm.
    let http = reqwest::Client::new();
    let (token, owner) = sign_up_at(&http, &base, "bench@clinic.kr").await;
    let content = script("안녕하세요.", "예약 확인", "예약 확인", &[]);
    let script_id = save_script(&state.store, owner, content).await;
    let numbers: Vec<String> = (0..calls)
        .map(|i| format!("010-7{:03}-{:04}", i / 1000, i % 1000))
        .collect();
    let contacts: Vec<Value> = numbers
        .iter()
        .map(|n| json!({ "phoneNumber": n }))
        .collect();
    let body = json!({ "name": "bench", "scriptId": script_id, "contacts": contacts });
    let created = post_json(&http, &format!("{base}/campaigns"), Some(&token), &body).await;
    let campaign_id: Uuid = created["data"]["id"]
        .as_str()
        .with_context(|| format!("the campaign was not created: {created}"))?
        .parse()?;
    // The bridge reads the script from the read model.
    let deadline = Instant::now() + Duration::from_secs(10);
    while projections::ScriptList::find_version(state.store.db().pool(), owner, script_id, 1)
        .await?
        .is_none()
    {
        anyhow::ensure!(Instant::now() < deadline, "script never projected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    sandbox::probe::enable();
    let cpu_before = cpu_seconds();
    let rss_before = status_kb("VmRSS:");
    let started = Instant::now();
    let call_commands: Arc<Commands<Call>> = state.calls.clone();
    let mut tasks = Vec::new();
    for number in numbers {
        let calls = call_commands.clone();
        tasks.push(tokio::spawn(async move {
            let id = Uuid::now_v7();
            let context = CommandContext::new("bench");
            let phone = PhoneNumber::parse(&number, &["KR"]).map_err(|e| e.to_string())?;
            for command in [
                create_call(campaign_id, owner, phone.clone(), Utc::now()),
                CallCommand::RequestDial { at: Utc::now() },
            ] {
                calls
                    .execute(&id.to_string(), command, &context)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            // The app's dial consumer places it through the Twilio adapter.
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await?.map_err(anyhow::Error::msg)?;
    }
    let twilio = providers.twilio_sandbox().expect("the Twilio sandbox runs");
    let mut peak_rss = rss_before;
    loop {
        peak_rss = peak_rss.max(status_kb("VmRSS:"));
        let logs = twilio.calls();
        let over = logs
            .iter()
            .filter(|c| {
                matches!(
                    c.status.as_str(),
                    "completed" | "busy" | "no-answer" | "failed" | "canceled"
                )
            })
            .count();
        if over == calls as usize {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "calls did not end"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let logs = twilio.calls();
    let sent: u64 = logs.iter().map(|c| c.stream.frames_sent).sum();
    let agent_frames: u64 = logs.iter().map(|c| c.stream.frames_received).sum();
    let conversations = providers
        .elevenlabs_sandbox()
        .expect("the ElevenLabs sandbox runs")
        .conversations();
    let delivered: u64 = conversations.iter().map(|c| c.audio_chunks_received).sum();
    let problems = logs
        .iter()
        .filter(|c| c.stream.problem.is_some() || c.twiml_problem.is_some())
        .count();
    println!("calls                  {calls} concurrent, SANDBOX_SPEED {speed}");
    println!("wall time              {wall:.1} s");
    println!(
        "CPU                    {cpu:.2} s total, {:.3} s per call, {:.1}% of one core per call",
        cpu / f64::from(calls),
        100.0 * cpu / wall / f64::from(calls)
    );
    println!(
        "memory                 {:.0} kB before, {:.0} kB peak, {:.0} kB per call",
        rss_before,
        peak_rss,
        (peak_rss - rss_before) / f64::from(calls)
    );
    println!("callee frames sent     {sent}");
    println!("  reached the agent    {delivered}");
    println!("  dropped              {}", sent.saturating_sub(delivered));
    println!("agent frames to callee {agent_frames}");
    println!("calls with problems    {problems}");
    let (mut latencies, lost) = sandbox::probe::results();
    latencies.sort();
    if !latencies.is_empty() {
        let at = |q: f64| {
            latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]
                .as_secs_f64()
                * 1000.0
        };
        println!(
            "frame latency callee→agent through the bridge: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} frames ({lost} stamped frames never arrived)",
            at(0.5),
            at(0.99),
            at(1.0),
            latencies.len()
        );
    }
    stop.cancel();
    Ok(())
}
