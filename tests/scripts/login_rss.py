#!/usr/bin/env python3
"""Resident memory of a `callbot serve` process after bursts of sign-ups and logins (issue 18).

    python3 tests/scripts/login_rss.py target/release/callbot [10 40 100]

Starts the binary (SQLite, sandbox providers, rate limits raised) on a free port in a temporary
data dir, then for each total N signs up and logs in as many new accounts as reach N, all at
once (one thread each, as a burst of browsers would), and prints VmRSS right after the burst
and once the process has been idle for SETTLE seconds. Idle RSS first. Exits non-zero if any
request failed. Standard library only.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SETTLE = 15


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def post(base, path, body):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status


def main():
    binary = sys.argv[1]
    totals = [int(n) for n in sys.argv[2:]] or [10, 40, 100]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    work = tempfile.mkdtemp(prefix="login-rss-")
    env = dict(os.environ, RUST_LOG="warn", RATE_LIMIT_SCALE="1000")
    server = subprocess.Popen(
        [binary, "serve", "--bind", f"127.0.0.1:{port}", "--data-dir", f"{work}/data"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(f"{work}/server.log", "w"),
    )
    failures = []
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(base + "/readyz", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"not ready; see {work}/server.log")
        time.sleep(SETTLE)
        print(f"idle: {rss_mib(server.pid):.0f} MiB")
        done = 0
        for total in totals:
            def account(i):
                email = f"rss{i}@clinic.kr"
                body = {"email": email, "password": "password123"}
                try:
                    if post(base, "/api/v1/auth/register", body) != 201:
                        failures.append(f"register {email}")
                    if post(base, "/api/v1/auth/login", body) != 200:
                        failures.append(f"login {email}")
                except OSError as error:
                    failures.append(f"{email}: {error}")

            threads = [threading.Thread(target=account, args=(i,)) for i in range(done, total)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            took = time.monotonic() - started
            burst = rss_mib(server.pid)
            time.sleep(SETTLE)
            settled = rss_mib(server.pid)
            print(
                f"after {total} accounts: {burst:.0f} MiB right after the burst "
                f"({total - done} sign-ups + logins in {took:.1f} s), {settled:.0f} MiB {SETTLE} s later"
            )
            done = total
    finally:
        server.terminate()
        server.wait()
    if failures:
        print("failed:", *failures[:10], sep="\n  ")
        sys.exit(1)


if __name__ == "__main__":
    main()
