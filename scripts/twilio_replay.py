#!/usr/bin/env python3
"""Replay Twilio's webhooks, signed with the demo line's (fake) auth token, against a running
server, and play Twilio's REST side with a local fake: the "done when" check of issue 8.

    # the server must send its Twilio REST calls to the fake this script starts:
    TWILIO_API_BASE_URL=http://127.0.0.1:8765 DEBUG=1 make run        # (or daphne + run_worker)
    .venv/bin/python scripts/twilio_replay.py --server http://127.0.0.1:8000

What it does, as a new user would see it:
1. a customer (a new CRM person with a fresh mobile number) calls the demo line, chooses
   中文 (1) and then 客户服务 / support (2): the call becomes a ticket on that customer;
2. routing offers it to the zh support agent (agent1), whose console rings; agent1 accepts
   through the API; the worker bridges the live call: the fake Twilio receives the REST
   update with <Dial><Number>agent1's phone</Number></Dial>, checked here;
3. the agent's leg is answered, the call completes (duration) and the recording arrives:
   the ticket shows the call's duration and its recording;
4. the customer texts the line, agent1 replies from the console (API), the worker sends
   the SMS through Twilio's Messages API (the fake), the delivery callback marks it
   delivered, and the customer's answer joins the same ticket.
Every webhook is sent twice (Twilio retries) and a forged one once: nothing is doubled,
the forged one gets 403. Exits 1 at the first check that fails.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import requests
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.channels_app.twilio.fake_twilio import FakeTwilio

DEMO_NUMBER = "+861058880000"
DEMO_ACCOUNT_SID = "AC00000000000000000000000000demo0"
DEMO_AUTH_TOKEN = "demo-fake-auth-token-not-a-secret"  # noqa: S105  (the demo line's FAKE token)
AGENT1_PHONE = "+8613900000001"


class Failed(Exception):
    pass


def check(condition, message: str) -> None:
    if not condition:
        raise Failed(message)
    print(f"  ✓ {message}")


class Replay:
    def __init__(self, args, fake: FakeTwilio):
        self.server = args.server.rstrip("/")
        self.public = (args.public_base or self.server).rstrip("/")
        self.validator = RequestValidator(args.token)
        self.fake = fake
        self.password = args.password
        self.caller = "+86138" + "".join(random.choice("0123456789") for _ in range(8))
        self.tokens: dict[str, str] = {}

    # -- Twilio's side
    def webhook(self, path: str, params: dict, *, twice: bool = True, forged: bool = False) -> requests.Response:
        params = {"AccountSid": DEMO_ACCOUNT_SID, **params}
        signature = self.validator.compute_signature(self.public + path, params)
        if forged:
            signature = signature[::-1]
        response = None
        for _ in range(2 if twice else 1):
            response = requests.post(
                self.server + path, data=params, headers={"X-Twilio-Signature": signature}, timeout=15
            )
        return response

    def call_params(self, sid: str, **more) -> dict:
        return {"CallSid": sid, "From": self.caller, "To": DEMO_NUMBER, "Called": DEMO_NUMBER, **more}

    # -- the console's side (REST API)
    def api(self, user: str, method: str, path: str, **kwargs) -> requests.Response:
        if user not in self.tokens:
            response = requests.post(
                f"{self.server}/api/v1/auth/token/", json={"username": user, "password": self.password}, timeout=15
            )
            if response.status_code != 200:
                raise Failed(f"cannot sign in as {user}: {response.status_code} {response.text[:200]}")
            self.tokens[user] = response.json()["token"]
        headers = {"Authorization": f"Token {self.tokens[user]}", "Accept-Language": "en"}
        return requests.request(method, f"{self.server}/api/v1{path}", headers=headers, timeout=15, **kwargs)

    def wait_for(self, what, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = what()
            if result:
                return result
            time.sleep(0.5)
        return None

    # -- the story
    def run(self) -> None:
        print(f"Customer {self.caller} is a new CRM person (created by the supervisor)")
        person = self.api("supervisor", "POST", "/customers/", json={"name": "王芳 (replay)", "phones": [self.caller]})
        check(person.status_code == 201, f"customer created: {person.status_code}")
        person_id = person.json()["id"]

        self.agent1_online()
        self.free_agent1_for_calls()

        print("\n1. A call in Chinese choosing support")
        sid = "CA" + secrets.token_hex(16)
        forged = self.webhook("/webhooks/twilio/voice/", self.call_params(sid), twice=False, forged=True)
        check(forged.status_code == 403, "a forged signature is refused with 403")
        greeting = self.twiml(self.webhook("/webhooks/twilio/voice/", self.call_params(sid, CallStatus="ringing")))
        says = greeting.findall("Gather/Say")
        check([s.get("language") for s in says] == ["zh-CN", "en-US"], "greeting in Chinese and English")
        menu = self.twiml(self.webhook("/webhooks/twilio/voice/language/", self.call_params(sid, Digits="1")))
        check(menu.find("Gather/Say").get("language") == "zh-CN", f"menu in Chinese: {menu.find('Gather/Say').text}")
        queued = self.twiml(self.webhook("/webhooks/twilio/voice/menu/?lang=zh", self.call_params(sid, Digits="2")))
        check(queued.find("Enqueue") is not None, "the caller waits in the hold queue with music")

        calls = self.wait_for(lambda: self.api("supervisor", "GET", "/phone/calls/", params={"sid": sid}).json())
        call = next(c for c in calls["results"] if c["sid"] == sid)
        ticket_id = call["ticket"]
        ticket = self.api("supervisor", "GET", f"/tickets/{ticket_id}/").json()
        customer = ticket["customer"]["id"] if isinstance(ticket["customer"], dict) else ticket["customer"]
        check(customer == person_id, f"ticket #{ticket['number']} is on the caller's CRM record")

        print("\n2. Routing rings agent1's console; agent1 accepts; the call is bridged")
        offer = self.wait_for(
            lambda: next((o for o in self.api("agent1", "GET", "/offers/").json() if _ticket_of(o) == ticket_id), None)
        )
        check(offer is not None, f"agent1 was offered ticket #{ticket['number']}")
        accepted = self.api("agent1", "POST", f"/offers/{offer['id']}/accept/")
        check(accepted.status_code == 200, f"agent1 accepted: {accepted.status_code}")
        update = self.wait_for(lambda: next((r for r in self.fake.of("calls.update") if sid in r.path), None))
        check(update is not None, "the worker updated the live call through Twilio's REST API")
        dial = ElementTree.fromstring(update.value("Twiml")).find("Dial")  # noqa: S314  (the server's own TwiML)
        number = dial.find("Number")
        check(number is not None and number.text == AGENT1_PHONE, f"TwiML dials agent1: {update.value('Twiml')}")
        check(dial.get("action", "").startswith(self.public), "its callbacks are absolute URLs of this server")

        print("\n3. The conversation ends; duration and recording land on the ticket")
        self.twiml(self.webhook("/webhooks/twilio/voice/dial-done/", self.call_params(sid, DialCallStatus="completed")))
        self.webhook("/webhooks/twilio/voice/status/", self.call_params(sid, CallStatus="in-progress"))
        self.webhook("/webhooks/twilio/voice/status/", self.call_params(sid, CallStatus="completed", CallDuration="95"))
        recording = {
            "RecordingSid": "RE" + secrets.token_hex(16),
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Recordings/RE1",
            "RecordingDuration": "88",
            "RecordingStatus": "completed",
        }
        self.webhook("/webhooks/twilio/voice/recording/?kind=call", self.call_params(sid, **recording))
        call = self.api("agent1", "GET", f"/phone/calls/{call['id']}/").json()
        check(call["duration"] == 95 and call["recording_duration"] == 88, "the call shows 95 s and its recording")
        messages = self.api("agent1", "GET", f"/tickets/{ticket_id}/messages/").json()
        messages = messages.get("results", messages) if isinstance(messages, dict) else messages
        notes = [m["body_text"] for m in messages if m["direction"] == "note"]
        check(notes == [f"Call recording (88 s): {recording['RecordingUrl']}"], "one recording note on the ticket")

        print("\n4. An SMS conversation through the console")
        text = {"From": self.caller, "To": DEMO_NUMBER}
        first = "MS" + secrets.token_hex(16)
        self.webhook("/webhooks/twilio/sms/", {**text, "MessageSid": first, "Body": "你好，我的发票还没收到"})
        sms_ticket = self.wait_for(lambda: _sms_ticket(self, person_id))
        check(sms_ticket is not None, f"the SMS opened ticket #{sms_ticket and sms_ticket['number']}")
        sms_offer = self.wait_for(
            lambda: next(
                (o for o in self.api("agent1", "GET", "/offers/").json() if _ticket_of(o) == sms_ticket["id"]), None
            )
        )
        check(sms_offer is not None, "the SMS is offered to agent1")
        taken = self.api("agent1", "POST", f"/offers/{sms_offer['id']}/accept/")
        check(taken.status_code == 200, f"agent1 accepted it: {taken.status_code}")
        reply = self.api(
            "agent1", "POST", f"/tickets/{sms_ticket['id']}/reply/", json={"body_text": "已为您补开，请查收。"}
        )
        check(reply.status_code == 201, f"agent1 replied from the console: {reply.status_code} {reply.text[:200]}")
        sent = self.wait_for(
            lambda: next((r for r in self.fake.of("messages.create") if r.value("To") == self.caller), None)
        )
        check(sent is not None and sent.value("Body") == "已为您补开，请查收。", "the worker sent it through Twilio")
        check(sent.value("From") == DEMO_NUMBER, "from the demo line's number")
        outbound_sid = self.wait_for(lambda: _delivery(self, sms_ticket["id"], reply.json()["id"], "sent"))
        self.webhook("/webhooks/twilio/sms/status/", {**text, "MessageSid": outbound_sid, "MessageStatus": "delivered"})
        check(_delivery(self, sms_ticket["id"], reply.json()["id"], "delivered"), "delivery status: delivered")
        self.webhook(
            "/webhooks/twilio/sms/", {**text, "MessageSid": "MS" + secrets.token_hex(16), "Body": "收到了，谢谢"}
        )
        thread = self.api("agent1", "GET", f"/tickets/{sms_ticket['id']}/messages/").json()
        thread = thread.get("results", thread) if isinstance(thread, dict) else thread
        check([m["direction"] for m in thread] == ["in", "out", "in"], "the answer joined the same ticket, once")
        print("\nAll checks passed.")

    def agent1_online(self) -> None:
        """agent1 signs in to the console and sets themselves online (an earlier run may have left them
        away, e.g. after offers expired)."""
        session = requests.Session()
        page = session.get(f"{self.server}/login/", timeout=15)
        token = session.cookies.get("csrftoken", "")
        signed_in = session.post(
            f"{self.server}/login/",
            data={"username": "agent1", "password": self.password, "csrfmiddlewaretoken": token},
            headers={"Referer": page.url},
            timeout=15,
        )
        check(signed_in.ok and "sessionid" in session.cookies, "agent1 signs in to the console")
        online = session.post(
            f"{self.server}/console/api/presence/",
            json={"presence": "online"},
            headers={"X-CSRFToken": session.cookies.get("csrftoken", ""), "Referer": f"{self.server}/console/"},
            timeout=15,
        )
        check(online.ok, f"agent1 is online: {online.status_code}")

    def free_agent1_for_calls(self) -> None:
        """Voice capacity is one call at a time: open phone tickets of agent1 (the seeded history has
        some) would keep the new call from reaching them, so agent1 solves them first."""
        open_calls = self.api(
            "agent1", "GET", "/tickets/", params={"assignee": "me", "channel": "voice", "unsolved": "true"}
        ).json()["results"]
        for ticket in open_calls:
            solved = self.api("agent1", "POST", f"/tickets/{ticket['id']}/status/", json={"status": "solved"})
            check(solved.status_code == 200, f"agent1 solves open phone ticket #{ticket['number']} first")
        # Calls left waiting by an earlier, interrupted replay would be served first: their callers are long gone.
        waiting = self.api(
            "supervisor", "GET", "/tickets/", params={"assignee": "none", "channel": "voice", "unsolved": "true"}
        ).json()["results"]
        for ticket in waiting:
            solved = self.api("supervisor", "POST", f"/tickets/{ticket['id']}/status/", json={"status": "solved"})
            check(solved.status_code == 200, f"the supervisor closes stale waiting call #{ticket['number']}")

    def measure(self, runs: int) -> None:
        """Webhook answer times (ms, median and 90th percentile over `runs` new calls and SMS)."""
        timings: dict[str, list[float]] = {"voice/ (greeting)": [], "voice/menu/ (ticket + routing)": [], "sms/": []}
        for _ in range(runs):
            sid = "CA" + secrets.token_hex(16)
            caller = "+86139" + "".join(random.choice("0123456789") for _ in range(8))
            params = {"CallSid": sid, "From": caller, "To": DEMO_NUMBER}
            for name, path, extra in (
                ("voice/ (greeting)", "/webhooks/twilio/voice/", {}),
                ("voice/menu/ (ticket + routing)", "/webhooks/twilio/voice/menu/?lang=zh", {"Digits": "2"}),
            ):
                started = time.perf_counter()
                response = self.webhook(path, {**params, **extra}, twice=False)
                timings[name].append((time.perf_counter() - started) * 1000)
                check(response.status_code == 200, f"{name} answered") if _ == 0 else None
            sms = {"MessageSid": "SM" + secrets.token_hex(16), "From": caller, "To": DEMO_NUMBER, "Body": "测试"}
            started = time.perf_counter()
            self.webhook("/webhooks/twilio/sms/", sms, twice=False)
            timings["sms/"].append((time.perf_counter() - started) * 1000)
        for name, values in timings.items():
            values.sort()
            p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
            print(f"  {name:34} median {statistics.median(values):6.1f} ms   p90 {p90:6.1f} ms   ({len(values)} runs)")

    def twiml(self, response: requests.Response):
        if response.status_code != 200:
            raise Failed(f"webhook answered {response.status_code}: {response.text[:300]}")
        return ElementTree.fromstring(response.content)  # noqa: S314  (the server under test)


def _ticket_of(offer: dict):
    ticket = offer.get("ticket")
    return ticket.get("id") if isinstance(ticket, dict) else ticket


def _sms_ticket(replay: Replay, person_id: int):
    tickets = replay.api("supervisor", "GET", "/tickets/", params={"customer": person_id, "channel": "sms"}).json()
    return next((t for t in tickets.get("results", []) if t.get("channel") == "sms"), None)


def _delivery(replay: Replay, ticket_id: int, message_id: int, status: str):
    messages = replay.api("agent1", "GET", f"/tickets/{ticket_id}/messages/").json()
    messages = messages.get("results", messages) if isinstance(messages, dict) else messages
    message = next((m for m in messages if m["id"] == message_id), None)
    if message is None or message["delivery_status"] != status:
        return None
    sms = next((r for r in replay.fake.of("messages.create") if r.value("To") == replay.caller), None)
    return sms.sid if sms else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="http://127.0.0.1:8000", help="where the server listens")
    parser.add_argument("--public-base", default="", help="the public base URL the server signs (default: --server)")
    parser.add_argument("--fake-port", type=int, default=8765, help="port of the fake Twilio REST API")
    parser.add_argument("--token", default=DEMO_AUTH_TOKEN, help="the line's auth token (the demo's fake one)")
    parser.add_argument("--measure", type=int, default=0, help="then time N new calls and SMS (answer times)")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "demo-Pass-2026"))
    args = parser.parse_args()
    fake = FakeTwilio(accounts={DEMO_ACCOUNT_SID: args.token}).start(port=args.fake_port)
    print(f"Fake Twilio REST API at {fake.url} (start the server with TWILIO_API_BASE_URL={fake.url})\n")
    try:
        replay = Replay(args, fake)
        replay.run()
        if args.measure:
            print(f"\nWebhook answer times against {args.server}:")
            replay.measure(args.measure)
    except Failed as failure:
        print(f"  ✗ {failure}")
        return 1
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
