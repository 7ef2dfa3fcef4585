"""Run by test_concurrency in several OS processes at once: create tickets, accept,
decline, solve, expire and sweep in a seeded random order. Prints how many offers
this process accepted and whether it ever saw an agent over capacity."""

import os
import random
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contact_center.test_settings")
django.setup()

from django.core.exceptions import ValidationError  # noqa: E402
from django.db import OperationalError  # noqa: E402

from accounts.models import AgentProfile, User  # noqa: E402
from crm.models import Person  # noqa: E402
from routing.models import Offer, OfferStatus  # noqa: E402
from routing.selection import capacity_channel  # noqa: E402
from routing.services import offer_accept, offer_decline, offers_expire, routing_sweep  # noqa: E402
from routing.snapshot import agent_load  # noqa: E402
from ticketing.models import Status, Ticket  # noqa: E402
from ticketing.services import ticket_change_status, ticket_create  # noqa: E402


def main(seed: int, steps: int) -> None:
    rng = random.Random(seed)
    agents = list(User.objects.filter(agent_profile__isnull=False).order_by("id"))
    customer = Person.objects.order_by("id").first()
    accepted = over = 0
    for n in range(steps):
        roll = rng.random()
        try:
            if roll < 0.35:
                ticket_create(
                    by=None,
                    customer=customer,
                    subject=f"p{seed} t{n}",
                    channel=rng.choice(["email", "chat"]),
                    body_text="hello",
                )
            elif roll < 0.75:
                offer = Offer.objects.filter(status=OfferStatus.PENDING).order_by("?").first()
                if offer is None:
                    continue
                agent = next(a for a in agents if a.id == offer.agent_id)
                if rng.random() < 0.75:
                    ticket = offer_accept(offer=offer, agent=agent)
                    accepted += 1
                    channel = capacity_channel(ticket.channel)
                    profile = AgentProfile.objects.get(user=agent)
                    if agent_load(agent.id, channel, with_offers=False) > profile.capacity_for(channel):
                        over += 1
                else:
                    offer_decline(offer=offer, agent=agent)
            elif roll < 0.9:
                ticket = Ticket.objects.filter(assignee__isnull=False, status=Status.OPEN).order_by("?").first()
                if ticket is not None:
                    ticket_change_status(ticket=ticket, status=Status.SOLVED, by=None)
            else:
                offers_expire()
                routing_sweep()
        except ValidationError:
            pass  # lost a race (already taken, decided, at capacity): exactly what must be refused
        except OperationalError as exc:  # SQLite busy beyond its timeout: report, never hide
            print(f"operational error: {exc}", file=sys.stderr)
            raise
    print(accepted, over)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
