"""Routing reacts to ticket events and presence changes, always after the commit."""

from __future__ import annotations

import logging

from django.db import transaction

from accounts.models import Presence
from routing import services
from routing.batch import routing_batch

logger = logging.getLogger(__name__)
# Events after which the ticket may be waiting for an agent (or stop waiting).
ROUTE_ON = {
    "ticket.created",
    "ticket.assigned",
    "ticket.status_changed",
    "message.received",
    "ticket.merged",
}
# Events that may free an agent's capacity.
FREES_CAPACITY = {"ticket.status_changed", "ticket.merged", "ticket.assigned"}


def _safely(func, *args, **kwargs):
    try:
        func(*args, **kwargs)
    except Exception:  # never break the write that triggered us; the sweep catches up
        logger.exception("Routing after an event failed")


def _after_event(ticket_id: int, frees: bool) -> None:
    from ticketing.models import Ticket

    services.ticket_route(Ticket(pk=ticket_id))  # it reads the ticket itself
    if frees:
        services.waiting_route_for_agent()


def _bulk_load() -> bool:
    """Events stored with publishing paused (the demo seed's history) are not live: nothing to route."""
    from ticketing.events import publishing_is_paused

    return publishing_is_paused()


def _message_may_route(ticket) -> bool:
    """Whether another message on the ticket can change where it goes. Assigned: no. No routing row yet:
    a new ticket, whose ticket.created routes it. Already waiting: offers and their expiry move it on.
    In a queue that no routing rule serves: nothing to do, and routing it again cost more than storing
    the message (every chat line of an unrouted widget queue did)."""
    from routing.models import QueueRouting, TicketRouting

    if ticket.assignee_id is not None:
        return False
    routing = TicketRouting.objects.filter(pk=ticket.pk).values_list("waiting_since", "rule_id").first()
    if routing is None or routing[0] is not None:
        return False
    return routing[1] is not None or QueueRouting.objects.filter(queue_id=ticket.queue_id, is_active=True).exists()


def on_ticket_event(sender, event, ticket, **kwargs):
    if services.routing_busy() or event.kind not in ROUTE_ON or _bulk_load():
        return
    frees = event.kind in FREES_CAPACITY and (
        event.kind != "ticket.assigned" or (event.data.get("assignee") or {}).get("from") is not None
    )
    if event.kind == "ticket.status_changed":
        frees = event.data.get("to") in {"solved", "closed"}
    batch = routing_batch()
    if batch is not None:  # routed with the rest of the batch after its commit (the message check too)
        ticket_id, kind = ticket.pk, event.kind
        transaction.on_commit(lambda: batch.add(ticket_id, kind, frees))
        return
    if event.kind == "message.received" and not _message_may_route(ticket):
        return
    transaction.on_commit(lambda: _safely(_after_event, ticket.pk, frees))


def on_presence_changed(sender, profile, old, new, **kwargs):
    user_id = profile.user_id
    if new == Presence.ONLINE:
        transaction.on_commit(lambda: _safely(services.waiting_route_for_agent))
    else:
        transaction.on_commit(lambda: _safely(services.agent_offline_handle, agent_id=user_id, presence=new))
