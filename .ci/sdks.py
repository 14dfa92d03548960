"""The official SDKs against `callbot sandbox` (run by .ci/sdks.sh): twilio, elevenlabs and openai
talk to the stand-ins as they would to the real services, and every answer must pass the SDK's
own models. Each check prints ✓/✗; any ✗ fails the run (exit status 1).

    python3 .ci/sdks.py        (the environment `callbot sandbox` printed must be set)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

import httpx
import websockets
from elevenlabs.client import ElevenLabs
from elevenlabs.types import GetConversationResponseModel, Subscription
from elevenlabs.conversational_ai.conversation import (
    ClientTools,
    Conversation,
    ConversationInitiationData,
)
from openai import OpenAI
from openai.types.chat import ChatCompletion
from pydantic import BaseModel
from twilio.request_validator import RequestValidator
from twilio.rest import Client

ENV = {name: os.environ[name] for name in (
    "TWILIO_API_BASE", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER",
    "ELEVENLABS_API_BASE", "ELEVENLABS_API_KEY", "ELEVENLABS_AGENT_ID",
    "OPENAI_BASE_URL", "OPENAI_API_KEY",
)}
# A callee who answers and stays on the line (the sandbox's personas are by number, SPEC §9).
CALLEE = "+821070000001"
failures: list[str] = []


def check(name: str):
    """Runs the decorated check at once and prints ✓ or ✗ with the reason."""
    def run(function):
        try:
            detail = function()
            print(f"✓ {name}" + (f" ({detail})" if detail else ""), flush=True)
        except Exception as error:  # noqa: BLE001 - every failure is reported, then the run fails
            failures.append(name)
            print(f"✗ {name}: {type(error).__name__}: {error}", flush=True)
            traceback.print_exc(limit=4)
        return function
    return run


def wait_until(what: str, condition, timeout: float = 30.0):
    """Polls `condition` until it returns something truthy; fails naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- the webhook side: what `callbot serve` would be, here a few lines of http.server -----------

class Webhooks:
    """Receives the sandbox's signed callbacks and answers the voice URL with TwiML."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bool]] = []
        self.lock = threading.Lock()
        validator = RequestValidator(ENV["TWILIO_AUTH_TOKEN"])
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
                url = f"http://{self.headers['Host']}{self.path}"
                valid = validator.validate(url, form, self.headers.get("X-Twilio-Signature", ""))
                with hooks.lock:
                    hooks.received.append((self.path, form, valid))
                if self.path.startswith("/voice"):
                    pause = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("pause", ["20"])[0]
                    answer = (f'<?xml version="1.0" encoding="UTF-8"?><Response><Say language="ko-KR">'
                              f'안녕하세요</Say><Pause length="{pause}"/></Response>').encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/xml")
                else:
                    answer = b""
                    self.send_response(204)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def for_call(self, sid: str) -> list[tuple[str, dict[str, str], bool]]:
        with self.lock:
            return [hook for hook in self.received if hook[1].get("CallSid") == sid]


def twilio_checks() -> None:
    client = Client(ENV["TWILIO_ACCOUNT_SID"], ENV["TWILIO_AUTH_TOKEN"])
    client.api.base_url = ENV["TWILIO_API_BASE"]
    hooks = Webhooks()
    sender = ENV["TWILIO_PHONE_NUMBER"]
    calls: dict[str, str] = {}

    @check("twilio calls.create with url: queued, then the signed voice fetch and status callbacks")
    def _():
        call = client.calls.create(
            to=CALLEE, from_=sender, url=f"{hooks.base}/voice?pause=20",
            status_callback=f"{hooks.base}/status",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            machine_detection="Enable",
        )
        assert call.sid.startswith("CA") and len(call.sid) == 34, call.sid
        assert call.status == "queued", call.status
        assert call.to == CALLEE and call._from == sender, (call.to, call._from)
        calls["url"] = call.sid
        hooks_seen = wait_until("the completed callback", lambda: [
            h for h in hooks.for_call(call.sid)
            if h[0] == "/status" and h[1].get("CallStatus") == "completed"])
        seen = hooks.for_call(call.sid)
        assert all(valid for _, _, valid in seen), "a callback whose X-Twilio-Signature does not verify"
        statuses = [form["CallStatus"] for path, form, _ in seen if path == "/status"]
        assert statuses == ["queued", "ringing", "in-progress", "completed"] or \
            statuses == ["initiated", "ringing", "in-progress", "completed"], statuses
        assert any(path.startswith("/voice") for path, _, _ in seen), "the voice URL was not fetched"
        return f"{len(seen)} signed webhooks, last {hooks_seen[-1][1]['CallStatus']}"

    @check("twilio calls(sid).fetch: start_time, end_time, duration, price and answered_by filled")
    def _():
        call = client.calls(calls["url"]).fetch()
        assert call.status == "completed", call.status
        assert call.start_time is not None and call.end_time is not None, (call.start_time, call.end_time)
        assert call.start_time <= call.end_time
        assert call.duration and int(call.duration) >= 1, call.duration
        assert call.answered_by == "human", call.answered_by
        assert call.price is not None and float(call.price) < 0 and call.price_unit == "USD", call.price
        return f"duration {call.duration} s, price {call.price}"

    @check("twilio calls.create with twiml: runs the inline TwiML")
    def _():
        call = client.calls.create(
            to=CALLEE, from_=sender,
            twiml='<Response><Say language="ko-KR">안녕하세요</Say><Pause length="600"/></Response>',
        )
        calls["twiml"] = call.sid
        assert call.status == "queued", call.status
        wait_until("the inline TwiML call to be answered",
                   lambda: client.calls(call.sid).fetch().status == "in-progress")
        answered = client.calls(call.sid).fetch()
        assert answered.start_time is not None, "start_time empty on an answered call"
        assert answered.answered_by is None, "answered_by without machine detection"

    @check("twilio call recordings: create, list and fetch on the call")
    def _():
        sid = calls["twiml"]
        recording = client.calls(sid).recordings.create()
        assert recording.sid.startswith("RE") and recording.call_sid == sid, recording.sid
        assert recording.status == "in-progress", recording.status
        listed = client.calls(sid).recordings.list()
        assert [r.sid for r in listed] == [recording.sid], [r.sid for r in listed]
        fetched = client.calls(sid).recordings(recording.sid).fetch()
        assert fetched.sid == recording.sid and fetched.call_sid == sid
        assert fetched.start_time is not None and fetched.date_created is not None
        calls["recording"] = recording.sid
        return recording.sid

    @check("twilio calls(sid).update(status='completed'): the answer says completed")
    def _():
        sid = calls["twiml"]
        updated = client.calls(sid).update(status="completed")
        assert updated.status == "completed", updated.status
        assert updated.end_time is not None, "end_time empty on a completed call"
        fetched = wait_until("the call to stay completed", lambda: client.calls(sid).fetch())
        assert fetched.status == "completed", fetched.status
        recording = client.calls(sid).recordings(calls["recording"]).fetch()
        wait_until("the recording to complete",
                   lambda: client.calls(sid).recordings(calls["recording"]).fetch().status == "completed")
        recording = client.calls(sid).recordings(calls["recording"]).fetch()
        assert recording.duration is not None and int(recording.duration) >= 1, recording.duration

    @check("twilio calls.list: newest first, filters by To and Status")
    def _():
        listed = client.calls.list(to=CALLEE, limit=20)
        sids = [call.sid for call in listed]
        assert sids[:2] == [calls["twiml"], calls["url"]], sids
        completed = client.calls.list(status="completed", limit=20)
        assert {calls["url"], calls["twiml"]} <= {call.sid for call in completed}
        return f"{len(listed)} calls"

    @check("twilio account fetch")
    def _():
        account = client.api.v2010.accounts(ENV["TWILIO_ACCOUNT_SID"]).fetch()
        assert account.sid == ENV["TWILIO_ACCOUNT_SID"], account.sid
        assert account.status == "active" and account.type in ("Full", "Trial"), (account.status, account.type)
        assert account.date_created is not None
        return account.friendly_name

    @check("twilio incoming phone numbers and outgoing caller ids")
    def _():
        numbers = client.incoming_phone_numbers.list()
        assert [n.phone_number for n in numbers] == [sender], [n.phone_number for n in numbers]
        assert numbers[0].sid.startswith("PN")
        assert client.incoming_phone_numbers.list(phone_number=sender)[0].phone_number == sender
        assert client.outgoing_caller_ids.list() == []
        balance = client.api.v2010.account.balance.fetch()
        assert balance.currency == "USD" and float(balance.balance) > 0

    @check("twilio errors: an unknown call is a TwilioRestException 404 / 20404")
    def _():
        from twilio.base.exceptions import TwilioRestException
        try:
            client.calls("CA" + "0" * 32).fetch()
        except TwilioRestException as error:
            assert error.status == 404 and error.code == 20404, (error.status, error.code)
            return
        raise AssertionError("no error")


class Step(BaseModel):
    step: int
    action: str
    expectedResponses: list[str]
    nextStep: "NextStep"


class NextStep(BaseModel):
    positive: Optional[int]
    negative: Optional[int]


class Script(BaseModel):
    greeting: str
    purpose: str
    mainFlow: list[Step]
    closing: str
    variables: list[str]


def openai_checks() -> None:
    client = OpenAI(api_key=ENV["OPENAI_API_KEY"], base_url=ENV["OPENAI_BASE_URL"], max_retries=0)

    @check("openai chat.completions.parse with a Pydantic model ($defs, $ref, anyOf)")
    def _():
        raw = client.chat.completions.with_raw_response.parse(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "You write phone call scripts."},
                {"role": "user", "content": "내일 예약 고객에게 확인 전화"},
            ],
            response_format=Script,
        )
        # The SDK reads answers leniently; its ChatCompletion model must take the raw one as is.
        ChatCompletion.model_validate(raw.http_response.json())
        completion = raw.parse()
        message = completion.choices[0].message
        assert message.refusal is None, message.refusal
        script = message.parsed
        assert isinstance(script, Script) and script.mainFlow, script
        assert completion.usage.total_tokens > 0
        return f"{len(script.mainFlow)} steps"

    @check("openai errors: a wrong key is AuthenticationError 401")
    def _():
        import openai
        wrong = OpenAI(api_key="sk-wrong", base_url=ENV["OPENAI_BASE_URL"], max_retries=0)
        try:
            wrong.chat.completions.parse(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}],
                                         response_format=Script)
        except openai.AuthenticationError as error:
            assert error.status_code == 401
            return
        raise AssertionError("no error")


def elevenlabs_checks() -> None:
    client = ElevenLabs(api_key=ENV["ELEVENLABS_API_KEY"], base_url=ENV["ELEVENLABS_API_BASE"])
    agent_id = ENV["ELEVENLABS_AGENT_ID"]
    state: dict[str, str] = {}

    def strictly(model, path: str):
        """The raw answer at `path` validated by the SDK's own model (the SDK's client reads
        answers leniently; here every field the model requires must be there, typed right)."""
        answer = httpx.get(ENV["ELEVENLABS_API_BASE"] + path, headers={"xi-api-key": ENV["ELEVENLABS_API_KEY"]})
        answer.raise_for_status()
        return model.model_validate(answer.json())

    @check("elevenlabs user.subscription.get (every field the SDK's Subscription requires)")
    def _():
        subscription = client.user.subscription.get()
        strictly(Subscription, "/v1/user/subscription")
        assert subscription.character_limit > 0 and subscription.character_count >= 0
        return f"{subscription.tier}, {subscription.character_count}/{subscription.character_limit}"

    @check("elevenlabs get_signed_url")
    def _():
        signed = client.conversational_ai.conversations.get_signed_url(agent_id=agent_id)
        assert signed.signed_url.startswith("ws://") or signed.signed_url.startswith("wss://")
        state["signed_url"] = signed.signed_url

    @check("elevenlabs Conversation (the SDK's client, no overrides, text only) runs to the agent's end")
    def _():
        ended = threading.Event()
        responses: list[str] = []
        tools = ClientTools()
        tools.register("report_outcome", lambda parameters: "recorded")
        conversation = Conversation(
            client, agent_id, requires_auth=True, audio_interface=None,
            config=ConversationInitiationData(), client_tools=tools,
            callback_agent_response=responses.append,
            callback_disconnect=lambda details: ended.set(),
        )
        conversation.start_session()
        wait_until("the agent's first message", lambda: responses, timeout=20)
        conversation.register_user_activity()
        conversation.send_contextual_update("The caller is in a quiet room.")
        conversation.send_user_message("네, 맞습니다.")
        conversation_id = conversation.wait_for_session_end()
        tools.stop()
        assert conversation_id and conversation_id.startswith("conv_"), conversation_id
        state["conversation_id"] = conversation_id
        return f"{len(responses)} agent responses"

    @check("elevenlabs raw WebSocket: user_activity, contextual_update, user_message accepted")
    def _():
        async def talk() -> list[dict]:
            url = client.conversational_ai.conversations.get_signed_url(agent_id=agent_id).signed_url
            received: list[dict] = []
            async with websockets.connect(url) as socket:
                await socket.send(json.dumps({"type": "conversation_initiation_client_data"}))
                for message in [{"type": "user_activity"},
                                {"type": "contextual_update", "text": "quiet room"},
                                {"type": "user_message", "text": "네, 맞습니다."}]:
                    await socket.send(json.dumps(message))
                try:
                    async for frame in socket:
                        event = json.loads(frame)
                        received.append(event)
                        if event["type"] == "ping":
                            await socket.send(json.dumps({"type": "pong", "event_id": event["ping_event"]["event_id"]}))
                        if event["type"] == "client_tool_call":
                            call = event["client_tool_call"]
                            await socket.send(json.dumps({"type": "client_tool_result", "tool_call_id": call["tool_call_id"],
                                                          "result": "ok", "is_error": False}))
                except websockets.ConnectionClosedOK:
                    pass
                assert socket.close_code == 1000, (socket.close_code, socket.close_reason)
            return received

        received = asyncio.run(talk())
        types = [event["type"] for event in received]
        assert types[0] == "conversation_initiation_metadata", types
        assert "agent_response" in types, types
        return f"{len(received)} events, closed 1000"

    @check("elevenlabs conversations.get: the details pass the SDK's model")
    def _():
        details = client.conversational_ai.conversations.get(state["conversation_id"])
        strictly(GetConversationResponseModel, f"/v1/convai/conversations/{state['conversation_id']}")
        assert details.conversation_id == state["conversation_id"] and details.agent_id == agent_id
        assert details.status == "done", details.status
        assert details.transcript and details.transcript[0].role == "agent"
        assert details.metadata.call_duration_secs >= 0
        return f"{len(details.transcript)} turns"


def main() -> int:
    twilio_checks()
    openai_checks()
    elevenlabs_checks()
    if failures:
        print(f"\n{len(failures)} SDK check(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    print("\nevery SDK check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
