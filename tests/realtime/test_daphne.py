"""/ws/agent/ served by a real daphne process with the Redis channel layer, spoken to by a real
websocket client over loopback: events written by other processes arrive, and a connection
killed mid-stream resumes with every missed event exactly once, in order."""

import asyncio
import json

import pytest
import websockets

from tests import factories
from tests.processes import manage
from tests.realtime.conftest import token_for
from tests.realtime.live import daphne
from ticketing.events import ticket_event_record
from ticketing.models import TicketEvent

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PRODUCER = """
import time
from ticketing.events import ticket_event_record
from ticketing.models import Ticket
ticket = Ticket.objects.get(pk={ticket_id})
for n in range({count}):
    ticket_event_record(ticket=ticket, kind="note.added", data={{"n": n}})
    time.sleep(0.02)
"""


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


async def next_event(socket, timeout=10):
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if frame["type"] == "event":
            return frame


def test_events_from_another_process_arrive_and_scope_holds(org, settings):
    billing = factories.queue("Billing", team_=org.billing_team, is_default=True)
    tech = factories.queue("Tech", team_=org.tech_team)
    ours = factories.ticket(queue_=billing, subject="发票")
    theirs = factories.ticket(queue_=tech, subject="Login")
    key = token_for(org.agent_zh)

    with daphne(settings) as server:
        base, env = server.base, server.env

        async def scenario():
            async with websockets.connect(
                ws_url(base, "/ws/agent/"), origin=base, subprotocols=[f"token.{key}"]
            ) as socket:
                assert json.loads(await socket.recv())["type"] == "hello"
                for ticket in (theirs, ours):
                    producer = manage("shell", "-c", PRODUCER.format(ticket_id=ticket.id, count=1), env=env)
                    await asyncio.to_thread(producer.wait, 60)
                frame = await next_event(socket)
                assert frame["event"]["ticket"]["id"] == ours.id  # the other team's event never came
                # and from this process
                await asyncio.to_thread(ticket_event_record, ticket=ours, kind="status.changed")
                frame = await next_event(socket)
                assert frame["event"]["kind"] == "status.changed"

        asyncio.run(scenario())


def test_killed_connection_resumes_with_every_missed_event_exactly_once(org, settings):
    billing = factories.queue("Billing", team_=org.billing_team, is_default=True)
    ticket = factories.ticket(queue_=billing)
    key = token_for(org.agent_zh)
    start = TicketEvent.objects.order_by("-id").values_list("id", flat=True).first()
    count = 60

    with daphne(settings) as server:
        base, env = server.base, server.env

        async def scenario():
            received = []
            producer = manage("shell", "-c", PRODUCER.format(ticket_id=ticket.id, count=count), env=env)
            socket = await websockets.connect(ws_url(base, f"/ws/agent/?token={key}&after={start}"), origin=base)
            while len(received) < 10:
                received.append((await next_event(socket))["id"])
            socket.transport.abort()  # the network goes away mid-stream: no close handshake
            await asyncio.sleep(0.5)  # events keep coming while we are gone
            async with websockets.connect(
                ws_url(base, f"/ws/agent/?token={key}&after={received[-1]}"), origin=base
            ) as again:
                while len(received) < count:
                    received.append((await next_event(again, timeout=20))["id"])
                with pytest.raises(TimeoutError):
                    await next_event(again, timeout=1)  # nothing more, in particular no duplicate
            await asyncio.to_thread(producer.wait, 60)
            return received

        received = asyncio.run(scenario())

    expected = list(TicketEvent.objects.filter(ticket=ticket, id__gt=start).order_by("id").values_list("id", flat=True))
    assert len(expected) == count
    assert received == expected


def test_unauthenticated_socket_is_closed_with_4401(org, settings):
    with daphne(settings) as server:
        base = server.base

        async def scenario():
            async with websockets.connect(ws_url(base, "/ws/agent/"), origin=base) as socket:
                frame = json.loads(await socket.recv())
                assert frame["code"] == "unauthenticated"
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await socket.recv()
                assert closed.value.rcvd.code == 4401

        asyncio.run(scenario())
