# Sourced by the CI scripts that check a running server (contract.sh, probe.sh): one embedded
# `callbot serve` (SQLite, in-process bus, sandbox providers) on a free loopback port; sdks.sh
# sources it for stop_pid.
#   serve_in WORK [VAR=value ...]   starts "$bin" serve with those variables, its data in
#                                   WORK/data and its log in WORK/server.log; sets $server (the
#                                   pid) and $base; returns once /readyz answers, exits 1 if never
#   stop_server                     stops it (call it from the caller's EXIT trap)
#   stop_pid PID                    stops any background process of the caller and waits for it
# The umask would leave files world-readable, as on many hosts: the server must not rely on it.

server=""
base=""

stop_pid() {
    if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
        kill "$1"
        wait "$1" 2>/dev/null || true
    fi
}

stop_server() {
    stop_pid "$server"
    server=""
}

serve_in() {
    local work="$1" port attempt
    shift
    # A free port can be taken by someone else before the server binds it: try another then.
    for attempt in 1 2 3; do
        port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
        base="http://127.0.0.1:$port"
        (umask 022 && exec env RUST_LOG=warn "$@" "$bin" serve --bind "127.0.0.1:$port" \
            --data-dir "$work/data") >"$work/server.log" 2>&1 &
        server=$!
        for _ in $(seq 1 120); do
            curl -fsS "$base/readyz" >/dev/null 2>&1 && return 0
            kill -0 "$server" 2>/dev/null || break
            sleep 0.5
        done
        grep -q "Address already in use" "$work/server.log" || break
        printf 'port %s was taken (try %s); another one\n' "$port" "$attempt" >&2
    done
    cat "$work/server.log" >&2
    printf 'the server at %s is not ready\n' "$base" >&2
    exit 1
}
