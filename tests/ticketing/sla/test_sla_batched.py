"""A poller's batch reads the active SLA policies once (sla_policies_batched), with the same deadlines."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories
from ticketing.models import SlaPolicy, SlaTimer
from ticketing.sla.services import sla_policies_batched, sla_recompute

pytestmark = pytest.mark.django_db


def policy_reads(queries):
    return [q for q in queries.captured_queries if 'FROM "ticketing_slapolicy"' in q["sql"]]


def test_policies_are_read_once_per_batch_and_give_the_same_timers(org):
    SlaPolicy.objects.create(name="All", targets={"normal": {"first_response": 60, "resolution": 480}})
    tickets = [factories.ticket() for _ in range(3)]
    expected = {t.pk: t.first_response_due_at for t in tickets}
    SlaTimer.objects.all().delete()
    with CaptureQueriesContext(connection) as queries, sla_policies_batched():
        for ticket in tickets:
            sla_recompute(ticket=ticket)
    assert len(policy_reads(queries)) == 1
    assert {t.pk: t.first_response_due_at for t in tickets} == expected
    assert SlaTimer.objects.count() == 6


def test_outside_a_batch_every_recompute_sees_the_policies_as_they_are(org):
    ticket = factories.ticket()
    assert ticket.sla_policy is None
    SlaPolicy.objects.create(name="All", targets={"normal": {"first_response": 60}})
    assert sla_recompute(ticket=ticket).sla_policy is not None
