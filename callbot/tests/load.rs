//! `callbot load` run small, as CI runs it: 20 calls streaming for 5 s against a debug build of
//! this very binary as the child server, on embedded SQLite. Every call must get frames back and
//! no frame may be dropped or misrouted; the times are reported, never asserted.

mod common;

use serde_json::Value;

#[test]
fn twenty_calls_for_five_seconds_drop_no_frame() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let output = common::callbot()
        .args(["load", "--calls", "20", "--seconds", "5", "--speed", "20"])
        .arg("--json")
        .arg(&json)
        .arg("--server-log")
        .arg(dir.path().join("server.log"))
        .output()
        .expect("callbot load starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "callbot load failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("round trip (ms)"), "the table: {stdout}");

    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["calls"], 20, "{report:#}");
    assert_eq!(report["calls_with_frames"], 20, "{report:#}");
    assert_eq!(report["calls_without_stream"], 0, "{report:#}");
    let frames = &report["frames"];
    assert_eq!(frames["dropped"], 0, "{report:#}");
    assert_eq!(frames["misrouted"], 0, "{report:#}");
    let sent = frames["sent"].as_u64().unwrap();
    // 20 calls × 5 s of 20 ms frames, give or take the frames a busy machine sends late.
    assert!(sent > 20 * 100, "{report:#}");
    assert_eq!(frames["echoed"].as_u64(), Some(sent), "{report:#}");
    assert_eq!(
        report["round_trip_ms"]["count"].as_u64(),
        Some(sent),
        "{report:#}"
    );
    // Every call streamed together for most of the 5 s: most frames fall in the steady window.
    let steady = report["round_trip_steady_ms"]["count"].as_u64().unwrap();
    assert!(steady > 0 && steady <= sent, "{report:#}");
    assert!(report["dial_path_ms"].is_number(), "{report:#}");
    let server = &report["server"];
    assert!(
        server["rss_before_mib"].as_f64().unwrap() > 0.0,
        "{report:#}"
    );
    // The process was sampled while every call streamed (5 s of it), not only at the peak.
    assert!(
        server["rss_streaming_mib"].as_f64().unwrap() > 0.0,
        "{report:#}"
    );
    assert!(
        server["cpu_percent_of_core_per_call"].as_f64().unwrap() > 0.0,
        "{report:#}"
    );
    assert!(server["shutdown_seconds"].is_number(), "{report:#}");
    // A clean run logs no error (`/readyz` answering 503 while the server starts is no error).
    assert_eq!(server["log"]["errors"], 0, "{report:#}");
    assert!(
        report["problems"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
}

/// `--compare` measures another bridge started by a command; one that never listens is named
/// in a clear error, not waited on for ever.
#[test]
fn a_compared_bridge_that_exits_is_reported() {
    let output = common::callbot()
        .args([
            "load",
            "--calls",
            "1",
            "--seconds",
            "1",
            "--compare",
            "exit 3",
        ])
        .output()
        .expect("callbot load starts");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("exited"), "{stderr}");
}
