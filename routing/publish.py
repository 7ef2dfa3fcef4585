"""Offer events: stored through ticketing's `ticket_event_record`, published after commit
to the same groups with the same frame, but all groups of all the offer events of one
transaction in a single trip to the channel layer (the sweep makes dozens per commit)."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from ticketing.events import event_groups, event_payload, publishing_paused, ticket_event_record

logger = logging.getLogger(__name__)


class _Outbox:
    def __init__(self):
        self.frames: list[tuple[list[str], dict]] = []
        self.done = False

    def flush(self) -> None:
        self.done = True
        frames, self.frames = self.frames, []
        if frames:
            async_to_sync(_send_all)(frames)


async def _send_all(frames: list[tuple[list[str], dict]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for groups, payload in frames:
        for group in groups:
            try:
                await layer.group_send(group, {"type": "ticket.event", "event": payload})
            except Exception:  # a lost live update must never break routing; consoles replay on reconnect
                logger.exception("Could not publish %s to %s", payload.get("kind"), group)


def offer_event_record(*, ticket, kind: str, actor=None, data: dict, notify: list[int]):
    """Like ticket_event_record (same row, same groups, same frame), published once per transaction."""
    with publishing_paused():
        event = ticket_event_record(ticket=ticket, kind=kind, actor=actor, data=data, notify=notify)
    frame = (event_groups(ticket, notify), event_payload(event, ticket))
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        async_to_sync(_send_all)([frame])
        return event
    outbox = getattr(connection, "_routing_outbox", None)
    # The outbox belongs to the transaction whose on-commit list still holds its flush
    # (after a commit or a rollback the list is emptied, and a new outbox starts).
    if outbox is None or outbox.done or not any(entry[1] == outbox.flush for entry in connection.run_on_commit):
        outbox = _Outbox()
        connection._routing_outbox = outbox
        transaction.on_commit(outbox.flush)
    outbox.frames.append(frame)
    return event
