"""Ticket events: stored in the transaction, published to websockets after commit.

Groups: `team.<id>` (the ticket's team), `agent.<id>` (its assignee and anyone
in `notify`, e.g. an agent receiving an offer) and `supervisors`. The frame
format is documented in docs/websocket.md.

`ticket_event_recorded` is sent inside the transaction for every event, so other
apps (routing) can react without ticketing importing them; receivers that do
work should defer it with `transaction.on_commit`.
"""

import asyncio
import contextvars
import logging
from contextlib import contextmanager

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from contact_center.deferred import insert_or_defer
from contact_center.scoped import scoped_value
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
def publishing_batched(*, into: list[tuple[str, dict]] | None = None):
    """Group sends after commits inside (ticket events, and the chat frames sent with `group_publish`)
    go out together on leaving, in one trip to the channel layer instead of one per send: for a worker
    storing many messages per transaction (the mail poller) and for the chat socket's database thread.
    `into`: the (group, message) sends are put there on leaving, for the caller to send with
    `publish_sends` from its own event loop (the chat's group commit), instead of being sent."""
    with scoped_value(_publishing_batch, list, after=_send_all if into is None else into.extend):
        yield


async def _send_group(layer, group: str, messages: list[dict]) -> bool:
    ok = True
    for message in messages:
        try:
            await layer.group_send(group, message)
        except Exception:  # a lost live update must never undo or break the write
            logger.exception("Could not publish %s to %s", _what(message), group)
            ok = False
    return ok


async def publish_sends(sends: list[tuple[str, dict]]) -> bool:
    """(group, message) sends from an event loop: in one trip where the layer can (the production layer's
    `group_send_many`), else each group's messages in order and different groups at the same time."""
    layer = get_channel_layer()
    if not sends or layer is None:
        return not sends
    return await _send_to_groups(layer, sends)


async def _send_to_groups(layer, sends: list[tuple[str, dict]]) -> bool:
    if hasattr(layer, "group_send_many"):
        try:
            await layer.group_send_many(sends)
            return True
        except Exception:  # a lost live update must never undo or break the write
            logger.exception("Could not publish %s", [_what(message) for _group, message in sends])
            return False
    by_group: dict[str, list[dict]] = {}
    for group, message in sends:
        by_group.setdefault(group, []).append(message)
    results = await asyncio.gather(*(_send_group(layer, group, messages) for group, messages in by_group.items()))
    return all(results)


def _what(message: dict) -> str:
    return (message.get("event") or {}).get("kind") or message.get("type", "?")


def _send_all(sends: list[tuple[str, dict]]) -> bool:
    if not sends:
        return True
    layer = get_channel_layer()
    if layer is None:
        return False
    # One trip into the event loop for all groups: async_to_sync costs about a millisecond.
    try:
        return async_to_sync(_send_to_groups)(layer, sends)
    except Exception:  # e.g. called from a thread that runs an event loop: the write stands regardless
        logger.exception("Could not publish %s", [_what(message) for _group, message in sends])
        return False


def group_publish(group: str, message: dict, *, batch: bool = True) -> bool:
    """One channel-layer message to a group now, or with the batch of `publishing_batched` when one is
    open (then the result only says it was queued). `batch=False`: now, to learn whether it went."""
    sends = _publishing_batch.get()
    if batch and sends is not None:
        sends.append((group, message))
        return True
    return _send_all([(group, message)])


def _publish(groups: list[str], payload: dict) -> None:
    message = {"type": "ticket.event", "event": payload}
    batch = _publishing_batch.get()
    if batch is not None:
        batch.extend((group, message) for group in groups)
        return
    _send_all([(group, message) for group in groups])


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
    event = TicketEvent(ticket=ticket, kind=kind, actor=actor, data=data, at=timezone.now())
    paused = _publishing_paused.get()
    if paused:  # the caller publishes it itself (routing's offers) and needs its id now
        event.save(force_insert=True)
    else:  # inserted with its batch's other events when a worker's batch is open (contact_center.deferred)
        insert_or_defer([event])
    groups = event_groups(ticket, notify)
    payload = event_payload(event, ticket)  # the ticket as it is now; the id is known by the commit
    ticket_event_recorded.send(sender=TicketEvent, event=event, ticket=ticket, message=message)
    if not paused:
        transaction.on_commit(lambda: _publish(groups, {**payload, "id": event.id}))
    return event
