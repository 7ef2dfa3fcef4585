"""The poller's batch writes its timeline lines and search-queue rows in bulk before its commit
(contact_center/deferred.py): none of a message whose savepoint rolled back, all of the others."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from channels_app.email import inbound
from channels_app.email.inbound import _store_batch
from contact_center.deferred import insert_or_defer, inserts_deferred
from crm.models import TimelineEntry
from knowledge_base.models import PendingIndex
from tests import factories
from tests.channels_app.email.test_batch_routing import email
from tests.channels_app.email.test_inbound import make_mailbox
from ticketing.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_batch_writes_its_timeline_in_one_statement(org):
    with CaptureQueriesContext(connection) as queries:
        assert _store_batch(mailbox=make_mailbox(), items=[(n, email(n)) for n in range(1, 6)]) == 5
    inserts = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "crm_timelineentry"')]
    assert len(inserts) == 1
    assert TimelineEntry.objects.filter(kind="ticket_created").count() == 5
    assert TimelineEntry.objects.filter(kind="customer_created").count() == 5
    assert set(PendingIndex.objects.filter(kind="ticket").values_list("object_id", flat=True)) == set(
        Ticket.objects.values_list("pk", flat=True)
    )


def test_nothing_deferred_by_a_rolled_back_message_is_written(org, monkeypatch):
    real = inbound.email_ingest

    def broken_after_the_writes(*, raw, mailbox=None, queue=None):
        stored = real(raw=raw, mailbox=mailbox, queue=queue)
        if b"batch-2@" in raw:
            raise RuntimeError("boom after the writes")
        return stored

    monkeypatch.setattr(inbound, "email_ingest", broken_after_the_writes)
    assert _store_batch(mailbox=make_mailbox(), items=[(n, email(n)) for n in range(1, 4)]) == 3
    tickets = set(Ticket.objects.values_list("pk", flat=True))  # the broken one is kept flagged, a ticket of its own
    assert len(tickets) == 3
    assert set(TimelineEntry.objects.filter(kind="ticket_created").values_list("ref_id", flat=True)) == tickets
    assert set(PendingIndex.objects.filter(kind="ticket").values_list("object_id", flat=True)) == tickets
    assert PendingIndex.objects.filter(kind="ticket").count() == 3


def test_rows_deferred_outside_a_transaction_are_saved_at_once(org):
    with inserts_deferred():
        insert_or_defer([PendingIndex(kind="ticket", object_id=7)])
        assert PendingIndex.objects.filter(object_id=7).exists()
    with transaction.atomic(), inserts_deferred():
        insert_or_defer([PendingIndex(kind="ticket", object_id=8)])
        assert not PendingIndex.objects.filter(object_id=8).exists()
    assert PendingIndex.objects.filter(object_id=8).exists()


def test_a_batch_writes_its_ticket_events_in_one_statement_and_publishes_them_with_their_ids(org, monkeypatch):
    from ticketing import events

    sent = []
    monkeypatch.setattr(events, "_send_all", lambda sends: sent.extend(sends) or True)
    with CaptureQueriesContext(connection) as queries:
        assert _store_batch(mailbox=make_mailbox(), items=[(n, email(n)) for n in range(1, 4)]) == 3
    inserts = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "ticketing_ticketevent"')]
    assert len(inserts) == 1
    stored = {(e.pk, e.kind, e.ticket_id) for e in TicketEvent.objects.all()}
    assert len(stored) == 6  # each ticket's ticket.created and message.received
    frames = {
        (m["event"]["id"], m["event"]["kind"], m["event"]["ticket"]["id"])
        for _group, m in sent
        if m.get("type") == "ticket.event"
    }
    assert frames == stored


def test_an_event_recorded_outside_a_batch_is_saved_at_once(org):
    from ticketing.events import ticket_event_record

    ticket = Ticket.objects.create(subject="x", channel="email", customer=factories.person())
    with transaction.atomic():
        event = ticket_event_record(ticket=ticket, kind="note.added")
        assert event.pk is not None
