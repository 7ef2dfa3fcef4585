"""Offer events: stored through ticketing's `ticket_event_record`, published after commit
to the same groups with the same frame, but all groups of all the offer events of one
transaction in a single trip to the channel layer (the sweep makes dozens per commit)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.db import transaction
from django.utils import timezone

from ticketing.events import (
    event_groups,
    event_payload,
    publishing_paused,
    ticket_event_record,
    ticket_event_recorded,
)
from ticketing.models import TicketEvent

logger = logging.getLogger(__name__)


class _Outbox:
    def __init__(self):
        self.frames: list[tuple[list[str], dict]] = []
        self.done = False

    def flush(self) -> None:
        self.done = True
        frames, self.frames = self.frames, []
        if frames:
            _send(frames)


PUBLISH_TIMEOUT = 10.0  # seconds; a stuck Redis must not hold routing up for longer
_loop: tuple[int, asyncio.AbstractEventLoop] | None = None
_loop_lock = threading.Lock()


def _send(frames: list[tuple[list[str], dict]]) -> None:
    """Send the frames and wait until they are sent. With Redis, on this process's own publishing loop:
    async_to_sync starts a new event loop per call, and channels_redis a new connection per loop, which
    cost 3 of the 4 ms an offer's frame took. Other layers (in memory) keep async_to_sync, which runs
    on the caller's own loop when there is one."""
    if not isinstance(get_channel_layer(), RedisChannelLayer):
        try:
            async_to_sync(_send_all)(frames)
        except Exception:  # e.g. called on a thread running an event loop; the commit's other hooks must run
            logger.exception("Could not publish %d offer frames", len(frames))
        return
    future = asyncio.run_coroutine_threadsafe(_send_all(frames), _publishing_loop())
    try:
        future.result(timeout=PUBLISH_TIMEOUT)
    except Exception:  # a lost live update must never break routing; consoles replay on reconnect
        future.cancel()
        logger.exception("Could not publish %d offer frames", len(frames))


def _publishing_loop() -> asyncio.AbstractEventLoop:
    """One event loop per process, on a daemon thread (a forked child starts its own)."""
    global _loop
    with _loop_lock:
        if _loop is None or _loop[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="routing-publish", daemon=True).start()
            _loop = (os.getpid(), loop)
        return _loop[1]


async def _send_all(frames: list[tuple[list[str], dict]]) -> None:
    """Each group gets its frames in order; the groups are served side by side (one round trip
    to Redis per group and frame either way, but no longer all one after the other)."""
    layer = get_channel_layer()
    if layer is None:
        return
    per_group: dict[str, list[dict]] = {}
    for groups, payload in frames:
        for group in groups:
            per_group.setdefault(group, []).append(payload)

    async def send(group: str, payloads: list[dict]) -> None:
        for payload in payloads:
            try:
                await layer.group_send(group, {"type": "ticket.event", "event": payload})
            except Exception:  # a lost live update must never break routing; consoles replay on reconnect
                logger.exception("Could not publish %s to %s", payload.get("kind"), group)

    await asyncio.gather(*(send(group, payloads) for group, payloads in per_group.items()))


def offer_event_record(*, ticket, kind: str, actor=None, data: dict, notify: list[int]):
    """Like ticket_event_record (same row, same groups, same frame), published once per transaction."""
    with publishing_paused():
        event = ticket_event_record(ticket=ticket, kind=kind, actor=actor, data=data, notify=notify)
    _queue_frames([(event_groups(ticket, notify), event_payload(event, ticket))])
    return event


def offer_events_record(entries) -> list[TicketEvent]:
    """Many offer events at once, each the row, signal and frame `offer_event_record` makes, in one INSERT.
    entries: (ticket, kind, data, notify) tuples."""
    now = timezone.now()
    events = TicketEvent.objects.bulk_create(
        [
            TicketEvent(ticket=ticket, kind=kind, data={**data, "notify": sorted(set(notify))}, at=now)
            for ticket, kind, data, notify in entries
        ]
    )
    frames = []
    for event, (ticket, _kind, _data, notify) in zip(events, entries, strict=True):
        ticket_event_recorded.send(sender=TicketEvent, event=event, ticket=ticket)
        frames.append((event_groups(ticket, notify), event_payload(event, ticket)))
    _queue_frames(frames)
    return events


def _queue_frames(frames: list[tuple[list[str], dict]]) -> None:
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _send(frames)
        return
    outbox = getattr(connection, "_routing_outbox", None)
    # The outbox belongs to the transaction whose on-commit list still holds its flush
    # (after a commit or a rollback the list is emptied, and a new outbox starts).
    if outbox is None or outbox.done or not any(entry[1] == outbox.flush for entry in connection.run_on_commit):
        outbox = _Outbox()
        connection._routing_outbox = outbox
        transaction.on_commit(outbox.flush)
    outbox.frames.extend(frames)
