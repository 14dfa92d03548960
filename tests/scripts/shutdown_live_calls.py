#!/usr/bin/env python3
"""How long `callbot serve` takes to stop with live calls (issue 18).

    python3 tests/scripts/shutdown_live_calls.py target/release/callbot [ACCOUNTS]

Starts the binary (SQLite, sandbox providers in real time, SHUTDOWN_GRACE_SECONDS=10), signs up
ACCOUNTS accounts (default 8), each with a campaign of five contacts, starts them, waits until
four calls per account are in progress (the dialer holds an account to five at a time), sends
SIGTERM and prints how long the process took to exit. Standard library only.
"""
import json, os, socket, subprocess, sys, tempfile, time, urllib.request, signal
binary = sys.argv[1]; accounts = int(sys.argv[2]) if len(sys.argv) > 2 else 8
with socket.socket() as p:
    p.bind(("127.0.0.1", 0)); port = p.getsockname()[1]
base = f"http://127.0.0.1:{port}"; api = base + "/api/v1"
work = tempfile.mkdtemp(prefix="shutdown-")
env = dict(os.environ, RUST_LOG="warn", RATE_LIMIT_SCALE="1000", SANDBOX_SPEED="1", SHUTDOWN_GRACE_SECONDS="10", PUBLIC_BASE_URL="https://callbot.example")
server = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}", "--data-dir", f"{work}/data"], env=env, stdout=subprocess.DEVNULL, stderr=open(f"{work}/server.log", "w"))
def call(method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token: headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(api + path, data=json.dumps(body).encode() if body is not None else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r: return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e: return e.code, e.read().decode()
for _ in range(240):
    try: urllib.request.urlopen(base + "/readyz", timeout=2); break
    except OSError: time.sleep(0.5)
ids = []
for a in range(accounts):
    cred = {"email": f"s{a}@clinic.kr", "password": "password123"}
    assert call("POST", "/auth/register", cred)[0] == 201
    s, b = call("POST", "/auth/login", cred); token = b["data"]["accessToken"]
    assert call("PUT", "/settings", {"businessName": "행복치과", "businessPhone": "02-555-0100"}, token)[0] == 200
    script = {"greeting": "안녕하세요.", "purpose": "예약 확인", "mainFlow": [{"step": 1, "action": "예약 확인", "expectedResponses": [], "nextStep": {"positive": None, "negative": None}}], "closing": "감사합니다.", "variables": []}
    s, b = call("POST", "/scripts", {"name": "s", "naturalInput": "", "generatedScript": script}, token); assert s == 201, b
    sid = b["data"]["id"]
    contacts = [{"phoneNumber": f"010-73{a:02}-{n:04}"} for n in range(5)]
    s, b = call("POST", "/campaigns", {"name": f"c{a}", "scriptId": sid, "contacts": contacts, "settings": {"callWindow": {"start": "00:00", "end": "24:00"}}}, token); assert s == 201, b
    cid = b["data"]["id"]
    s, b = call("POST", f"/campaigns/{cid}/start", None, token); assert s == 200, b
    ids.append((token, cid))
deadline = time.time() + 120
while time.time() < deadline:
    live = 0
    for token, cid in ids:
        s, b = call("GET", f"/campaigns/{cid}/calls?pageSize=100", None, token)
        live += sum(1 for c in b["data"]["items"] if c["status"] == "IN_PROGRESS")
    if live >= accounts * 4: break
    time.sleep(0.5)
print(f"live calls at SIGTERM: {live}")
started = time.monotonic(); server.send_signal(signal.SIGTERM); server.wait()
print(f"exited {server.returncode} after {time.monotonic() - started:.2f} s (grace 10 s)")
