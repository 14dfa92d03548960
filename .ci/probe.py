#!/usr/bin/env python3
"""The black-box security probe of issue 17, replayed against a running `callbot serve`.

Usage: probe.py BASE_URL SERVER_PID DATA_DIR METRICS_TOKEN

Speaks to the server only over its sockets (plus /proc for its memory and open files, and the
data dir for file modes), the way an outside attacker or a local user would. Each check prints
✓ or ✗ with what it saw; the exit status is 1 if any check failed. The slow checks (a byte per
second) run in threads beside the others, so the whole run takes about as long as the longest
of them (the body timeout, 60 s by default).
"""

import csv
import http.client
import io
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid

BASE, PID, DATA_DIR, METRICS_TOKEN = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
HOST, PORT = urllib.parse.urlsplit(BASE).hostname, urllib.parse.urlsplit(BASE).port
PASSWORD = "probe-pass-1"

# What `request` answers when the server closed the connection before answering.
CUT_OFF = "closed while sending"

results = []
results_lock = threading.Lock()


def report(name, ok, detail=""):
    with results_lock:
        results.append((name, ok))
        mark = "✓" if ok else "✗"
        print(f"{mark} {name}" + (f" — {detail}" if detail else ""), flush=True)


def check(name):
    """Runs the decorated function as a check; an exception is a failure with its text."""

    def wrap(function):
        def run(*args):
            try:
                ok, detail = function(*args)
            except Exception as error:  # a check that cannot even run has failed
                ok, detail = False, f"{type(error).__name__}: {error}"
            report(name, ok, detail)

        run.check_name = name
        return run

    return wrap


# ---------------------------------------------------------------- HTTP helpers


def request(method, path, body=None, token=None, headers=None, raw=None):
    """One request on a fresh connection; returns (status, headers, parsed JSON or bytes)."""
    connection = http.client.HTTPConnection(HOST, PORT, timeout=60)
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    try:
        connection.request(method, path, body=data, headers=all_headers)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered (a refusal) and closed before reading everything
    try:
        response = connection.getresponse()
    except (ConnectionError, http.client.HTTPException):
        connection.close()
        return CUT_OFF, {}, None
    payload = response.read()
    connection.close()
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = payload
    return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed


def code_of(body):
    if isinstance(body, dict):
        return (body.get("error") or {}).get("code")
    return None


def register(email):
    return request("POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD})


def login(email, password=PASSWORD, headers=None):
    return request(
        "POST", "/api/v1/auth/login", {"email": email, "password": password}, headers=headers
    )


def signed_up(email):
    status, _, body = register(email)
    assert status == 201, f"sign-up of {email}: {status} {body}"
    status, _, body = login(email)
    assert status == 200, f"sign-in of {email}: {status} {body}"
    return body["data"]["accessToken"]


SCRIPT = {
    "name": "probe",
    "naturalInput": "내일 오후 예약을 확인하는 전화입니다",
    "generatedScript": {
        "greeting": "안녕하세요, {customerName}님.",
        "purpose": "예약 확인",
        "mainFlow": [{"step": 1, "action": "예약을 확인합니다."}],
        "closing": "감사합니다.",
        "variables": ["customerName"],
    },
}


def new_script(token):
    status, _, body = request("POST", "/api/v1/scripts", SCRIPT, token=token)
    assert status in (200, 201), f"saving a script: {status} {body}"
    return body["data"]["scriptId"] if "scriptId" in body["data"] else body["data"]["id"]


def rss_kib():
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_files():
    return len(os.listdir(f"/proc/{PID}/fd"))


# ---------------------------------------------------------------- raw sockets


def connect():
    return socket.create_connection((HOST, PORT), timeout=10)


def websocket(path="/twilio/media"):
    """Opens a WebSocket by hand; returns (socket, status line)."""
    sock = connect()
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{PORT}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return sock, head.split(b"\r\n", 1)[0].decode(errors="replace")


def frame_header(length, opcode=0x1):
    mask = b"\x01\x02\x03\x04"
    if length < 126:
        return bytes([0x80 | opcode, 0x80 | length]) + mask
    if length < 65536:
        return bytes([0x80 | opcode, 0x80 | 126]) + struct.pack(">H", length) + mask
    return bytes([0x80 | opcode, 0x80 | 127]) + struct.pack(">Q", length) + mask


def closed_by_server(sock, limit_seconds):
    """Whether the server closes `sock` within `limit_seconds` (reading whatever it sends)."""
    sock.settimeout(limit_seconds)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def close_code(sock, limit_seconds):
    """The code of the close frame the server sends within `limit_seconds`, or None."""
    sock.settimeout(limit_seconds)
    received = b""
    try:
        while len(received) < 4:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    except (OSError, socket.timeout):
        pass
    if len(received) >= 4 and received[0] == 0x88:
        return struct.unpack(">H", received[2:4])[0]
    return None


def trickle(sock, data, limit_seconds, pace=1.0):
    """Sends `data` a byte per `pace` seconds; True if the server closed the connection within
    `limit_seconds`."""
    deadline = time.monotonic() + limit_seconds
    for byte in data:
        if time.monotonic() > deadline:
            return False
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return True
        sock.settimeout(pace)
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return True
        except socket.timeout:
            pass
        except OSError:
            return True
    return False


# ---------------------------------------------------------------- finding 1: media socket


@check("1 media: 8 sockets sending 16 MiB frames before start do not grow memory")
def media_huge_frames():
    before = rss_kib()
    sockets = []
    for _ in range(8):
        sock, status = websocket()
        assert status.startswith("HTTP/1.1 101"), status
        sockets.append(sock)
    chunk = b"x" * (1 << 20)
    refused = 0
    for sock in sockets:
        try:
            sock.sendall(frame_header(16 << 20))
            for _ in range(16):  # the whole frame, as the attack did
                sock.sendall(chunk)
        except OSError:
            refused += 1  # the server closed the socket instead of reading on
    grown = (rss_kib() - before) // 1024
    closed = sum(closed_by_server(sock, 20) for sock in sockets)
    for sock in sockets:
        sock.close()
    return refused == 8 and closed == 8 and grown < 64, (
        f"{refused}/8 refused before the end of the frame, memory +{grown} MiB"
    )


@check("1 media: a 5 kB message before start closes the socket")
def media_large_before_start():
    sock, status = websocket()
    assert status.startswith("HTTP/1.1 101"), status
    payload = json.dumps(
        {"event": "connected", "protocol": "Call", "version": "1.0.0", "pad": "x" * 5000}
    ).encode()
    masked = bytes(b ^ [1, 2, 3, 4][i % 4] for i, b in enumerate(payload))
    sock.sendall(frame_header(len(payload)) + masked)
    code = close_code(sock, 10)
    sock.close()
    return code == 1009, f"close code {code}"


@check("1 media: unverified sockets are capped per address")
def media_cap():
    sockets, refused = [], None
    for _ in range(80):
        sock, status = websocket()
        sockets.append(sock)
        if not status.startswith("HTTP/1.1 101"):
            refused = status
            break
    for sock in sockets:
        sock.close()
    return refused is not None and " 429" in refused, (
        f"refused after {len(sockets) - 1} with {refused}" if refused else "80 accepted"
    )


# ---------------------------------------------------------------- finding 4: slow clients


@check("4 slowloris: a byte of headers per second is cut off")
def slow_headers():
    sock = connect()
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: y\r\n" * 20 + b"\r\n"
    closed = trickle(sock, head, limit_seconds=45)
    sock.close()
    return closed, "closed by the server" if closed else "still open after 45 s"


@check("4 slow body: a 100 kB body at a byte per second is cut off")
def slow_body():
    sock = connect()
    # The sign-in form: a web route, outside the API's own 30 s request timeout.
    sock.sendall(
        b"POST /login HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
    )
    closed = trickle(sock, b"email=" + b"a" * 99994, limit_seconds=100)
    sock.close()
    return closed, "closed by the server" if closed else "still open after 100 s"


@check("4 half-open: 300 silent connections are closed and their files freed")
def half_open():
    baseline = open_files()
    sockets = [connect() for _ in range(300)]
    closed = sum(closed_by_server(sock, 45) for sock in sockets)
    for sock in sockets:
        sock.close()
    # The server closed them all; its descriptors are back near where they were.
    deadline = time.monotonic() + 10
    while open_files() > baseline + 20 and time.monotonic() < deadline:
        time.sleep(0.2)
    after = open_files()
    return closed == 300 and after <= baseline + 20, (
        f"{closed}/300 closed, open files {baseline} → {after}"
    )


# ---------------------------------------------------------------- the API findings


def campaign_with(token, contacts):
    script = new_script(token)
    status, _, body = request(
        "POST",
        "/api/v1/campaigns",
        {"name": "probe", "scriptId": script, "contacts": contacts},
        token=token,
    )
    assert status == 201, f"creating a campaign: {status} {body}"
    return body["data"]["id"] if "id" in body["data"] else body["data"]["campaignId"]


FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1+1)", "@SUM(A1)", "-2+3"]


@check("2 CSV report: formula-like names are neutralized (JSON and CSV import)")
def csv_formulas(token):
    contacts = [
        {"phoneNumber": f"010-5550-01{10 + i:02}", "name": name} for i, name in enumerate(FORMULAS)
    ]
    campaign = campaign_with(token, contacts)
    csv_body = "이름,전화번호\n" + "".join(
        f'"{name}",010-5550-01{30 + i:02}\n' for i, name in enumerate(FORMULAS)
    )
    status, _, body = request(
        "POST",
        f"/api/v1/campaigns/{campaign}/contacts/import",
        raw=csv_body.encode(),
        token=token,
        headers={"Content-Type": "text/csv"},
    )
    assert status == 200, f"CSV import: {status} {body}"
    status, _, body = request(
        "POST", f"/api/v1/campaigns/{campaign}/report", {"format": "csv"}, token=token
    )
    assert status == 200, f"report: {status} {body}"
    link = urllib.parse.urlsplit(body["data"]["downloadUrl"])
    status, _, report_bytes = request("GET", f"{link.path}?{link.query}")
    assert status == 200, f"download: {status}"
    text = report_bytes.decode("utf-8-sig") if isinstance(report_bytes, bytes) else str(report_bytes)
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    raw = [cell for cell in cells if cell in FORMULAS]
    escaped = sum(cells.count("'" + name) for name in FORMULAS)
    return not raw and escaped == 2 * len(FORMULAS), (
        f"{escaped} names escaped, as typed: {raw[:4]}"
    )


@check("3 password change: wrong current passwords lock the account")
def password_lockout():
    email = f"lock-{uuid.uuid4().hex[:8]}@probe.kr"
    token = signed_up(email)
    answers = []
    for _ in range(6):
        status, _, body = request(
            "POST",
            "/api/v1/auth/password",
            {"currentPassword": "wrong-pass-9", "newPassword": "new-pass-12"},
            token=token,
        )
        answers.append(status)
    status, _, body = login(email)
    return status == 423 and code_of(body) == "ACCOUNT_LOCKED", (
        f"changes answered {answers}; sign-in then {status} {code_of(body)}"
    )


@check("5 caller id: '<script>' is refused in campaign settings and defaults")
def caller_id(token):
    script = new_script(token)
    status, _, body = request(
        "POST",
        "/api/v1/campaigns",
        {"name": "probe", "scriptId": script, "settings": {"callerId": "<script>"}},
        token=token,
    )
    status_defaults, _, body_defaults = request(
        "PUT", "/api/v1/settings", {"campaignDefaults": {"callerId": "<script>"}}, token=token
    )
    return status == 400 and status_defaults == 400, (
        f"campaign {status} {code_of(body)}, defaults {status_defaults} {code_of(body_defaults)}"
    )


@check("6 time zones: unknown names are refused")
def time_zones(token):
    script = new_script(token)
    answers = {}
    for zone in ["Mars/Olympus", "../../../etc/passwd", "+09:00"]:
        window = {"start": "09:00", "end": "20:00", "timezone": zone}
        status, _, _ = request(
            "POST",
            "/api/v1/campaigns",
            {"name": "probe", "scriptId": script, "settings": {"callWindow": window}},
            token=token,
        )
        defaults, _, _ = request(
            "PUT", "/api/v1/settings", {"campaignDefaults": {"callWindow": window}}, token=token
        )
        answers[zone] = (status, defaults)
    ok = all(pair == (400, 400) for pair in answers.values())
    return ok, str(answers)


@check("8 files: data dir 0700, database and secrets 0600")
def file_modes():
    wrong = []

    def expect(path, mode):
        if os.path.exists(path):
            actual = os.stat(path).st_mode & 0o777
            if actual != mode:
                wrong.append(f"{os.path.basename(path)} {oct(actual)}")
        elif not path.endswith(("-wal", "-shm")):
            wrong.append(f"{os.path.basename(path)} missing")

    expect(DATA_DIR, 0o700)
    for name in ["callbot.db", "callbot.db-wal", "callbot.db-shm"]:
        expect(os.path.join(DATA_DIR, name), 0o600)
    expect(os.path.join(DATA_DIR, "secrets"), 0o700)
    for name in ["JWT_SECRET", "RECORDING_KEY"]:
        expect(os.path.join(DATA_DIR, "secrets", name), 0o600)
    return not wrong, ", ".join(wrong) or "all private"


@check("9 headers: nosniff everywhere, CSP and frame refusal on /docs, no-store on sign-in and /me")
def headers(token):
    missing = []
    for path in ["/healthz", "/api/v1/me", "/docs/"]:
        status, found, _ = request("GET", path, token=token)
        if found.get("x-content-type-options") != "nosniff":
            missing.append(f"{path} nosniff")
    _, docs, _ = request("GET", "/docs/")
    if "content-security-policy" not in docs:
        missing.append("/docs CSP")
    if "x-frame-options" not in docs and "frame-ancestors" not in docs.get(
        "content-security-policy", ""
    ):
        missing.append("/docs frame refusal")
    _, me, _ = request("GET", "/api/v1/me", token=token)
    if "no-store" not in me.get("cache-control", ""):
        missing.append("/me no-store")
    _, signed_in, _ = login("nobody@probe.kr", "wrong-pass-1")
    if "no-store" not in signed_in.get("cache-control", ""):
        missing.append("login no-store")
    return not missing, ", ".join(missing) or "all present"


@check("10 limits: huge names, arrays and texts are refused")
def limits(token):
    script = new_script(token)
    answers = {}

    def campaign(settings=None, contacts=None):
        body = {"name": "probe", "scriptId": script}
        if settings is not None:
            body["settings"] = settings
        if contacts is not None:
            body["contacts"] = contacts
        status, _, answer = request("POST", "/api/v1/campaigns", body, token=token)
        # Refused for its size, not for something else.
        return status if code_of(answer) != "INVALID_PHONE" else f"{status} INVALID_PHONE"

    def with_code(answer):
        status, _, body = answer
        return status if status in (400, 413) else f"{status} {code_of(body)}"

    answers["900k-char name"] = campaign(
        contacts=[{"phoneNumber": "010-5550-0101", "name": "가" * 900_000}]
    )
    answers["12,000 contacts"] = campaign(
        contacts=[{"phoneNumber": f"+82105{n:07d}"} for n in range(12_000)]
    )
    answers["10,000 retry intervals"] = campaign(
        settings={"retry": {"maxRetries": 3, "intervalsSeconds": [60] * 10_000}}
    )
    answers["50,000-char voicemail"] = campaign(
        settings={"voicemail": {"action": "leave_message", "message": "x" * 50_000}}
    )
    answers["100 kB suppression reason"] = with_code(
        request(
            "POST",
            "/api/v1/suppressions",
            {"phoneNumber": "010-5550-0199", "reason": "x" * 100_000},
            token=token,
        )
    )
    ok = all(status in (400, 413, CUT_OFF) for status in answers.values())
    return ok, str(answers)


@check("11 emails: lookalikes are the same account, NUL and markup refused")
def emails():
    base = f"case{uuid.uuid4().hex[:6]}"
    signed_up(f"{base}@x.kr")
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in base) + "@x.kr"
    long_s = base.replace("s", "ſ") + "@x.kr"
    answers = {
        "fullwidth": register(fullwidth)[0],
        "long s": register(long_s)[0] if "s" in base else 409,
        "NUL": register(f"{base}\u0000x@x.kr")[0],
        "markup": register(f"<b>{base}</b>@x.kr")[0],
    }
    ok = (
        answers["fullwidth"] == 409
        and answers["long s"] == 409
        and answers["NUL"] == 400
        and answers["markup"] == 400
    )
    return ok, str(answers)


@check("12 logout works when the account is rate-limited")
def logout_when_limited():
    token = signed_up(f"busy-{uuid.uuid4().hex[:8]}@probe.kr")
    limited = False
    for _ in range(150):
        if request("GET", "/api/v1/me", token=token)[0] == 429:
            limited = True
            break
    status, _, _ = request("POST", "/api/v1/auth/logout", token=token)
    return limited and status == 204, f"rate-limited: {limited}, logout {status}"


@check("13 X-Forwarded-For is ignored without TRUSTED_PROXIES")
def forwarded_for():
    statuses = []
    for n in range(45):
        status, _, _ = login(
            f"nobody{n}@probe.kr", "wrong-pass-1", headers={"X-Forwarded-For": f"198.51.100.{n}"}
        )
        statuses.append(status)
        if status == 429:
            break
    return statuses[-1] == 429, f"{len(statuses)} sign-ins, the last {statuses[-1]}"


@check("15 /metrics needs its token")
def metrics():
    anonymous = request("GET", "/metrics")[0]
    wrong = request("GET", "/metrics", headers={"Authorization": "Bearer not-the-token"})[0]
    right = request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})[0]
    ok = anonymous in (401, 403, 404) and wrong in (401, 403, 404) and right == 200
    return ok, f"no token {anonymous}, wrong token {wrong}, right token {right}"


def main():
    owner = signed_up(f"owner-{uuid.uuid4().hex[:8]}@probe.kr")
    status, _, body = request(
        "PUT", "/api/v1/settings", {"businessName": "프로브 치과"}, token=owner
    )
    assert status == 200, f"business name: {status} {body}"
    slow = [
        threading.Thread(target=slow_headers),
        threading.Thread(target=slow_body),
        threading.Thread(target=half_open),
    ]
    for thread in slow:
        thread.start()
    media_huge_frames()
    media_large_before_start()
    media_cap()
    for check_ in (csv_formulas, caller_id, time_zones, headers, limits):
        check_(owner)
    for check_ in (file_modes, password_lockout, emails, logout_when_limited, metrics):
        check_()
    # Last: it spends the address's sign-in allowance.
    forwarded_for()
    for thread in slow:
        thread.join()
    failed = [name for name, ok in results if not ok]
    print(f"\n{len(results) - len(failed)} of {len(results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
