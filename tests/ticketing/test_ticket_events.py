"""Ticket events are published to the channel layer only after the write commits
(in-memory layer on the embedded default, Redis in the PostgreSQL pass)."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from tests import factories
from tests.services import need_redis, redis_url
from ticketing import events
from ticketing.services import ticket_add_note

pytestmark = pytest.mark.django_db(transaction=True)


async def _drain(layer, channel, limit=20):
    frames = []
    for _ in range(limit):
        try:
            frames.append(await asyncio.wait_for(layer.receive(channel), timeout=0.3))
        except TimeoutError:
            break
    return frames


def _kinds(frames):
    return [frame["event"]["kind"] for frame in frames]


def test_events_reach_team_and_agent_groups_only_after_commit(org):
    if redis_url():
        need_redis()
    queue = factories.queue(team_=org.billing_team)
    ticket = factories.ticket(queue_=queue, assignee=org.agent_zh)

    async def scenario():
        layer = get_channel_layer()
        team_channel, agent_channel, other_channel = [await layer.new_channel() for _ in range(3)]
        await layer.group_add(f"team.{org.billing_team.id}", team_channel)
        await layer.group_add(f"agent.{org.agent_zh.id}", agent_channel)
        await layer.group_add(f"team.{org.tech_team.id}", other_channel)
        before_commit = []

        def write():
            with transaction.atomic():
                ticket_add_note(ticket=ticket, by=org.agent_zh, body_text="internal")
                before_commit.extend(async_to_sync(_drain)(layer, team_channel))

        await sync_to_async(write)()
        after = [await _drain(layer, channel) for channel in (team_channel, agent_channel, other_channel)]
        return before_commit, *after

    before_commit, team_frames, agent_frames, other_frames = async_to_sync(scenario)()
    assert before_commit == []
    assert _kinds(team_frames) == ["note.added"]
    assert team_frames[0]["event"]["ticket"]["number"] == ticket.number
    assert _kinds(agent_frames) == ["note.added"]
    assert other_frames == []  # another team hears nothing


def test_a_rolled_back_write_publishes_nothing(org):
    ticket = factories.ticket(queue_=factories.queue(team_=org.billing_team))

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(f"team.{org.billing_team.id}", channel)

        def write():
            with pytest.raises(RuntimeError), transaction.atomic():
                ticket_add_note(ticket=ticket, by=org.agent_zh, body_text="lost")
                raise RuntimeError

        await sync_to_async(write)()
        return await _drain(layer, channel)

    assert async_to_sync(scenario)() == []


def test_paused_publishing_stores_events_but_broadcasts_none(org):
    from ticketing.events import publishing_paused
    from ticketing.models import TicketEvent

    ticket = factories.ticket(queue_=factories.queue(team_=org.billing_team))

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(f"team.{org.billing_team.id}", channel)

        def write():
            with publishing_paused(), transaction.atomic():
                ticket_add_note(ticket=ticket, by=org.agent_zh, body_text="bulk")

        await sync_to_async(write)()
        return await _drain(layer, channel)

    assert async_to_sync(scenario)() == []
    assert TicketEvent.objects.filter(ticket=ticket, kind="note.added").count() == 1


class _OneTripLayer:
    """Records what a layer with the production layer's group_send_many is asked to send."""

    def __init__(self):
        self.trips = []

    async def group_send_many(self, sends):
        self.trips.append(list(sends))

    async def group_send(self, group, message):
        self.trips.append([(group, message)])


def test_a_batch_of_live_updates_goes_in_one_trip_when_the_layer_can(monkeypatch):
    layer = _OneTripLayer()
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    with events.publishing_batched():
        events.group_publish("team.1", {"type": "ticket.event", "n": 1})
        events.group_publish("supervisors", {"type": "ticket.event", "n": 2})
        events.group_publish("team.1", {"type": "ticket.event", "n": 3})
    assert layer.trips == [
        [
            ("team.1", {"type": "ticket.event", "n": 1}),
            ("supervisors", {"type": "ticket.event", "n": 2}),
            ("team.1", {"type": "ticket.event", "n": 3}),
        ]
    ]


def test_a_batch_collected_into_a_list_is_left_to_the_caller_to_send(monkeypatch):
    layer = _OneTripLayer()
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    sends = []
    with events.publishing_batched(into=sends):
        events.group_publish("team.1", {"type": "ticket.event", "n": 1})
    assert layer.trips == [] and sends == [("team.1", {"type": "ticket.event", "n": 1})]
    assert async_to_sync(events.publish_sends)(sends) and len(layer.trips) == 1
