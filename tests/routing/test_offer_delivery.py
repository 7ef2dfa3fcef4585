"""Offers reach the agent's channel-layer group (what /ws/agent/ forwards), expire, and
move to the next agent's group. Redis when REDIS_URL is set, else the in-memory layer."""

import asyncio
import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from routing.models import Offer, OfferStatus
from routing.services import offers_expire, routing_sweep
from tests import factories
from tests.routing.helpers import routed_queue, skill
from tests.services import redis_url


async def _subscribe(layer, group: str) -> str:
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return channel


async def _next_offer_frame(layer, channel: str, kinds: set[str], timeout: float = 5.0) -> dict:
    async def wait():
        while True:
            message = await layer.receive(channel)
            if message.get("type") == "ticket.event" and message["event"]["kind"] in kinds:
                return message["event"]

    return await asyncio.wait_for(wait(), timeout)


@pytest.fixture
def layer(settings):
    if redis_url():
        settings.CHANNEL_LAYERS = {
            "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url()]}}
        }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield get_channel_layer()
    channel_layers.backends.clear()


def test_offer_arrives_expires_and_the_next_agent_gets_it(org, layer, django_capture_on_commit_callbacks):
    skill(org.agent_zh, "billing", 5)
    skill(org.agent_en, "billing", 3)
    rule = routed_queue(org.billing_team, target="billing >= 3", offer_timeout_seconds=30)
    first = async_to_sync(_subscribe)(layer, f"agent.{org.agent_zh.id}")
    second = async_to_sync(_subscribe)(layer, f"agent.{org.agent_en.id}")

    with django_capture_on_commit_callbacks(execute=True):
        ticket = factories.ticket(channel="email", queue_=rule.queue)
    offered = async_to_sync(_next_offer_frame)(layer, first, {"offer.created"})
    offer = Offer.objects.get(pk=offered["data"]["offer"])
    assert offered["ticket"]["id"] == ticket.id and offer.agent == org.agent_zh
    assert offered["data"]["queue"] == rule.queue_id and offered["data"]["expires_at"]

    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert offers_expire() == 1
        routing_sweep()
    expired = async_to_sync(_next_offer_frame)(layer, first, {"offer.expired"})
    assert expired["data"]["offer"] == offer.id
    moved = async_to_sync(_next_offer_frame)(layer, second, {"offer.created"})
    assert moved["ticket"]["id"] == ticket.id
    assert Offer.objects.get(pk=moved["data"]["offer"]).status == OfferStatus.PENDING
