#!/usr/bin/env bash
# The API against its own OpenAPI document, for real: starts `callbot serve` (embedded: SQLite,
# in-process bus, sandbox providers) on a free loopback port, signs a user up, and
#   1. runs schemathesis (PyPI, pinned) over every operation with that user's token: no 5xx, and
#      every status code, content type, header and body must be the ones the document declares;
#   2. opens /docs in headless Chromium with every non-loopback request refused and checks the
#      page shows the API title and its operations (tests/browser/docs.mjs, playwright-core).
# Any failure fails the script. Called by .ci/run after the test suite; runnable on its own:
#   bash .ci/contract.sh            (builds target/debug/callbot if it is missing)
#
# What schemathesis does not exercise, and why:
#   - the status stream (GET campaigns/{id}/status) is only ever hit for campaigns that do not exist
#     (ids are generated), so it answers 404; its open `text/event-stream` body is covered by
#     tests/tests/api_status.rs, which speaks SSE;
#   - GET /twilio/media is a WebSocket: schemathesis checks the refusal of plain HTTP requests
#     (documented 400/426); the socket itself is covered by the media bridge tests;
#   - the Twilio webhooks need X-Twilio-Signature: generated requests are refused with 403 (as
#     documented); signed traffic is covered by tests/tests/api_twilio.rs and the end-to-end campaign;
#   - logout, password change and session revocation end the token the run uses, so they run last,
#     in a second pass with a token of their own.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES="${CONTRACT_MAX_EXAMPLES:-10}"
target_dir="${CARGO_TARGET_DIR:-target}"
bin="$target_dir/debug/callbot"

step() { printf '\n=== %s\n' "$*"; }
fail() { printf '\nCONTRACT CHECK FAILED: %s\n' "$*" >&2; exit 1; }

step "contract: build and tools"
[ -x "$bin" ] || cargo build --locked -p callbot --bin callbot
venv="$target_dir/contract-venv"
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$venv/bin/st" --version
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
[ -x /usr/bin/chromium ] || fail "chromium did not install"
# Hangul in the browser's screenshots needs a Korean system font (the pages use the visitor's own).
if ! fc-list :lang=ko 2>/dev/null | grep -q .; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-nanum >/dev/null
fi
fc-list :lang=ko | grep -q . || fail "no Korean font for the browser"
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

# shellcheck source=serve.sh
. .ci/serve.sh
work="$(mktemp -d)"
trap 'stop_server; rm -rf "$work"' EXIT

# The documented limits (100/min per user, 30/min per IP for sign-in) would turn most of the run
# into 429s; the run raises them (429 itself stays documented on every operation).
serve_in "$work" RATE_LIMIT_SCALE=1000 SANDBOX_SPEED=50
step "contract: server on $base"

# A user of the run, signed in; prints the access token.
token_for() {
    local email="$1" body
    body="{\"email\":\"$email\",\"password\":\"contract-run-1\"}"
    curl -fsS -X POST "$base/api/v1/auth/register" -H 'content-type: application/json' -d "$body" >/dev/null
    curl -fsS -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' -d "$body" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["accessToken"])'
}
token="$(token_for contract@example.com)" || fail "could not sign up and log in"
session_token="$(token_for contract-sessions@example.com)" || fail "could not sign up and log in"

checks="not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"
session_ops='^/api/v1/auth/(logout|password|sessions/\{id\})$'
run_schemathesis() {
    local name="$1" bearer="$2"
    shift 2
    "$venv/bin/st" run "$base/openapi.json" \
        --checks "$checks" \
        --phases examples,coverage,fuzzing \
        --max-examples "$MAX_EXAMPLES" \
        --seed 1 \
        --workers 2 \
        --request-timeout 20 \
        --suppress-health-check all \
        --header "Authorization: Bearer $bearer" \
        --report junit --report-dir "$work/report-$name" \
        "$@"
}

step "contract: schemathesis, every operation but the session-ending ones"
status=0
run_schemathesis main "$token" --exclude-path-regex "$session_ops" || status=$?
step "contract: schemathesis, logout / password / session revocation"
run_schemathesis sessions "$session_token" --include-path-regex "$session_ops" || status=$?
if grep -q ' 5[0-9][0-9] \|panicked' "$work/server.log"; then
    grep ' 5[0-9][0-9] \|panicked\|ERROR' "$work/server.log" | head -20 >&2
fi
[ "$status" -eq 0 ] || { tail -50 "$work/server.log" >&2; fail "schemathesis found responses that break the document"; }

step "contract: /docs in headless Chromium, offline"
screenshot="${DOCS_SCREENSHOT:-$target_dir/docs-page.png}"
node tests/browser/docs.mjs "$base" "$screenshot" || fail "the docs page did not render offline"

step "web app: the owner's whole path in headless Chromium, desktop and 390x844 (tests/browser/webapp.mjs)"
artifacts="${BROWSER_ARTIFACTS:-$target_dir/browser-artifacts}"
node tests/browser/webapp.mjs "$base" "$artifacts" || fail "the web app flow failed (screenshots in $artifacts)"

stop_server
step "contract: passed"
