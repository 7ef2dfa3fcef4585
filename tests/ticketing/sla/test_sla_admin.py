"""Setting up SLA in the admin as a new user would: a China calendar on a queue, a policy,
and a policy edit that moves the deadlines of open tickets."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.frontend.conftest import HttpsClient
from ticketing.models import BusinessCalendar, SlaPolicy

pytestmark = pytest.mark.django_db

OFFICE = {d: [["09:00", "12:00"], ["13:30", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
def staff(org):
    client = HttpsClient()
    client.force_login(org.admin)
    client.cookies["django_language"] = "en"
    return client


def calendar_form(**overrides):
    data = {
        "name": "China office",
        "time_zone": "Asia/Shanghai",
        "weekly_hours": json.dumps(OFFICE),
        "country": "CN",
        "subdivision": "",
        "holidays": "[]",
        "extra_workdays": '["2026-03-07"]',
    }
    return {**data, **overrides}


def test_a_calendar_is_validated(staff):
    url = reverse("admin:ticketing_businesscalendar_add")
    response = staff.post(url, calendar_form(weekly_hours=json.dumps({"mon": [["18:00", "09:00"]]})))
    assert response.status_code == 200 and not BusinessCalendar.objects.exists()
    response = staff.post(url, calendar_form(time_zone="Mars/Olympus"))
    assert response.status_code == 200 and not BusinessCalendar.objects.exists()
    response = staff.post(url, calendar_form())
    assert response.status_code == 302
    assert BusinessCalendar.objects.get().extra_workdays == ["2026-03-07"]


def test_a_policy_edit_recomputes_open_tickets(staff, org):
    policy_url = reverse("admin:ticketing_slapolicy_add")
    form = {
        "name": "Standard",
        "position": "0",
        "is_active": "on",
        "priorities": "[]",
        "channels": "[]",
        "service_levels": "[]",
        "targets": json.dumps({"normal": {"first_response": 60}}),
        "pause_when_pending": "on",
        "next_response_mode": "customer_reply",
        "warn_percent": "75",
        "warn_minutes_before": "",
        "escalate_priority": "",
    }
    bad = staff.post(policy_url, {**form, "targets": json.dumps({"someday": {"first_response": 60}})})
    assert bad.status_code == 200 and not SlaPolicy.objects.exists()
    ticket = factories.ticket()  # before the policy: no deadline yet
    assert ticket.first_response_due_at is None
    assert staff.post(policy_url, form).status_code == 302
    policy = SlaPolicy.objects.get()
    ticket.refresh_from_db()
    assert ticket.sla_policy == policy
    assert ticket.first_response_due_at == ticket.created_at + timedelta(minutes=60)
    change_url = reverse("admin:ticketing_slapolicy_change", args=[policy.pk])
    assert (
        staff.post(change_url, {**form, "targets": json.dumps({"normal": {"first_response": 30}})}).status_code == 302
    )
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == ticket.created_at + timedelta(minutes=30)
    assert ticket.first_response_due_at > timezone.now() - timedelta(minutes=1)
