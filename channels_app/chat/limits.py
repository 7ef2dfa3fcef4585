"""Rate limits of the chat socket: token buckets per connection, per visitor and per client address.

Buckets live in the serving process (a visitor's sockets land on one process behind a
sticky proxy; several processes each enforce the limits on what they serve)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings


@dataclass
class Bucket:
    capacity: float
    per_second: float
    tokens: float = -1.0
    updated: float = field(default_factory=time.monotonic)

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if self.tokens < 0:
            self.tokens = self.capacity
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _setting(name: str, default: tuple[float, float]) -> tuple[float, float]:
    return tuple(getattr(settings, name, default))


# (burst, refill per second)
FRAMES_PER_CONNECTION = ("CHAT_LIMIT_FRAMES", (40, 8))
MESSAGES_PER_VISITOR = ("CHAT_LIMIT_VISITOR_MESSAGES", (10, 0.5))
MESSAGES_PER_ADDRESS = ("CHAT_LIMIT_ADDRESS_MESSAGES", (60, 10))
MAX_KEYS = 50_000


class SharedBuckets:
    """Buckets by key across the process's connections; forgets the oldest when too many."""

    def __init__(self, limit: tuple[str, tuple[float, float]]):
        self.limit = limit
        self.buckets: dict[str, Bucket] = {}

    def take(self, key: str) -> bool:
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= MAX_KEYS:
                for old in list(self.buckets)[: MAX_KEYS // 10]:
                    del self.buckets[old]
            capacity, per_second = _setting(*self.limit)
            bucket = self.buckets[key] = Bucket(capacity, per_second)
        return bucket.take()


visitor_messages = SharedBuckets(MESSAGES_PER_VISITOR)
address_messages = SharedBuckets(MESSAGES_PER_ADDRESS)


def connection_bucket() -> Bucket:
    capacity, per_second = _setting(*FRAMES_PER_CONNECTION)
    return Bucket(capacity, per_second)


def message_allowed(*, visitor_key: str, address: str) -> bool:
    return visitor_messages.take(visitor_key) and address_messages.take(address)
