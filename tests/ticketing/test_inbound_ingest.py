"""The one entry for customer messages: identity resolution, threading, idempotence."""

import subprocess
import sys
from pathlib import Path

import pytest

from crm.models import Identity, Person
from crm.services import company_create
from tests import factories
from tests.processes import database_env
from ticketing.inbound import InboundMessage, inbound_ingest
from ticketing.models import Message, Status, Ticket
from ticketing.services import ticket_change_status


def email(external_id="<1@example.com>", sender="li@example.com", **extra):
    return InboundMessage(channel="email", sender_address=sender, external_id=external_id, **extra)


def test_first_contact_creates_person_identity_and_ticket(db):
    result = inbound_ingest(email(sender_name="李明", subject="发票问题", text="请开发票", language="zh"))
    assert result.created
    person = result.ticket.customer
    assert (person.name, person.source, person.language) == ("李明", "email", "zh")
    assert result.message.sender == Identity.objects.get(kind="email", value="li@example.com")
    assert (result.ticket.subject, result.ticket.channel) == ("发票问题", "email")
    assert person.timeline.filter(kind="ticket_created").exists()


def test_the_same_message_twice_is_stored_once(db):
    first = inbound_ingest(email(text="hello"))
    again = inbound_ingest(email(text="hello"))
    assert not again.created and again.message == first.message
    assert Message.objects.count() == 1 and Ticket.objects.count() == 1


def test_known_sender_resolves_to_the_same_person_whatever_the_case(db):
    inbound_ingest(email("<1@x>", sender="Li@Example.com"))
    inbound_ingest(email("<2@x>", sender="li@example.COM"))
    assert Person.objects.count() == 1


def test_thread_hint_adds_to_the_open_ticket_and_reopens_it(org):
    first = inbound_ingest(email("<1@x>", subject="退款"))
    ticket_change_status(ticket=first.ticket, status="solved", by=None)
    second = inbound_ingest(email("<2@x>", subject="Re: 退款", ticket_id=first.ticket.id))
    assert second.ticket == first.ticket
    first.ticket.refresh_from_db()
    assert first.ticket.status == Status.OPEN


def test_a_closed_ticket_is_not_reopened_a_new_one_starts(org):
    first = inbound_ingest(email("<1@x>"))
    ticket_change_status(ticket=first.ticket, status="closed", by=None)
    second = inbound_ingest(email("<2@x>", ticket_id=first.ticket.id))
    assert second.ticket != first.ticket


def test_thread_hint_of_another_customer_is_ignored(db):
    other = factories.ticket()
    result = inbound_ingest(email(ticket_id=other.id))
    assert result.ticket != other


def test_sender_is_attached_to_the_company_of_their_email_domain(db):
    acme = company_create(by=None, name="Acme", email_domain="acme.cn")
    result = inbound_ingest(email(sender="buyer@ACME.cn"))
    assert list(result.ticket.customer.companies.all()) == [acme]
    assert result.ticket.company == acme


def test_an_unusable_sender_address_keeps_the_message_flagged(db):
    result = inbound_ingest(email(sender="not an address", text="still here"))
    assert result.message.flagged and result.message.body_text == "still here"
    assert result.message.sender is None


def test_sms_sender_resolves_by_e164(db):
    person = factories.person(phones=["13800138000"])
    result = inbound_ingest(InboundMessage(channel="sms", sender_address="+86 138 0013 8000", external_id="SM1"))
    assert result.ticket.customer == person


def test_html_is_sanitized_on_the_way_in(db):
    result = inbound_ingest(email(html='<p onclick="x()">hi</p><script>alert(1)</script><img src="cid:logo">'))
    assert result.message.body_html == '<p>hi</p><img src="cid:logo">'


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_concurrent_ingestion_from_several_processes_stores_each_message_once():
    count, senders, processes = 40, 8, 4
    script = Path(__file__).with_name("ingest_worker.py")
    children = [
        subprocess.Popen(
            [sys.executable, str(script), str(seed), str(count), str(senders)],
            env=database_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(processes)
    ]
    created = 0
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        created += int(out.strip().splitlines()[-1])
    assert created == count  # every message created by exactly one process
    assert Message.objects.count() == count
    assert Message.objects.values("external_id").distinct().count() == count
    assert Person.objects.count() == senders
    assert Identity.objects.count() == senders


def test_the_message_received_event_already_knows_the_sender_of_a_new_ticket(db):
    """The opening message is stored with its sender and flag, not patched afterwards: receivers of
    `message.received` (run inside the insert) see the sender, and the ingest reads nothing back."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ticketing.events import ticket_event_recorded

    seen = []

    def receiver(sender, event, ticket, message=None, **kwargs):
        if event.kind == "message.received":
            seen.append((message.sender_id, message.flagged))

    inbound_ingest(email("<0@x>", sender="li@example.com"))
    ticket_event_recorded.connect(receiver)
    try:
        with CaptureQueriesContext(connection) as captured:
            result = inbound_ingest(email("<1@x>", sender="li@example.com", subject="Another question"))
    finally:
        ticket_event_recorded.disconnect(receiver)
    assert seen == [(result.message.sender_id, False)] and result.message.sender_id is not None
    sqls = [query["sql"] for query in captured]
    assert not any(sql.startswith('UPDATE "ticketing_message"') for sql in sqls)
    assert not any('FROM "ticketing_slatimer"' in sql for sql in sqls)
