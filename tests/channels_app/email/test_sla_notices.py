"""SLA escalation notices to staff: mailed through the outbox to a real aiosmtpd server, in each
recipient's language, marked as automatic; with no mailbox to send from, none are queued."""

from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from channels_app.email.outbound import outbox_send_due
from channels_app.models import OutboundEmail
from tests import factories
from tests.channels_app.email.test_outbound import smtp_mailbox
from ticketing.events import ticket_event_record

pytestmark = pytest.mark.django_db(transaction=True)


def escalate(ticket):
    return ticket_event_record(
        ticket=ticket,
        kind="sla.escalated",
        data={"target": "first_response", "policy": "标准 Standard", "actions": {"priority": "urgent"}},
    )


def test_an_escalation_mails_the_supervisor_in_their_language(org, smtp_server):
    org.supervisor.email, org.supervisor.language = "lead@shop.example", "zh-hans"
    org.supervisor.save(update_fields=["email", "language"])
    smtp_mailbox(smtp_server)
    ticket = factories.ticket(subject="退款还没到账")

    escalate(ticket)

    assert outbox_send_due() == 1
    (raw,) = smtp_server.messages
    sent = message_from_bytes(raw, policy=default_policy)
    assert sent["To"] == "lead@shop.example"
    assert sent["Subject"] == f"SLA 升级：工单 #{ticket.number}"
    assert sent["Auto-Submitted"] == "auto-generated"  # responders must not answer it
    assert "退款还没到账" in sent.get_content()


def test_with_no_mailbox_to_send_from_no_notice_is_queued_to_fail(org):
    org.supervisor.email = "lead@shop.example"
    org.supervisor.save(update_fields=["email"])
    ticket = factories.ticket(subject="Refund missing")

    event = escalate(ticket)

    assert event.pk and ticket.events.filter(kind="sla.escalated").count() == 1  # the escalation stands
    assert not OutboundEmail.objects.exists()
