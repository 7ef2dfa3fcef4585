"""Twilio retries a webhook when an answer is slow, so the same request can arrive twice at once.
Four threads post the same signed call and SMS webhooks to the live server at the same moment."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests
from twilio.request_validator import RequestValidator

from channels_app.twilio.models import Call
from tests.channels_app.twilio.helpers import ACCOUNT, CALLER, TOKEN, call_params, new_sid
from tests.services import need_postgres
from ticketing.models import Message, Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4


def _post_at_once(url: str, public_url: str, params: dict) -> list[int]:
    params = {"AccountSid": ACCOUNT, **params}
    signature = RequestValidator(TOKEN).compute_signature(public_url, params)
    start = Barrier(THREADS)

    def send(_):
        start.wait()
        headers = {"X-Twilio-Signature": signature, "X-Forwarded-Proto": "https"}
        return requests.post(url, data=params, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(send, range(THREADS)))


def test_simultaneous_retries_store_one_ticket_one_message_one_event(line, live_server, settings):
    need_postgres()  # SQLite serializes writers anyway; the race needs a database with row locks
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    line.public_base_url = "https://cc.example.com"
    line.save()
    sid = new_sid("CA")
    path = "/webhooks/twilio/voice/menu/?lang=zh"
    statuses = _post_at_once(live_server.url + path, line.public_base_url + path, call_params(sid, Digits="2"))
    assert statuses == [200] * THREADS
    sms_path = "/webhooks/twilio/sms/"
    sms = {"MessageSid": new_sid("SM"), "From": CALLER, "To": line.phone_number, "Body": "在吗"}
    assert _post_at_once(live_server.url + sms_path, line.public_base_url + sms_path, sms) == [200] * THREADS

    call = Call.objects.get(sid=sid)
    assert Ticket.objects.filter(channel="voice").count() == 1
    assert Message.objects.filter(external_id=sid).count() == 1
    assert TicketEvent.objects.filter(ticket=call.ticket, kind="call.queued").count() == 1
    assert Message.objects.filter(external_id=sms["MessageSid"]).count() == 1
