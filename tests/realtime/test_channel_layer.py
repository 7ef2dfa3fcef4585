"""The production channel layer against a real Redis: a burst to the sockets of one server
process reaches them whole and in order (one Redis list holds all of a process's sockets)."""

import asyncio
import uuid

from channels_redis.core import RedisChannelLayer

from contact_center.env import redis_channel_layer
from tests.realtime.live import private_redis_url
from tests.services import need_redis

BURST = 1_500  # more than the old capacity of 1,000; chat at 200 messages/s backs up further


def test_a_burst_of_live_events_to_one_server_process_loses_nothing():
    config = redis_channel_layer(private_redis_url(need_redis()))["CONFIG"]

    async def scenario():
        layer = RedisChannelLayer(**config)
        sockets = [await layer.new_channel() for _ in range(3)]  # three consoles on one daphne
        group = f"team.burst-{uuid.uuid4().hex}"
        for channel in sockets:
            await layer.group_add(group, channel)
        try:
            for n in range(BURST):
                await layer.group_send(group, {"type": "ticket.event", "n": n})
            received = []
            for _ in range(BURST):
                message = await asyncio.wait_for(layer.receive(sockets[0]), timeout=5)
                received.append(message["n"])
            return received
        finally:
            for channel in sockets:
                await layer.group_discard(group, channel)
            await layer.flush()
            await layer.close_pools()

    assert asyncio.run(scenario()) == list(range(BURST))
