"""A local stand-in for Twilio's REST API (api.twilio.com/2010-04-01), speaking its JSON:
calls created and updated, messages sent, errors in Twilio's error format. A threaded
http.server; the real `twilio` client reaches it through TWILIO_API_BASE_URL.

Also used by scripts/twilio_replay.py. It records every request for assertions."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

API = "/2010-04-01/Accounts/"
CALLS = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Calls\.json$")
CALL = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Calls/(?P<sid>CA\w+)\.json$")
MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages\.json$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, list[str]]
    sid: str = ""  # of the call or message created

    def value(self, name: str) -> str:
        return (self.form.get(name) or [""])[0]


@dataclass
class FakeTwilio:
    accounts: dict[str, str] = field(default_factory=dict)  # account sid → auth token
    requests: list[Recorded] = field(default_factory=list)
    ended_calls: set[str] = field(default_factory=set)
    fail_next: list[tuple[int, int, str]] = field(default_factory=list)  # (http status, twilio code, message)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def start(self, port: int = 0) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self)

            def do_POST(self):
                fake._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def of(self, kind: str) -> list[Recorded]:
        """Requests of one kind: "calls.create", "calls.update", "messages.create"."""
        return [r for r in self.requests if _kind(r) == kind]

    # -- the wire
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        form = parse_qs(handler.rfile.read(length).decode("utf-8"), keep_blank_values=True) if length else {}
        path = handler.path.split("?", 1)[0]
        recorded = Recorded(handler.command, path, form)
        account = (re.match(r"^/2010-04-01/Accounts/(AC\w+)/", path) or [None, ""])[1]
        if not self._authorized(handler.headers.get("Authorization", ""), account):
            return _send(handler, 401, _error(20003, "Authenticate", 401))
        self.requests.append(recorded)
        if self.fail_next:
            status, code, message = self.fail_next.pop(0)
            return _send(handler, status, _error(code, message, status))
        if handler.command == "POST" and (match := CALLS.match(path)):
            recorded.sid = "CA" + secrets.token_hex(16)
            return _send(handler, 201, self._call(match["account"], recorded.sid, form, "queued"))
        if handler.command == "POST" and (match := CALL.match(path)):
            if match["sid"] in self.ended_calls:
                return _send(handler, 404, _error(20404, f"The requested resource {path} was not found", 404))
            return _send(handler, 200, self._call(match["account"], match["sid"], form, "in-progress"))
        if handler.command == "POST" and (match := MESSAGES.match(path)):
            to = (form.get("To") or [""])[0]
            if not E164.match(to):
                return _send(handler, 400, _error(21211, f"The 'To' number {to} is not a valid phone number.", 400))
            body = self._message(match["account"], form)
            recorded.sid = body["sid"]
            return _send(handler, 201, body)
        return _send(handler, 404, _error(20404, f"The requested resource {path} was not found", 404))

    def _authorized(self, header: str, account: str) -> bool:
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == account and self.accounts.get(account) == password

    def _call(self, account: str, sid: str, form, status: str) -> dict:
        now = format_datetime(datetime.now(UTC))
        return {
            "sid": sid,
            "account_sid": account,
            "to": (form.get("To") or [""])[0],
            "to_formatted": (form.get("To") or [""])[0],
            "from": (form.get("From") or [""])[0],
            "from_formatted": (form.get("From") or [""])[0],
            "status": status,
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "start_time": None,
            "end_time": None,
            "duration": None,
            "price": None,
            "price_unit": "USD",
            "parent_call_sid": None,
            "phone_number_sid": None,
            "answered_by": None,
            "forwarded_from": None,
            "caller_name": None,
            "group_sid": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": f"{API}{account}/Calls/{sid}.json",
            "subresource_uris": {
                "recordings": f"{API}{account}/Calls/{sid}/Recordings.json",
                "notifications": f"{API}{account}/Calls/{sid}/Notifications.json",
            },
        }

    def _message(self, account: str, form) -> dict:
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC))
        return {
            "sid": sid,
            "account_sid": account,
            "messaging_service_sid": None,
            "to": form["To"][0],
            "from": (form.get("From") or [""])[0],
            "body": (form.get("Body") or [""])[0],
            "status": "queued",
            "num_segments": "1",
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "uri": f"{API}{account}/Messages/{sid}.json",
            "subresource_uris": {"media": f"{API}{account}/Messages/{sid}/Media.json"},
        }


def _kind(recorded: Recorded) -> str:
    if CALLS.match(recorded.path):
        return "calls.create"
    if CALL.match(recorded.path):
        return "calls.update"
    if MESSAGES.match(recorded.path):
        return "messages.create"
    return "other"


def _error(code: int, message: str, status: int) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _send(handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
    data = json.dumps(body).encode("utf-8")
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
