#!/usr/bin/env bash
# The security probe of issue 17 as a CI check: starts `callbot serve` (embedded: SQLite,
# in-process bus, sandbox providers) on a free loopback port with a temporary data dir and the
# documented defaults (rate limits, timeouts, socket caps), then replays the probe's attacks from
# outside the process (.ci/probe.py): oversized media frames before start, slow headers, slow
# bodies and silent connections, CSV formula names in a report, the password-change lockout,
# caller id `<script>`, unknown time zones, lookalike and NUL emails, huge names and arrays,
# X-Forwarded-For spoofing, /metrics without its token, logout when rate-limited, the security
# headers, and the modes of the data files. Each check prints ✓/✗; any ✗ fails the script.
#   bash .ci/probe.sh            (builds target/debug/callbot if it is missing)
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
bin="$target_dir/debug/callbot"
[ -x "$bin" ] || cargo build --locked -p callbot --bin callbot

# shellcheck source=serve.sh
. .ci/serve.sh
work="$(mktemp -d)"
trap 'stop_server; rm -rf "$work"' EXIT

metrics_token="probe-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
serve_in "$work" METRICS_TOKEN="$metrics_token"
printf '=== probe: server on %s\n' "$base"

if python3 .ci/probe.py "$base" "$server" "$work/data" "$metrics_token"; then
    printf '\nPROBE PASSED\n'
else
    kill -0 "$server" 2>/dev/null || { echo "the server died during the probe:" >&2; tail -n 50 "$work/server.log" >&2; }
    printf '\nPROBE FAILED (a ✗ above)\n' >&2
    exit 1
fi
