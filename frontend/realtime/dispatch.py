"""A consumer's dispatch without Channels' per-message `aclose_old_connections`.

Channels (4.2+) hops to the thread-sensitive executor before every handled message to close stale
database connections. Our consumers reach the database only through `database_sync_to_async`,
which closes stale connections in its own thread before and after each call, so the hop is pure
cost: at load it was one thread round trip per event per agent socket (ten per chat line of a
team), queued behind every other one on that single thread."""

from __future__ import annotations

from channels.consumer import get_handler_name


class NoConnectionHopDispatch:
    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
