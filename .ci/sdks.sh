#!/usr/bin/env bash
# The official SDKs against the stand-ins (issue 18): installs pinned twilio, elevenlabs and
# openai into a throwaway virtualenv, starts `callbot sandbox` (speed 20) on free loopback ports,
# reads the environment it prints, and runs .ci/sdks.py, whose checks print ✓/✗; any ✗, a
# missing package or a sandbox that never prints its environment fails the script.
#   bash .ci/sdks.sh            (builds target/debug/callbot if it is missing)
set -euo pipefail
cd "$(dirname "$0")/.."

TWILIO_VERSION=9.13.0
ELEVENLABS_VERSION=2.78.0
OPENAI_VERSION=3.57.0

target_dir="${CARGO_TARGET_DIR:-target}"
bin="$target_dir/debug/callbot"
[ -x "$bin" ] || cargo build --locked -p callbot --bin callbot

# shellcheck source=serve.sh
. .ci/serve.sh

work="$(mktemp -d)"
sandbox=""
stop() {
    stop_pid "$sandbox"
    rm -rf "$work"
}
trap stop EXIT

if ! python3 -m venv "$work/venv"; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$work/venv"
    python3 -m venv "$work/venv" || { echo "python3 -m venv does not work even with python3-venv" >&2; exit 1; }
fi
"$work/venv/bin/pip" install --quiet --disable-pip-version-check \
    "twilio==$TWILIO_VERSION" "elevenlabs==$ELEVENLABS_VERSION" "openai==$OPENAI_VERSION" \
    'pydantic>=2,<3' 'websockets>=13' 'httpx>=0.27'
"$work/venv/bin/python" -c 'import twilio, elevenlabs, openai; print("twilio", twilio.__version__, "| openai", openai.__version__)'

RUST_LOG=warn "$bin" sandbox --speed 20 >"$work/sandbox.env" 2>"$work/sandbox.log" &
sandbox=$!
for _ in $(seq 1 100); do
    [ "$(grep -c '=' "$work/sandbox.env" 2>/dev/null)" -ge 9 ] && break
    kill -0 "$sandbox" 2>/dev/null || break
    sleep 0.1
done
if [ "$(grep -c '=' "$work/sandbox.env" 2>/dev/null)" -lt 9 ]; then
    cat "$work/sandbox.env" "$work/sandbox.log" >&2
    echo "callbot sandbox did not print its environment" >&2
    exit 1
fi
printf '=== SDKs: callbot sandbox\n'
cat "$work/sandbox.env"

set -a
# shellcheck disable=SC1091
. "$work/sandbox.env"
set +a
if "$work/venv/bin/python" .ci/sdks.py; then
    printf '\nSDKS PASSED\n'
else
    kill -0 "$sandbox" 2>/dev/null || { echo "the sandbox died:" >&2; tail -n 50 "$work/sandbox.log" >&2; }
    printf '\nSDKS FAILED (a ✗ above)\n' >&2
    exit 1
fi
