"""The poller's batch path (one look-up a batch for senders, threads and ticket numbers, raw emails and ticket
numbers written once a batch) stores what the per-message path stores, row for row."""

import random
import re
from collections import Counter

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bench.email import _message
from channels_app.email.inbound import FETCH_BATCH, _store_batch, _store_one
from channels_app.models import OutboundEmail, RawEmail
from crm.models import Person, PersonCompany, TimelineEntry
from crm.services import company_create
from knowledge_base.models import PendingIndex
from tests import factories
from tests.channels_app.email.test_batch_routing import email
from tests.channels_app.email.test_inbound import make_mailbox
from ticketing.models import Message, Status, Ticket, TicketEvent
from ticketing.services import TICKET_NUMBER_OFFSET, ticket_create, ticket_numbers_batched

pytestmark = pytest.mark.django_db(transaction=True)


def _setup():
    """A known customer with an open ticket (an email of ours on it) and a closed one, and a company by domain."""
    company_create(by=None, name="华东贸易", email_domain="example.cn")
    known = factories.person("老客户", emails=["old@example.cn"])
    open_ticket = factories.ticket(customer=known, subject="旧订单", channel="email")
    closed = factories.ticket(customer=known, subject="已关闭", channel="email")
    Ticket.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    OutboundEmail.objects.create(ticket=open_ticket, email_id="<ours-1@shop.example>", to_address="old@example.cn")
    OutboundEmail.objects.create(ticket=closed, email_id="<ours-2@shop.example>", to_address="old@example.cn")
    return open_ticket


def _corpus(open_ticket: Ticket) -> list[bytes]:
    rng, earlier, raws = random.Random(29), [], []
    for n in range(110):  # the benchmark's mix: new and known senders, replies into earlier tickets of any batch
        raw, ref = _message(n, rng, earlier)
        earlier.append(ref)
        raws.append(raw)
    raws[30:30] = [
        raws[3],  # a resend of a message of an earlier batch
        raws[28],  # a resend of a message of this batch
        email(901, sender="old@example.cn", in_reply_to="<ours-1@shop.example>"),  # a reply to our email
        email(902, sender="Old@Example.cn", subject=f"Re: [#{open_ticket.number}] 旧订单"),  # by ticket number
        email(903, sender="old@example.cn", in_reply_to="<ours-2@shop.example>"),  # a follow-up of a closed one
        email(904, sender="new@example.cn"),
        email(905, sender="new@example.cn", in_reply_to="<batch-904@example.cn>"),  # same batch, new sender
        email(906, sender="other@example.cn", in_reply_to="<batch-904@example.cn>"),  # someone else's thread
        email(907, sender="new@example.cn", subject="Re: [#1] 不存在的工单"),  # a number no ticket has
        b"\x00\xff not an email at all",
    ]
    return raws


def _wipe() -> None:
    Ticket.objects.all().delete()
    Person.objects.all().delete()
    TimelineEntry.objects.all().delete()
    PendingIndex.objects.all().delete()
    OutboundEmail.objects.all().delete()
    from crm.models import Company

    Company.objects.all().delete()


def _snapshot() -> dict:
    key = {}
    for ticket in Ticket.objects.order_by("pk"):
        first = ticket.messages.filter(direction="in").order_by("pk").first()
        key[ticket.pk] = (first.external_id if first else "") or ticket.subject
    names = dict(Person.objects.values_list("pk", "name"))
    by_number = {ticket.number: key[ticket.pk] for ticket in Ticket.objects.all()}

    def numbers(text):
        return re.sub(r"#(\d+)", lambda m: f"#{by_number.get(int(m[1]), m[1])}", text)

    return {
        "tickets": sorted(
            (
                key[t.pk],
                numbers(t.subject),
                t.status,
                t.customer.name,
                t.company.name if t.company else "",
                t.language,
                t.number == t.pk + TICKET_NUMBER_OFFSET,
            )
            for t in Ticket.objects.select_related("customer", "company")
        ),
        "messages": sorted(
            (
                m.external_id or "",
                key[m.ticket_id],
                m.direction,
                m.sender.value if m.sender else "",
                m.flagged,
                numbers(m.body_text),
                m.attachments.count(),
            )
            for m in Message.objects.select_related("sender")
        ),
        "persons": sorted(
            (p.name, p.language, p.source, tuple(sorted(i.value for i in p.identities.all())))
            for p in Person.objects.prefetch_related("identities")
        ),
        "raw": sorted(
            (r.message.external_id or "", r.email_id, r.references, r.size, r.direction)
            for r in RawEmail.objects.select_related("message")
        ),
        "events": Counter(
            (key[e.ticket_id], e.kind, by_number.get(e.data.get("number"), "")) for e in TicketEvent.objects.all()
        ),
        "timeline": Counter((e.kind, numbers(e.summary)) for e in TimelineEntry.objects.all()),
        # What is queued for the search index (a record queued in several transactions has several rows).
        "search queue": {
            key.get(i, i) if kind == "ticket" else names.get(i, i)
            for kind, i in PendingIndex.objects.values_list("kind", "object_id")
        },
        "company links": sorted(PersonCompany.objects.values_list("person__name", "company__name", "is_primary")),
        "outbound": sorted(
            (o.kind, o.to_address, key.get(o.ticket_id, ""), numbers(o.subject)) for o in OutboundEmail.objects.all()
        ),
    }


def test_the_batch_path_stores_what_the_per_message_path_stores(org):
    open_ticket = _setup()
    mailbox = make_mailbox(auto_acknowledge=True)
    for uid, raw in enumerate(_corpus(open_ticket), start=1):
        assert _store_one(mailbox=mailbox, uid=uid, raw=raw)
    one_by_one = _snapshot()

    _wipe()
    open_ticket = _setup()
    mailbox = make_mailbox(auto_acknowledge=True, name="Support 2")
    items = list(enumerate(_corpus(open_ticket), start=1))
    for start in range(0, len(items), FETCH_BATCH):
        batch = items[start : start + FETCH_BATCH]
        assert _store_batch(mailbox=mailbox, items=batch) == len(batch)
    batched = _snapshot()

    for part in batched:
        assert batched[part] == one_by_one[part], part
    assert batched == one_by_one
    assert not Ticket.objects.filter(number__isnull=True).exists()


def test_a_batch_looks_its_senders_up_creates_the_new_ones_and_writes_raw_emails_and_numbers_once(org):
    items = [(n, email(n, sender=f"buyer{n % 3}@example.cn")) for n in range(1, 11)]
    with CaptureQueriesContext(connection) as queries:
        assert _store_batch(mailbox=make_mailbox(), items=items) == 10
    sqls = [q["sql"] for q in queries.captured_queries]
    assert len([s for s in sqls if s.startswith('INSERT INTO "channels_app_rawemail"')]) == 1
    assert len([s for s in sqls if s.startswith('UPDATE "ticketing_ticket" SET "number"')]) == 1
    assert len([s for s in sqls if 'FROM "crm_identity"' in s]) == 1
    assert len([s for s in sqls if s.startswith('INSERT INTO "crm_person"')]) == 1
    assert len([s for s in sqls if s.startswith('INSERT INTO "crm_identity"')]) == 1
    assert Person.objects.count() == 3
    assert RawEmail.objects.count() == 10
    assert sorted(Ticket.objects.values_list("number", flat=True)) == sorted(
        pk + TICKET_NUMBER_OFFSET for pk in Ticket.objects.values_list("pk", flat=True)
    )


def test_ticket_numbers_batched_writes_the_numbers_before_the_commit(org):
    customer = factories.person()
    with transaction.atomic(), ticket_numbers_batched():
        ticket = ticket_create(by=None, customer=customer, subject="Batched")
        assert ticket.number == ticket.pk + TICKET_NUMBER_OFFSET
        assert Ticket.objects.get(pk=ticket.pk).number is None  # written with the batch's others
    assert Ticket.objects.get(pk=ticket.pk).number == ticket.pk + TICKET_NUMBER_OFFSET
    unbatched = ticket_create(by=None, customer=customer, subject="At once")
    assert Ticket.objects.get(pk=unbatched.pk).number == unbatched.pk + TICKET_NUMBER_OFFSET
