"""Routing for a worker that commits many tickets per transaction (the mail poller): the routing the
batch's events ask for runs once after its commit, for all its tickets together, instead of one ticket
at a time (about 25 queries in 3 transactions each). New tickets are placed in their queues in one
transaction and one sweep offers the waiting ones in the service order, before the poller goes on."""

from __future__ import annotations

import contextvars
import logging
from contextlib import contextmanager

from contact_center.scoped import scoped_value
from routing import services

logger = logging.getLogger(__name__)
_current = contextvars.ContextVar("routing_batch", default=None)


class RoutingBatch:
    def __init__(self) -> None:
        self.kinds: dict[int, set[str]] = {}  # ticket id → the kinds of its committed events
        self.frees = False  # an event may have freed an agent's capacity
        self.open = True

    def add(self, ticket_id: int, kind: str, frees: bool) -> None:
        """Called after the commit of the event's transaction (an on_commit hook: rolled back, never)."""
        if not self.open:  # committed after the batch ended (an outer transaction): route it now
            late = RoutingBatch()
            late.add(ticket_id, kind, frees)
            late.route()
            return
        self.kinds.setdefault(ticket_id, set()).add(kind)
        self.frees = self.frees or frees

    def route(self) -> None:
        self.open = False
        if not self.kinds:
            return
        try:
            _route(self.kinds, frees=self.frees)
        except Exception:  # never break the write that triggered us; the sweep catches up
            logger.exception("Routing a batch of %d ticket(s) failed", len(self.kinds))


def routing_batch() -> RoutingBatch | None:
    return _current.get()


@contextmanager
def routing_batched():
    """Routing asked for by the transactions committed inside runs together on leaving."""
    with scoped_value(_current, RoutingBatch, after=RoutingBatch.route):
        yield


def _route(kinds: dict[int, set[str]], *, frees: bool) -> None:
    from ticketing.models import Ticket

    messages_only = [pk for pk, k in kinds.items() if k == {"message.received"}]
    ids = sorted((set(kinds) - set(messages_only)) | _messages_may_route(messages_only))
    placed, waits = services.routings_place(ids)
    for pk in ids:
        if pk in placed:
            continue
        try:
            services.ticket_route(Ticket(pk=pk))  # seen before: placed already, routed as one
        except Exception:  # one ticket's trouble must not stop the others; the sweep retries
            logger.exception("Routing ticket %s failed", pk)
    if waits or frees:
        services.routing_sweep(limit=200)  # offers the new waiting tickets, older and higher-priority first


def _messages_may_route(ticket_ids: list[int]) -> set[int]:
    """`receivers._message_may_route` for many tickets, on the committed rows."""
    if not ticket_ids:
        return set()
    from routing.models import QueueRouting, TicketRouting
    from ticketing.models import Ticket

    tickets = dict(Ticket.objects.filter(pk__in=ticket_ids, assignee__isnull=True).values_list("pk", "queue_id"))
    routings = dict(
        TicketRouting.objects.filter(pk__in=list(tickets), waiting_since__isnull=True).values_list("pk", "rule_id")
    )
    if not routings:
        return set()
    routed = set(QueueRouting.objects.filter(is_active=True).values_list("queue_id", flat=True))
    return {pk for pk, rule_id in routings.items() if rule_id is not None or tickets[pk] in routed}
