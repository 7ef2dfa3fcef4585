"""Routing reacts to ticket events and presence changes, always after the commit."""

from __future__ import annotations

import logging

from django.db import transaction

from accounts.models import Presence
from routing import services

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


def on_ticket_event(sender, event, ticket, **kwargs):
    if services.routing_busy() or event.kind not in ROUTE_ON or _bulk_load():
        return
    if event.kind == "message.received":
        from routing.models import TicketRouting

        # Assigned: nothing to route. No routing row yet: a new ticket, whose ticket.created routes it.
        # Already waiting: offers and their expiry move it on; another chat line changes nothing
        # (and routing it again cost a third of each chat message).
        if (
            ticket.assignee_id is not None
            or not TicketRouting.objects.filter(pk=ticket.pk, waiting_since__isnull=True).exists()
        ):
            return
    frees = event.kind in FREES_CAPACITY and (
        event.kind != "ticket.assigned" or (event.data.get("assignee") or {}).get("from") is not None
    )
    if event.kind == "ticket.status_changed":
        frees = event.data.get("to") in {"solved", "closed"}
    transaction.on_commit(lambda: _safely(_after_event, ticket.pk, frees))


def on_presence_changed(sender, profile, old, new, **kwargs):
    user_id = profile.user_id
    if new == Presence.ONLINE:
        transaction.on_commit(lambda: _safely(services.waiting_route_for_agent))
    else:
        transaction.on_commit(lambda: _safely(services.agent_offline_handle, agent_id=user_id, presence=new))
