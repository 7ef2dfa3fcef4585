"""Webhook requests signed the way Twilio signs them (the library's RequestValidator), and
the builders of a phone line with its IVR."""

from __future__ import annotations

import secrets
from xml.etree import ElementTree

from twilio.request_validator import RequestValidator

from channels_app.twilio.models import IvrOption, PhoneLine

ACCOUNT = "AC" + "0" * 31 + "1"
TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://cc.example.com"
LINE_NUMBER = "+861058000000"
CALLER = "+8613800138000"


def phone_line(*, sales, support, **extra) -> PhoneLine:
    line = PhoneLine.objects.create(
        name=extra.pop("name", "Hotline"),
        phone_number=extra.pop("phone_number", LINE_NUMBER),
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        public_base_url=BASE,
        default_queue=support,
        greeting_zh="您好，欢迎致电。",
        greeting_en="Welcome.",
        **extra,
    )
    IvrOption.objects.create(line=line, digit="1", label_zh="销售", label_en="sales", queue=sales)
    IvrOption.objects.create(line=line, digit="2", label_zh="技术支持", label_en="support", queue=support)
    return line


def sign(url: str, params: dict, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post(client, path: str, params: dict, *, token: str = TOKEN, signature: str | None = None, base: str = BASE):
    """POST a webhook as Twilio does: form-encoded, signed over the public URL and the parameters."""
    params = {"AccountSid": ACCOUNT, **params}
    headers = {}
    if signature is None:
        signature = sign(base + path, params, token)
    if signature:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    return client.post(path, params, secure=True, **headers)


def call_params(sid: str, *, caller: str = CALLER, **more) -> dict:
    return {"CallSid": sid, "From": caller, "To": LINE_NUMBER, "Called": LINE_NUMBER, "Caller": caller, **more}


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def twiml(response) -> ElementTree.Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    return ElementTree.fromstring(response.content)  # noqa: S314  (the server under test)
