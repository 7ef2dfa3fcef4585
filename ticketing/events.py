"""Ticket events: stored in the transaction, published to websockets after commit.

Groups: `team.<id>` (the ticket's team), `agent.<id>` (its assignee and anyone
in `notify`, e.g. an agent receiving an offer) and `supervisors`. The frame
format is documented in docs/websocket.md.

`ticket_event_recorded` is sent inside the transaction for every event, so other
apps (routing) can react without ticketing importing them; receivers that do
work should defer it with `transaction.on_commit`.
"""

import contextvars
import logging
from contextlib import contextmanager

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from ticketing.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)
ticket_event_recorded = Signal()  # sender=TicketEvent, event=TicketEvent, ticket=Ticket, message=Message | None
_publishing_paused = contextvars.ContextVar("ticket_events_publishing_paused", default=False)


@contextmanager
def publishing_paused():
    """Store events but broadcast none: for bulk loads such as the demo seed."""
    token = _publishing_paused.set(True)
    try:
        yield
    finally:
        _publishing_paused.reset(token)


def publishing_is_paused() -> bool:
    return _publishing_paused.get()


_publishing_batch = contextvars.ContextVar("ticket_events_publishing_batch", default=None)


@contextmanager
def publishing_batched():
    """Events committed inside are published together on leaving, in one trip to the channel layer
    instead of one per event: for a worker storing many messages per transaction (the mail poller)."""
    if _publishing_batch.get() is not None:
        yield
        return
    frames: list[tuple[list[str], dict]] = []
    token = _publishing_batch.set(frames)
    try:
        yield
    finally:
        _publishing_batch.reset(token)
        if frames:
            _publish_all(frames)


async def _send_to_groups(layer, frames: list[tuple[list[str], dict]]) -> None:
    for groups, payload in frames:
        for group in groups:
            try:
                await layer.group_send(group, {"type": "ticket.event", "event": payload})
            except Exception:  # a lost live update must never undo or break the write
                logger.exception("Could not publish %s to %s", payload.get("kind"), group)


def _publish(groups: list[str], payload: dict) -> None:
    batch = _publishing_batch.get()
    if batch is not None:
        batch.append((groups, payload))
        return
    _publish_all([(groups, payload)])


def _publish_all(frames: list[tuple[list[str], dict]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # One trip into the event loop for all groups: async_to_sync costs about a millisecond.
    try:
        async_to_sync(_send_to_groups)(layer, frames)
    except Exception:  # e.g. called from a thread that runs an event loop: the write stands regardless
        logger.exception("Could not publish %s", [payload.get("kind") for _groups, payload in frames])


def event_groups(ticket: Ticket, notify: list[int] | tuple = ()) -> list[str]:
    groups = ["supervisors"]
    if ticket.team_id:
        groups.append(f"team.{ticket.team_id}")
    for user_id in {ticket.assignee_id, *notify} - {None}:
        groups.append(f"agent.{user_id}")
    return groups


def event_payload(event: TicketEvent, ticket: Ticket) -> dict:
    return {
        "id": event.id,
        "kind": event.kind,
        "ticket": {
            "id": ticket.id,
            "number": ticket.number,
            "status": ticket.status,
            "team": ticket.team_id,
            "queue": ticket.queue_id,
            "assignee": ticket.assignee_id,
        },
        "data": event.data,
        "at": event.at.isoformat(),
    }


def ticket_event_record(
    *,
    ticket: Ticket,
    kind: str,
    actor=None,
    data: dict | None = None,
    notify: list[int] | tuple = (),
    message=None,
) -> TicketEvent:
    """Store one event; after commit, publish it to the ticket's audiences plus the
    `agent.<id>` groups of `notify` (whose ids are kept in `data["notify"]` so a
    reconnecting console can replay them). `message`: the Message the event is about, handed
    to the receivers (as the signal's `message` argument) so they need not read it back."""
    data = dict(data or {})
    if notify:
        data["notify"] = sorted(set(notify))
    event = TicketEvent.objects.create(ticket=ticket, kind=kind, actor=actor, data=data, at=timezone.now())
    groups = event_groups(ticket, notify)
    payload = event_payload(event, ticket)
    ticket_event_recorded.send(sender=TicketEvent, event=event, ticket=ticket, message=message)
    if not _publishing_paused.get():
        transaction.on_commit(lambda: _publish(groups, payload))
    return event
