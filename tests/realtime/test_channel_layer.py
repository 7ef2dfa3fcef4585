"""The production channel layer against a real Redis: a burst to the sockets of one server
process reaches them whole and in order (one Redis list holds all of a process's sockets); a group
send reaches every member socket on every server process once, skips members past the group expiry,
and reads messages written by the stock channels_redis layer."""

import asyncio
import time
import uuid

from channels_redis.core import RedisChannelLayer
from django.utils.module_loading import import_string

from contact_center.env import redis_channel_layer
from frontend.realtime import layers
from frontend.realtime.layers import POP_LUA
from tests.realtime.live import private_redis_url
from tests.services import need_redis

BURST = 1_500  # more than the old capacity of 1,000; chat at 200 messages/s backs up further


def _production_layer():
    settings = redis_channel_layer(private_redis_url(need_redis()))
    return import_string(settings["BACKEND"])(**settings["CONFIG"])


async def _received(layer, channel, count: int) -> list:
    return [await asyncio.wait_for(layer.receive(channel), timeout=5) for _ in range(count)]


def test_a_burst_of_live_events_to_one_server_process_loses_nothing():
    async def scenario():
        layer = _production_layer()
        sockets = [await layer.new_channel() for _ in range(3)]  # three consoles on one daphne
        group = f"team.burst-{uuid.uuid4().hex}"
        for channel in sockets:
            await layer.group_add(group, channel)
        try:
            for n in range(BURST):
                await layer.group_send(group, {"type": "ticket.event", "n": n})
            return [message["n"] for message in await _received(layer, sockets[0], BURST)]
        finally:
            for channel in sockets:
                await layer.group_discard(group, channel)
            await layer.flush()
            await layer.close_pools()

    assert asyncio.run(scenario()) == list(range(BURST))


def test_a_group_send_reaches_each_socket_of_every_server_process_once_in_order():
    async def scenario():
        servers = [_production_layer() for _ in range(2)]  # two daphne processes
        sockets = [[await layer.new_channel() for _ in range(3)] for layer in servers]
        publisher = _production_layer()  # a worker
        group = f"team.two-servers-{uuid.uuid4().hex}"
        for channels in sockets:
            for channel in channels:
                await publisher.group_add(group, channel)
        try:
            for n in range(20):
                await publisher.group_send(group, {"type": "ticket.event", "n": n, "text": "李娜, hi"})
            got = {
                channel: [(m["n"], m["text"]) for m in await _received(layer, channel, 20)]
                for layer, channels in zip(servers, sockets, strict=True)
                for channel in channels
            }
            # nothing left for anyone: no socket gets a copy twice
            left = [
                await layer.connection(0).zcard(f"{layer.prefix}specific.{layer.client_prefix}!") for layer in servers
            ]
            left += [len(layer.receive_buffer) for layer in servers]
            return got, left
        finally:
            await publisher.flush()
            for layer in (*servers, publisher):
                await layer.close_pools()

    got, left = asyncio.run(scenario())
    assert len(got) == 6
    assert all(messages == [(n, "李娜, hi") for n in range(20)] for messages in got.values())
    assert left == [0, 0, 0, 0]


def test_a_group_send_skips_members_past_the_group_expiry():
    async def scenario():
        layer = _production_layer()
        live, gone = await layer.new_channel(), await layer.new_channel()
        group = f"team.expiry-{uuid.uuid4().hex}"
        await layer.group_add(group, live)
        await layer.group_add(group, gone)
        key = layer._group_key(group)
        # `gone` joined longer ago than the group expiry (a socket of a server that died)
        await layer.connection(0).zadd(key, {gone: time.time() - layer.group_expiry - 10})
        try:
            await layer.group_send(group, {"type": "ticket.event", "n": 1})
            await layer.group_send(group, {"type": "ticket.event", "n": 2})
            first = await _received(layer, live, 2)
            members = await layer.connection(0).zrange(key, 0, -1)
            stray = layer.receive_buffer.get(gone)
            return [m["n"] for m in first], [m.decode() for m in members], stray
        finally:
            await layer.flush()
            await layer.close_pools()

    received, members, stray = asyncio.run(scenario())
    assert received == [1, 2]
    assert len(members) == 1
    assert stray is None or stray.empty()


def test_messages_from_the_stock_layer_still_arrive():
    """A process still on stock channels_redis (e.g. during a deploy) publishing to the same Redis."""

    async def scenario():
        layer = _production_layer()
        stock = RedisChannelLayer(**redis_channel_layer(private_redis_url(need_redis()))["CONFIG"])
        sockets = [await layer.new_channel() for _ in range(2)]
        group = f"team.stock-{uuid.uuid4().hex}"
        for channel in sockets:
            await stock.group_add(group, channel)
        try:
            await stock.group_send(group, {"type": "ticket.event", "n": 1})
            await stock.send(sockets[1], {"type": "ticket.event", "n": 2})
            return [[m["n"] for m in await _received(layer, channel, 1 + i)] for i, channel in enumerate(sockets)]
        finally:
            await layer.flush()
            for each in (layer, stock):
                await each.close_pools()

    assert asyncio.run(scenario()) == [[1], [1, 2]]


def test_a_message_an_interrupted_receive_took_is_delivered_once_afterwards():
    async def scenario():
        layer = _production_layer()
        layer.brpop_timeout = 1  # the reader's blocking pop, after which it sees that nobody waits and stops
        socket = await layer.new_channel()
        group = f"team.cancel-{uuid.uuid4().hex}"
        await layer.group_add(group, socket)
        try:
            await layer.group_send(group, {"type": "ticket.event", "n": 1})
            first = await _received(layer, socket, 1)
            # A receive waiting on an empty list is cancelled (the socket's consumer stopped) ...
            waiting = asyncio.ensure_future(layer.receive(socket))
            await asyncio.sleep(0.2)
            waiting.cancel()
            # ... the reader stops after its pop (it is not cancelled: that could lose what Redis handed it) ...
            await asyncio.wait_for(layer._reader, timeout=3)
            # ... and a read whose reply was lost to a cancellation took a message into the backup.
            key = f"{layer.prefix}specific.{layer.client_prefix}!"
            await layer.group_send(group, {"type": "ticket.event", "n": 2})
            keys = [key, layer._backup_channel_name(key), key + "$batch"]
            lost = await layer.connection(0).eval(POP_LUA, 3, *keys, layer._last_batch.get(key, ""), "lost", 10)
            await layer.group_send(group, {"type": "ticket.event", "n": 3})
            later = await _received(layer, socket, 2)
            left = await layer.connection(0).zcard(key)
            again = await asyncio.wait_for(layer.receive(socket), timeout=0.5) if left else None
            return len(lost), [m["n"] for m in first + later], left, again
        finally:
            await layer.flush()
            await layer.close_pools()

    assert asyncio.run(scenario()) == (1, [1, 2, 3], 0, None)


def test_many_waiting_messages_are_received_in_order_in_few_trips():
    async def scenario():
        layer = _production_layer()
        sockets = [await layer.new_channel() for _ in range(2)]
        group = f"team.trips-{uuid.uuid4().hex}"
        for channel in sockets:
            await layer.group_add(group, channel)
        trips = []
        run = layers._run
        layers._run = lambda connection, script, keys, args: trips.append(script) or run(connection, script, keys, args)
        try:
            for n in range(250):
                await layer.group_send(group, {"type": "ticket.event", "n": n})
            trips.clear()
            got = [[m["n"] for m in await _received(layer, channel, 250)] for channel in sockets]
            return got, trips.count(POP_LUA)
        finally:
            layers._run = run
            await layer.flush()
            await layer.close_pools()

    got, pops = asyncio.run(scenario())
    assert got == [list(range(250))] * 2
    assert pops <= 4  # 100 a trip (stock: one trip per message)


def test_a_thousand_sockets_leaving_at_once_all_leave_their_groups():
    """The stock pool refused the 101st concurrent command (1011 for the socket, its membership left behind)."""

    async def scenario():
        layer = _production_layer()
        group = f"chat.leave-{uuid.uuid4().hex}"
        sockets = [await layer.new_channel() for _ in range(1000)]
        await asyncio.gather(*(layer.group_add(group, channel) for channel in sockets))
        try:
            results = await asyncio.gather(
                *(layer.group_discard(group, channel) for channel in sockets), return_exceptions=True
            )
            left = await layer.connection(0).zcard(layer._group_key(group))
            return [r for r in results if isinstance(r, Exception)], left
        finally:
            await layer.flush()
            await layer.close_pools()

    assert asyncio.run(scenario()) == ([], 0)


def test_several_group_sends_in_one_trip_arrive_in_order_at_each_member():
    async def scenario():
        layer = _production_layer()
        team, chat = await layer.new_channel(), await layer.new_channel()
        teams, chats = f"team.many-{uuid.uuid4().hex}", f"chat.many-{uuid.uuid4().hex}"
        await layer.group_add(teams, team)
        await layer.group_add(chats, chat)
        await layer.group_add(chats, team)  # a member of both gets both, in the order sent
        sends = [(teams if n % 3 else chats, {"type": "ticket.event", "n": n, "text": "张伟"}) for n in range(60)]
        try:
            await layer.group_send_many(sends)
            at_chat = [m["n"] for m in await _received(layer, chat, 20)]
            at_team = [m["n"] for m in await _received(layer, team, 60)]
            return at_chat, at_team
        finally:
            await layer.flush()
            await layer.close_pools()

    at_chat, at_team = asyncio.run(scenario())
    assert at_chat == list(range(0, 60, 3))
    assert at_team == list(range(60))


def test_a_socket_that_connects_as_the_only_other_one_leaves_still_gets_its_messages():
    """A chat socket refused at connect (its receive cancelled while it was the only one waiting), then at once
    the visitor's real socket: its messages arrive (the reader was cancelled, looked alive until the
    cancellation landed, and the new socket's receive started none: the agent's reply never came)."""

    async def scenario():
        layer = _production_layer()
        refused, visitor = await layer.new_channel(), await layer.new_channel()
        group = f"chat.cancel-{uuid.uuid4().hex}"
        await layer.group_add(group, visitor)
        try:
            waiting = asyncio.ensure_future(layer.receive(refused))
            await asyncio.sleep(0.05)  # the reader is blocked in its pop
            waiting.cancel()
            receiving = asyncio.ensure_future(layer.receive(visitor))  # before the cancellation landed
            await asyncio.sleep(0.05)
            await layer.group_send(group, {"type": "chat.frame", "text": "好的，请提供订单号"})
            return await asyncio.wait_for(receiving, timeout=5)
        finally:
            await layer.group_discard(group, visitor)
            await layer.flush()
            await layer.close_pools()

    assert asyncio.run(scenario())["text"] == "好的，请提供订单号"
