"""Routing in the Django admin: rules with their steps, validated; offers and decisions to read."""

import pytest
from django.urls import reverse

from routing.models import QueueRouting
from routing.services import ticket_route
from tests import factories
from tests.routing.helpers import routed_queue, skill


@pytest.fixture
def staff(client, org):
    client.force_login(org.admin)
    client.cookies["django_language"] = "en"
    return client


def test_every_routing_page_opens(staff, org):
    skill(org.agent_zh, "billing", 4)
    rule = routed_queue(org.billing_team, target="billing >= 3", steps=[(60, "billing >= 1")])
    ticket_route(factories.ticket(channel="email", queue_=rule.queue))
    for model in ("queuerouting", "routingstep", "ticketrouting", "offer", "routingdecision"):
        assert staff.get(reverse(f"admin:routing_{model}_changelist"), secure=True).status_code == 200
    assert staff.get(reverse("admin:routing_queuerouting_change", args=[rule.pk]), secure=True).status_code == 200
    assert staff.get(reverse("admin:routing_queuerouting_add"), secure=True).status_code == 200


def test_a_rule_whose_target_does_not_parse_is_refused_with_the_position(staff, org):
    queue = factories.queue(team_=org.tech_team)
    form = {
        "queue": queue.pk,
        "is_active": "on",
        "priority": 0,
        "channels": "[]",
        "languages": "[]",
        "priorities": "[]",
        "customer_tags": "[]",
        "target": 'billing >= 3 and "zh in languages',
        "strategy": "longest_idle",
        "offer_timeout_seconds": 30,
        "ring_count": 1,
        "max_missed_offers": 3,
        "steps-TOTAL_FORMS": 0,
        "steps-INITIAL_FORMS": 0,
        "steps-MIN_NUM_FORMS": 0,
        "steps-MAX_NUM_FORMS": 1000,
    }
    response = staff.post(reverse("admin:routing_queuerouting_add"), form, secure=True)
    assert response.status_code == 200
    assert "Unterminated string at character 18." in response.content.decode()
    assert not QueueRouting.objects.exists()
    form["target"] = 'billing >= 3 and "zh" in languages'
    assert staff.post(reverse("admin:routing_queuerouting_add"), form, secure=True).status_code == 302
    assert QueueRouting.objects.get().target == 'billing >= 3 and "zh" in languages'
