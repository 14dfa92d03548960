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

/// Each load binary with the small arguments it runs with here.
const BENCHES: [(&str, &[&str]); 7] = [
    (env!("CARGO_BIN_EXE_store-bench"), &["200"]),
    (env!("CARGO_BIN_EXE_import-bench"), &["200", "1"]),
    (env!("CARGO_BIN_EXE_dialer-bench"), &["200"]),
    (env!("CARGO_BIN_EXE_script-bench"), &["3"]),
    (env!("CARGO_BIN_EXE_sse-bench"), &["5", "3"]),
    (
        env!("CARGO_BIN_EXE_bridge-bench"),
        &["--calls", "3", "--speed", "20"],
    ),
    (env!("CARGO_BIN_EXE_report-bench"), &["50", "1"]),
];

#[test]
fn every_load_binary_runs_small() {
    for (bin, args) in BENCHES {
        runs_small(bin, args);
    }
}
