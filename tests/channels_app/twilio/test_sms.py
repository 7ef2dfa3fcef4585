"""SMS conversations: inbound SMS threaded by number within the line's window, replies sent
by the worker's outbox through the real twilio client (against the local fake), delivery
status callbacks."""

from datetime import timedelta

import pytest

from channels_app.twilio.duties import send_sms
from channels_app.twilio.models import OutboundSms, SmsStatus
from tests.channels_app.twilio.helpers import CALLER, new_sid, post
from ticketing.models import Direction, Message, Ticket
from ticketing.services import ticket_reply

pytestmark = pytest.mark.django_db


def _sms(client, line, body: str, sid: str | None = None, **more):
    params = {"MessageSid": sid or new_sid("SM"), "From": CALLER, "To": line.phone_number, "Body": body, **more}
    return post(client, "/webhooks/twilio/sms/", params)


def test_sms_within_the_window_join_one_ticket_and_replays_store_nothing_twice(client, line):
    sid = new_sid("SM")
    first = _sms(client, line, "你好，我的订单还没到", sid)
    assert first.status_code == 200 and first.content.strip().endswith(b"<Response />")
    _sms(client, line, "你好，我的订单还没到", sid)  # Twilio retried
    _sms(client, line, "订单号 12345")
    ticket = Ticket.objects.get()
    assert ticket.channel == "sms" and ticket.queue == line.default_queue
    assert list(ticket.messages.values_list("body_text", flat=True)) == ["你好，我的订单还没到", "订单号 12345"]


def test_an_sms_after_the_window_opens_a_new_ticket(client, line):
    _sms(client, line, "first")
    Message.objects.update(created_at=Message.objects.get().created_at - timedelta(hours=line.sms_thread_hours + 1))
    _sms(client, line, "much later")
    assert Ticket.objects.count() == 2


def test_pictures_stay_links_to_twilio(client, line):
    _sms(client, line, "see photo", NumMedia="1", MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC/Media/ME1")
    assert Message.objects.get().body_text == "see photo\nhttps://api.twilio.com/2010-04-01/Accounts/AC/Media/ME1"


def test_a_console_reply_goes_out_through_twilio_and_delivery_callbacks_update_it(client, org, line, fake_twilio):
    _sms(client, line, "Is my parcel on its way?")
    ticket = Ticket.objects.get()
    reply = ticket_reply(ticket=ticket, by=org.agent_zh, body_text="Yes, it arrives tomorrow.")
    assert reply.delivery_status == "queued"

    assert send_sms() == 1
    assert send_sms() == 0  # sent once
    (sent,) = fake_twilio.of("messages.create")
    assert (sent.value("To"), sent.value("From"), sent.value("Body")) == (
        CALLER,
        line.phone_number,
        "Yes, it arrives tomorrow.",
    )
    assert sent.value("StatusCallback") == "https://cc.example.com/webhooks/twilio/sms/status/"
    reply.refresh_from_db()
    outbound = OutboundSms.objects.get(message=reply)
    assert reply.delivery_status == "sent" and reply.external_id == outbound.sid

    status = {"MessageSid": outbound.sid, "From": line.phone_number, "To": CALLER}
    post(client, "/webhooks/twilio/sms/status/", {**status, "MessageStatus": "delivered"})
    post(client, "/webhooks/twilio/sms/status/", {**status, "MessageStatus": "sent"})  # late: no step back
    post(client, "/webhooks/twilio/sms/status/", {**status, "MessageStatus": "delivered"})  # replay
    reply.refresh_from_db()
    assert reply.delivery_status == "delivered"
    assert ticket.events.filter(kind="message.delivery").count() == 1

    _sms(client, line, "Thanks!")
    assert list(ticket.messages.values_list("direction", flat=True)) == [Direction.INBOUND, Direction.OUTBOUND] * 1 + [
        Direction.INBOUND
    ]


def test_undelivered_is_shown_as_failed_with_twilios_error(client, org, line, fake_twilio):
    _sms(client, line, "hello")
    reply = ticket_reply(ticket=Ticket.objects.get(), by=org.agent_zh, body_text="hi")
    send_sms()
    sid = OutboundSms.objects.get().sid
    post(
        client,
        "/webhooks/twilio/sms/status/",
        {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30005"},
    )
    reply.refresh_from_db()
    assert (reply.delivery_status, reply.delivery_error) == ("failed", "Twilio error 30005")


def test_a_refused_number_fails_at_once_and_a_server_error_is_retried(client, org, line, fake_twilio):
    _sms(client, line, "hello")
    ticket = Ticket.objects.get()
    refused = ticket_reply(ticket=ticket, by=org.agent_zh, body_text="one")
    fake_twilio.fail_next.append((400, 21610, "Attempt to send to unsubscribed recipient"))
    send_sms()
    refused.refresh_from_db()
    assert refused.delivery_status == "failed"
    assert "21610" in refused.delivery_error

    later = ticket_reply(ticket=ticket, by=org.agent_zh, body_text="two")
    fake_twilio.fail_next.append((503, 20500, "Service unavailable"))
    send_sms()
    row = OutboundSms.objects.get(message=later)
    later.refresh_from_db()
    assert (row.status, row.attempts, later.delivery_status) == (SmsStatus.QUEUED, 1, "queued")
    OutboundSms.objects.filter(pk=row.pk).update(next_attempt_at=row.next_attempt_at - timedelta(hours=1))
    send_sms()
    later.refresh_from_db()
    assert later.delivery_status == "sent"
    assert [r.value("Body") for r in fake_twilio.of("messages.create")] == ["one", "two", "two"]


def test_an_sms_from_an_unreadable_number_is_kept_and_flagged(client, line):
    post(
        client,
        "/webhooks/twilio/sms/",
        {"MessageSid": new_sid("SM"), "From": "ALPHA-ID", "To": line.phone_number, "Body": "x"},
    )
    assert Message.objects.get().flagged is True
