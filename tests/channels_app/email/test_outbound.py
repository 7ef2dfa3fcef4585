"""Email out: agent replies go through the outbox to a real aiosmtpd server, and the
customer's answer to what we sent threads back to the same ticket."""

import threading
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from django.utils import timezone

from channels_app.email.inbound import email_ingest
from channels_app.email.outbound import _claim, backoff, outbox_enqueue_pending, outbox_send_due
from channels_app.models import Mailbox, OutboundEmail, OutboxStatus, RawEmail
from ticketing.models import DeliveryStatus, Message
from ticketing.services import NewAttachment, ticket_reply

CORPUS = Path(__file__).parent / "corpus"

pytestmark = pytest.mark.django_db(transaction=True)


def smtp_mailbox(server, **extra) -> Mailbox:
    return Mailbox.objects.create(
        name=extra.pop("name", "Support"),
        imap_host="127.0.0.1",
        imap_port=1,
        imap_security="none",
        imap_user="x",
        smtp_host=server.host if server else "",
        smtp_port=server.port if server else 25,
        smtp_security="none",
        from_address="support@shop.example",
        from_name="客服中心",
        **extra,
    )


def customer_ticket(mailbox):
    stored = email_ingest(raw=(CORPUS / "gb2312_plain.eml").read_bytes(), mailbox=mailbox)
    return stored.result.ticket


def test_reply_is_sent_with_threading_headers_and_threads_back(org, smtp_server):
    mailbox = smtp_mailbox(smtp_server)
    ticket = customer_ticket(mailbox)
    reply = ticket_reply(
        ticket=ticket,
        by=org.agent_zh,
        body_text="您好，已经发货，单号 SF123。",
        body_html="<p>您好，已经发货，单号 <b>SF123</b>。</p>",
        attachments=[NewAttachment(filename="发货单.pdf", content_type="application/pdf", data=b"%PDF-1.4 x")],
    )
    assert reply.delivery_status == DeliveryStatus.QUEUED
    assert outbox_send_due() == 1
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT and reply.delivery_error == ""
    (raw,) = smtp_server.messages
    sent = message_from_bytes(raw, policy=default_policy)
    outbound = OutboundEmail.objects.get(message=reply)
    assert sent["Message-ID"] == outbound.email_id
    assert sent["In-Reply-To"] == "<20250106101500.1234@example.cn>"
    assert sent["References"] == "<20250106101500.1234@example.cn>"
    assert sent["Subject"] == f"Re: [#{ticket.number}] 订单 1024 什么时候发货？"
    assert sent["To"] == "zhangsan@example.cn"
    assert "客服中心" in str(sent["From"])
    assert sent.get_body(("plain",)).get_content().strip() == "您好，已经发货，单号 SF123。"
    assert "<b>SF123</b>" in sent.get_body(("html",)).get_content()
    (attachment,) = list(sent.iter_attachments())
    assert attachment.get_filename() == "发货单.pdf"
    assert attachment.get_content() == b"%PDF-1.4 x"
    assert RawEmail.objects.get(message=reply).direction == "out"
    # Nothing is sent twice.
    assert outbox_send_due() == 0
    assert len(smtp_server.messages) == 1

    # The customer answers what we sent, with a subject that lost the reference: still the same ticket.
    answer = (
        f"From: zhangsan@example.cn\r\nTo: support@shop.example\r\nSubject: 回复：发货\r\n"
        f"Message-ID: <answer-1@example.cn>\r\nIn-Reply-To: {outbound.email_id}\r\n"
        f"References: <20250106101500.1234@example.cn> {outbound.email_id}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n收到，谢谢\r\n"
    ).encode()
    threaded = email_ingest(raw=answer, mailbox=mailbox)
    assert threaded.result.ticket.pk == ticket.pk


def test_permanent_failure_is_recorded_on_the_message(org, smtp_server):
    mailbox = smtp_mailbox(smtp_server)
    ticket = customer_ticket(mailbox)
    smtp_server.refuse["zhangsan@example.cn"] = (550, "5.1.1 User unknown")
    reply = ticket_reply(ticket=ticket, by=org.agent_zh, body_text="hello")
    outbox_send_due()
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert "User unknown" in reply.delivery_error
    assert OutboundEmail.objects.get(message=reply).status == OutboxStatus.FAILED


def test_temporary_failure_retries_with_backoff_then_sends(org, smtp_server):
    mailbox = smtp_mailbox(smtp_server)
    ticket = customer_ticket(mailbox)
    smtp_server.refuse["zhangsan@example.cn"] = (451, "4.3.0 Try again later")
    reply = ticket_reply(ticket=ticket, by=org.agent_zh, body_text="hello")
    outbox_send_due()
    outbound = OutboundEmail.objects.get(message=reply)
    assert outbound.status == OutboxStatus.QUEUED and outbound.attempts == 1
    assert outbound.next_attempt_at > timezone.now()
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.QUEUED and "Try again" in reply.delivery_error
    assert outbox_send_due() == 0  # not due yet
    del smtp_server.refuse["zhangsan@example.cn"]
    OutboundEmail.objects.filter(pk=outbound.pk).update(next_attempt_at=timezone.now())
    assert outbox_send_due() == 1
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    assert len(smtp_server.messages) == 1


def test_unreachable_server_gives_up_after_max_attempts(org):
    from channels_app.email import outbound as outbound_module
    from tests.mailservers import free_port

    mailbox = smtp_mailbox(None)
    Mailbox.objects.filter(pk=mailbox.pk).update(smtp_host="127.0.0.1", smtp_port=free_port())
    ticket = customer_ticket(Mailbox.objects.get(pk=mailbox.pk))
    reply = ticket_reply(ticket=ticket, by=org.agent_zh, body_text="hello")
    for _ in range(outbound_module.MAX_ATTEMPTS):
        OutboundEmail.objects.update(next_attempt_at=timezone.now())
        outbox_send_due()
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert OutboundEmail.objects.get(message=reply).attempts == outbound_module.MAX_ATTEMPTS


def test_no_mailbox_is_a_permanent_failure(org):
    from tests import factories

    ticket = factories.ticket(channel="email")
    reply = ticket_reply(ticket=ticket, by=org.agent_zh, body_text="hello")
    outbox_send_due()
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED and "mailbox" in reply.delivery_error


def test_a_row_is_claimed_by_one_worker_only(org, smtp_server):
    mailbox = smtp_mailbox(smtp_server)
    ticket = customer_ticket(mailbox)
    ticket_reply(ticket=ticket, by=org.agent_zh, body_text="hello")
    outbox_enqueue_pending()
    outbox_enqueue_pending()  # idempotent
    (outbound,) = OutboundEmail.objects.all()
    assert _claim(outbound.pk) is True
    assert _claim(outbound.pk) is False
    # A claim whose worker died expires and the row is sent by the next worker.
    OutboundEmail.objects.filter(pk=outbound.pk).update(claimed_until=timezone.now())
    assert outbox_send_due() == 1
    assert len(smtp_server.messages) == 1


def test_two_concurrent_senders_send_once(org, smtp_server):
    mailbox = smtp_mailbox(smtp_server)
    ticket = customer_ticket(mailbox)
    for n in range(5):
        ticket_reply(ticket=ticket, by=org.agent_zh, body_text=f"reply {n}")
    outbox_enqueue_pending()
    errors = []

    def run():
        from django.db import connection

        try:
            outbox_send_due()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(smtp_server.messages) == 5
    assert Message.objects.filter(delivery_status=DeliveryStatus.SENT).count() == 5


def test_backoff_grows_and_is_capped():
    assert backoff(1).total_seconds() == 60
    assert backoff(2).total_seconds() == 120
    assert backoff(30).total_seconds() == 6 * 3600
