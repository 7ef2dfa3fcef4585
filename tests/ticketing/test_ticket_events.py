"""Ticket events are published to the channel layer only after the write commits
(in-memory layer on the embedded default, Redis in the PostgreSQL pass)."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from tests import factories
from tests.services import need_redis, redis_url
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
