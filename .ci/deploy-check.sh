#!/usr/bin/env bash
# The deployment guide's configurations, checked by each tool's own validator: nginx -t, the
# NATS server's -t, Postgres reading its settings file (postgres -C), systemd-analyze verify.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy=docs/deploy
fail() { printf '\nDEPLOY CHECK FAILED: %s\n' "$*" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

if ! command -v nginx >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
fi
command -v nginx >/dev/null || fail "nginx did not install"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=calls.example.com \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
sed -e "s#/etc/letsencrypt/live/calls.example.com/fullchain.pem#$tmp/cert.pem#" \
    -e "s#/etc/letsencrypt/live/calls.example.com/privkey.pem#$tmp/key.pem#" \
    "$deploy/nginx.conf" > "$tmp/callbot.conf"
printf 'pid %s/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n    include %s/callbot.conf;\n}\n' \
    "$tmp" "$tmp" > "$tmp/nginx-main.conf"
nginx -t -q -c "$tmp/nginx-main.conf" -p "$tmp" || fail "nginx -t refused $deploy/nginx.conf"
echo "nginx.conf: nginx -t ok"

nats="${NATS_SERVER_BIN:-nats-server}"
out="$("$nats" -c "$deploy/nats.conf" -t 2>&1)" || fail "nats-server -t refused $deploy/nats.conf: $out"
echo "nats.conf: nats-server -t ok"

pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
[ -x "$pgbin/initdb" ] || fail "no Postgres server binaries under /usr/lib/postgresql"
install -d -o postgres "$tmp/pg"
runuser -u postgres -- "$pgbin/initdb" -D "$tmp/pg/data" -A trust >/dev/null
install -o postgres -m 0644 "$deploy/postgresql.conf" "$tmp/pg/callbot.conf"
echo "include '$tmp/pg/callbot.conf'" >> "$tmp/pg/data/postgresql.conf"
runuser -u postgres -- "$pgbin/postgres" -D "$tmp/pg/data" -C shared_buffers >/dev/null \
    || fail "Postgres refused $deploy/postgresql.conf"
echo "postgresql.conf: postgres -C ok"

# systemd-analyze only warns about a bad line, so any output is a failure; the unit's binary
# must exist for it, so a stand-in executable takes its path.
install -d "$tmp/units"
sed "s#/usr/local/bin/callbot#/bin/true#g" "$deploy/callbot@.service" > "$tmp/units/callbot@.service"
for role in api bridge projector dialer; do
    cp "$tmp/units/callbot@.service" "$tmp/units/callbot@$role.service"
    out="$(cd "$tmp/units" && systemd-analyze verify --man=no "./callbot@$role.service" 2>&1)" \
        || fail "systemd-analyze verify callbot@$role: $out"
    [ -z "$out" ] || fail "systemd-analyze verify callbot@$role: $out"
done
echo "callbot@.service: systemd-analyze verify ok (api, bridge, projector, dialer)"
