"""A live event reaches an agent socket without a trip to the thread-sensitive executor (Channels'
per-message `aclose_old_connections`): at load that trip was made per event per agent socket."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from tests import factories
from tests.realtime.conftest import communicator
from ticketing.events import ticket_event_record

pytestmark = pytest.mark.django_db(transaction=True)


def test_events_are_forwarded_without_the_connection_hop(org, queues, monkeypatch):
    ticket = factories.ticket(queue_=queues["billing"])
    hops = []

    async def counted():
        hops.append(1)

    monkeypatch.setattr("channels.consumer.aclose_old_connections", counted)

    async def scenario():
        socket = await database_sync_to_async(communicator)("/ws/agent/", org.agent_zh)
        assert (await socket.connect())[0]
        assert (await socket.receive_json_from())["type"] == "hello"
        for _ in range(3):
            await database_sync_to_async(lambda: ticket_event_record(ticket=ticket, kind="note.added"))()
            assert (await socket.receive_json_from(timeout=3))["type"] == "event"
        await socket.disconnect()

    async_to_sync(scenario)()
    assert hops == []
