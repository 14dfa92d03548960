//! The `callbot` binary, started for real.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use callbot::{Config, Role};
use common::callbot;

fn config(data_dir: &Path, vars: &[(&str, String)]) -> Config {
    let vars: std::collections::HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Config::from_lookup(
        "127.0.0.1:0".parse().unwrap(),
        data_dir.to_path_buf(),
        vec![Role::All],
        |name| vars.get(name).cloned(),
    )
    .unwrap()
}

/// Runs `callbot <args> --data-dir <dir>` to its end.
fn run_on(dir: &Path, args: &[&str]) -> Output {
    callbot()
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap()
}

#[track_caller]
fn assert_succeeded(output: &Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn callbot_events_help_explains_the_command() {
    let output = callbot().args(["events", "--help"]).output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("event history"), "{help}");
    assert!(help.contains("<AGGREGATE_ID>"), "{help}");
}

#[test]
fn callbot_events_prints_an_aggregates_history_with_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let config = config(dir.path(), &[]);
        let db = commands::Db::connect_and_migrate(&config.database_url)
            .await
            .unwrap();
        let store = commands::EventStore::open(db, Default::default())
            .await
            .unwrap();
        let event = cqrs_es::persist::SerializedEvent::new(
            "campaign-1".into(),
            1,
            "campaign".into(),
            "CampaignStarted".into(),
            "1.0".into(),
            serde_json::json!({ "CampaignStarted": { "started_at": "2026-11-21T00:00:00Z" } }),
            serde_json::json!({ "actor": "user-7", "correlation_id": "corr-1" }),
        );
        store.append(&[event]).await.unwrap();
    });
    let output = run_on(dir.path(), &["events", "campaign-1", "--json"]);
    assert_succeeded(&output);
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(line["event_type"], "CampaignStarted");
    assert_eq!(line["metadata"]["actor"], "user-7");
    assert_eq!(line["metadata"]["correlation_id"], "corr-1");
    assert_eq!(line["position"], 1);

    let missing = run_on(dir.path(), &["events", "nope"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no events for aggregate nope"));
}

#[test]
fn callbot_serve_starts_answers_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = callbot()
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let healthy = runtime.block_on(async {
        for _ in 0..200 {
            if let Ok(response) = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await {
                return response.status() == 200;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    });
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(healthy, "the server never answered /healthz");
    assert!(status.success(), "exit status {status:?}");
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(stdout.contains("embedded mode"), "{stdout}");
}

#[test]
fn callbot_migrate_creates_the_embedded_database() {
    let dir = tempfile::tempdir().unwrap();
    assert_succeeded(&run_on(dir.path(), &["migrate"]));
    assert!(dir.path().join("callbot.db").exists());
}
