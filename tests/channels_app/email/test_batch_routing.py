"""The poller's batch: its new tickets are routed together right after its commit (routing/batch.py),
not one by one, and not left to the periodic sweep."""

from email.message import EmailMessage

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.email.inbound import _store_batch
from routing.models import Offer, OfferStatus, TicketRouting
from tests import factories
from tests.channels_app.email.test_inbound import make_mailbox
from tests.routing.helpers import routed_queue, skill
from ticketing.models import Ticket
from ticketing.services import ticket_create

pytestmark = pytest.mark.django_db(transaction=True)


def email(n: int, *, sender: str = "", subject: str = "", in_reply_to: str = "") -> bytes:
    mime = EmailMessage()
    mime.set_content("您好，我的订单还没发货。", charset="utf-8")
    mime["From"] = sender or f"buyer{n}@example.cn"
    mime["To"] = "support@shop.example"
    mime["Subject"] = subject or f"订单 {n} 还没发货"
    mime["Message-ID"] = f"<batch-{n}@example.cn>"
    if in_reply_to:
        mime["In-Reply-To"] = in_reply_to
    return mime.as_bytes()


@pytest.fixture
def billing(org):
    skill(org.agent_zh, "billing", 5)
    factories.queue("Default", team_=org.billing_team, is_default=True)
    return routed_queue(org.billing_team, target="billing >= 3", languages=["zh"], channels=["email"])


def pending(ticket):
    return list(Offer.objects.filter(ticket=ticket, status=OfferStatus.PENDING).values_list("agent_id", flat=True))


def test_a_new_email_ticket_is_offered_to_the_free_agent_as_the_batch_commits(org, billing):
    assert _store_batch(mailbox=make_mailbox(), items=[(1, email(1))]) == 1
    ticket = Ticket.objects.get()
    # Placed by the rule and offered before the poller goes on: no routing sweep ran in between.
    assert ticket.queue == billing.queue
    assert pending(ticket) == [org.agent_zh.id]
    assert TicketRouting.objects.get(pk=ticket.pk).rule == billing


def test_a_batch_is_routed_in_a_few_statements_however_many_tickets_it_holds(org, billing):
    """One ticket at a time cost about 25 queries each; the batch's routing does not grow with it."""
    items = [(n, email(n)) for n in range(1, 11)]
    with CaptureQueriesContext(connection) as queries:
        assert _store_batch(mailbox=make_mailbox(), items=items) == 10
    routing_reads = [q for q in queries.captured_queries if 'FROM "routing_ticketrouting"' in q["sql"]]
    assert len(routing_reads) <= 6
    assert TicketRouting.objects.filter(rule=billing, waiting_since__isnull=False).count() == 10
    # The free agent got what their capacity allows, the oldest first; the rest wait for the sweep.
    offered = Offer.objects.filter(agent=org.agent_zh, status=OfferStatus.PENDING).order_by("ticket_id")
    assert offered.exists()
    assert list(offered.values_list("ticket_id", flat=True)) == sorted(
        Ticket.objects.order_by("pk").values_list("pk", flat=True)[: offered.count()]
    )


def test_a_reply_that_makes_an_unrouted_ticket_wait_is_routed_with_the_batch(org, billing):
    customer = factories.person(emails=["buyer7@example.cn"])
    ticket = ticket_create(by=None, customer=customer, subject="订单", channel="email", queue=billing.queue)
    TicketRouting.objects.update_or_create(pk=ticket.pk, defaults={"rule": billing, "waiting_since": None})
    Offer.objects.all().delete()
    reply = email(7, sender="buyer7@example.cn", subject=f"回复：订单 [#{ticket.number}]")
    assert _store_batch(mailbox=make_mailbox(), items=[(1, reply)]) == 1
    assert Ticket.objects.count() == 1 and ticket.messages.count() == 1  # threaded into it
    assert TicketRouting.objects.get(pk=ticket.pk).waiting_since is not None
    assert pending(ticket) == [org.agent_zh.id]


def test_without_routing_rules_new_tickets_get_their_routing_row_and_wait_nowhere(org):
    assert _store_batch(mailbox=make_mailbox(), items=[(1, email(1)), (2, email(2))]) == 2
    rows = list(TicketRouting.objects.values_list("rule_id", "waiting_since"))
    assert rows == [(None, None), (None, None)]
    assert not Offer.objects.exists()
