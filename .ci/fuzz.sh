#!/usr/bin/env bash
# Fuzz the parsers of outside input (fuzz/): build every target once, run each for a bounded
# time from the committed seeds, print how many inputs each ran, and fail on any crash (the
# input is left under fuzz/artifacts/<target>/ and becomes a regression test).
#   FUZZ_SECONDS  seconds per target (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"
targets=(contacts_csv phone twilio_form twiml media_streams agent_frames frames)

# cargo-fuzz passes nightly-only flags: nightly when installed, else the stable compiler told
# to accept them (no toolchain download needed).
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=+nightly
else
    toolchain=+stable
    export RUSTC_BOOTSTRAP=1
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

cd fuzz
# The fuzz crate has its own target dir: its flags and toolchain differ from the workspace's.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/target}"
# No sanitizer: our crates forbid `unsafe`, so what fuzzing finds is panics, failed assertions
# and overflows (debug assertions stay on), and the build and each run are about twice as fast.
cargo "$toolchain" fuzz build --release --sanitizer none >/dev/null

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
printf '%-16s %14s %s\n' target executions result
for target in "${targets[@]}"; do
    mkdir -p "$work/$target" "seeds/$target"
    log="$work/$target.log"
    if cargo "$toolchain" fuzz run --release --sanitizer none "$target" "$work/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 -max_len=8192 -rss_limit_mb=1024 \
        >"$log" 2>&1; then
        result="✓"
    else
        result="✗ crash: see fuzz/artifacts/$target/"
        failed=1
        tail -n 40 "$log" >&2
    fi
    runs="$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)"
    printf '%-16s %14s %s\n' "$target" "${runs:-?}" "$result"
done
exit "$failed"
