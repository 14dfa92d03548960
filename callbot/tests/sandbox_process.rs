//! `callbot sandbox` as its own process, and a `callbot serve` pointed at it with the environment
//! it prints: a campaign's call goes over the network to the Twilio stand-in, which calls the
//! server's webhooks and media socket back as Twilio does; the conversation is held by the
//! ElevenLabs stand-in and summarized by the OpenAI one.

#[path = "common/api.rs"]
mod api;
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api::{Owner, wait_for};
use callbot_tests::free_port;
use common::callbot;
use serde_json::{Value, json};

/// The variables `callbot sandbox` must print for `callbot serve`.
const PRINTED: [&str; 9] = [
    "TWILIO_API_BASE",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_PHONE_NUMBER",
    "ELEVENLABS_API_BASE",
    "ELEVENLABS_API_KEY",
    "ELEVENLABS_AGENT_ID",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
];

/// A child process killed when dropped (a failed test leaves nothing running).
struct Running(Option<Child>);

impl Running {
    /// SIGTERM, then the exit status within ten seconds.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.0.take().expect("a running process");
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let sent = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if sent.elapsed() > Duration::from_secs(10) {
                child.kill().unwrap();
                panic!("still running 10 s after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `callbot sandbox` and reads the environment it prints (its first lines).
fn start_sandbox() -> (Running, Vec<(String, String)>) {
    let mut child = callbot()
        .args(["sandbox", "--speed", "20"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(Some(child));
    let mut env = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some((name, value)) = line.split_once('=') {
            env.push((name.to_owned(), value.to_owned()));
        }
        if env.len() == PRINTED.len() {
            break;
        }
    }
    let names: Vec<&str> = env.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, PRINTED, "callbot sandbox printed {env:?}");
    (running, env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serve_pointed_at_callbot_sandbox_completes_a_call() {
    let (mut sandbox, env) = start_sandbox();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(data.path().join("serve.log")).unwrap();
    let serve = Running(Some(
        callbot()
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data.path().join("data"))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RATE_LIMIT_SCALE", "100")
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    ));
    let server_log = || std::fs::read_to_string(data.path().join("serve.log")).unwrap_or_default();
    let http = reqwest::Client::new();
    wait_for("callbot serve to be ready", Duration::from_secs(60), || {
        let request = http.get(format!("{base}/readyz")).send();
        async move { request.await.ok().filter(|r| r.status() == 200).map(drop) }
    })
    .await;

    let owner = Owner::sign_up(&base).await;
    let script = owner.save_script(&base).await;
    let campaign = json!({
        "name": "별도 샌드박스",
        "scriptId": script,
        "contacts": [{ "phoneNumber": "010-7000-0001", "name": "고객" }],
        "settings": { "maxConcurrency": 1, "callWindow": { "start": "00:00", "end": "24:00" } }
    });
    let created = owner
        .call(&base, "POST", "/campaigns", Some(&campaign))
        .await;
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    owner
        .call(&base, "POST", &format!("/campaigns/{id}/start"), None)
        .await;
    let calls_path = format!("/campaigns/{id}/calls?pageSize=10");
    let call = wait_for("the call to complete", Duration::from_secs(90), || async {
        let page = owner.call(&base, "GET", &calls_path, None).await;
        let call = page["data"]["items"][0].clone();
        (call["status"] == "COMPLETED").then_some(call)
    })
    .await;
    assert_eq!(call["result"], "SUCCESS", "{call}\n{}", server_log());

    // The Twilio stand-in has the call, placed through its REST API and over.
    let var = |name: &str| env.iter().find(|(k, _)| k == name).unwrap().1.clone();
    let sid = var("TWILIO_ACCOUNT_SID");
    let listed: Value = http
        .get(format!(
            "{}/2010-04-01/Accounts/{sid}/Calls.json",
            var("TWILIO_API_BASE")
        ))
        .basic_auth(&sid, Some(var("TWILIO_AUTH_TOKEN")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let placed = &listed["calls"][0];
    assert_eq!(placed["to"], "+821070000001", "{listed}");
    assert_eq!(placed["status"], "completed", "{listed}");
    drop(serve);
    assert!(
        sandbox.terminate().success(),
        "callbot sandbox failed on SIGTERM"
    );
}
