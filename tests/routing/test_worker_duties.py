"""The worker's routing duties, run as a real process: `run_worker --only offers_expire,routing_sweep --once`."""

import datetime as dt

import pytest
from django.utils import timezone

from routing.models import Offer, OfferStatus, TicketRouting
from tests import factories
from tests.processes import manage
from tests.routing.helpers import routed_queue, skill


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_one_worker_round_expires_the_offer_and_offers_the_ticket_to_the_next_agent():
    team = factories.team("Billing")
    first = factories.agent("first", teams=[team])
    second = factories.agent("second", teams=[team])
    skill(first, "billing", 5)
    skill(second, "billing", 3)
    rule = routed_queue(team, target="billing >= 3")
    ticket = factories.ticket(channel="email", queue_=rule.queue)  # routed on commit: offered to `first`
    offer = Offer.objects.get(ticket=ticket, status=OfferStatus.PENDING)
    assert offer.agent == first
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    process = manage("run_worker", "--only", "offers_expire,routing_sweep", "--once")
    assert process.wait(timeout=60) == 0
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.EXPIRED
    assert Offer.objects.get(ticket=ticket, status=OfferStatus.PENDING).agent == second
    assert TicketRouting.objects.get(pk=ticket.pk).waiting_since is not None
