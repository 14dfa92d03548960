//! Every load binary runs small, so none can rot (issue 18): each is started with small
//! arguments and must finish successfully and print its figures. The numbers themselves are for
//! people (README, Performance); nothing here asserts a time.

use std::process::Command;

fn runs_small(bin: &str, args: &[&str]) {
    let output = Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("starting {bin}: {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{bin} {args:?} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        !stdout.trim().is_empty(),
        "{bin} {args:?} printed nothing:\n{stderr}"
    );
}

#[test]
fn store_bench_runs_small() {
    runs_small(env!("CARGO_BIN_EXE_store-bench"), &["200"]);
}

#[test]
fn import_bench_runs_small() {
    runs_small(env!("CARGO_BIN_EXE_import-bench"), &["200", "1"]);
}

#[test]
fn dialer_bench_runs_small() {
    runs_small(env!("CARGO_BIN_EXE_dialer-bench"), &["200"]);
}

#[test]
fn script_bench_runs_small() {
    runs_small(env!("CARGO_BIN_EXE_script-bench"), &["3"]);
}

#[test]
fn sse_bench_runs_small() {
    runs_small(env!("CARGO_BIN_EXE_sse-bench"), &["5", "3"]);
}

#[test]
fn bridge_bench_runs_small() {
    runs_small(
        env!("CARGO_BIN_EXE_bridge-bench"),
        &["--calls", "3", "--speed", "20"],
    );
}

#[test]
fn report_bench_runs_small() {
    runs_small(env!("CARGO_BIN_EXE_report-bench"), &["50", "1"]);
}
