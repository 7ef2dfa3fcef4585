"""The supervisor board's header counts the whole floor, not just the rows its panels have room for."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AgentProfile, Presence
from frontend.board_data import AT_RISK_ROWS, BREACHED_ROWS, board_snapshot_build
from tests import factories
from ticketing.models import SlaPolicy
from ticketing.sla.services import sla_tick

pytestmark = pytest.mark.django_db


def _ago(**delta):
    return timezone.now() - timedelta(**delta)


def test_the_header_counts_every_breached_and_at_risk_ticket_and_online_agent(org):
    # Around the clock: 60 minutes to a first response, amber from 45.
    SlaPolicy.objects.create(name="Standard", targets={"normal": {"first_response": 60}}, warn_percent=75)
    queue = factories.queue("Billing", team_=org.billing_team)
    breached = [factories.ticket(queue_=queue, created_at=_ago(minutes=90 + i)) for i in range(BREACHED_ROWS + 4)]
    at_risk = [factories.ticket(queue_=queue, created_at=_ago(minutes=50)) for _ in range(AT_RISK_ROWS + 2)]
    calm = [factories.ticket(queue_=queue, created_at=_ago(minutes=5)) for _ in range(3)]
    sla_tick()
    AgentProfile.objects.filter(user__in=[org.agent_zh, org.agent_en]).update(presence=Presence.ONLINE)
    for n in range(20):
        factories.agent(f"extra{n}", teams=[org.billing_team], presence=Presence.ONLINE)

    snapshot = board_snapshot_build()

    assert len(snapshot["breached"]) == BREACHED_ROWS  # the panel's rows
    assert len(snapshot["at_risk"]) == AT_RISK_ROWS
    totals = snapshot["totals"]
    assert totals["breached"] == len(breached)
    assert totals["at_risk"] == len(at_risk)
    assert totals["online"] == 22
    assert totals["waiting"] == len(breached) + len(at_risk) + len(calm)
