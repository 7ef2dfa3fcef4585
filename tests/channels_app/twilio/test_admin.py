"""The phone admin: pages open, the auth token is never shown back and an empty field keeps it."""

import pytest
from django.urls import reverse

from channels_app.twilio.models import AgentPhone, Call, OutboundSms, PhoneLine
from tests.channels_app.twilio.helpers import TOKEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, org):
    client.force_login(org.admin)
    client.cookies["django_language"] = "en"
    return client


def test_admin_pages_open_without_showing_the_token(staff, line):
    for model in (PhoneLine, Call, OutboundSms, AgentPhone):
        url = reverse(f"admin:channels_app_{model._meta.model_name}_changelist")
        assert staff.get(url, secure=True).status_code == 200
    page = staff.get(reverse("admin:channels_app_phoneline_change", args=[line.pk]), secure=True)
    assert page.status_code == 200
    assert TOKEN not in page.content.decode()
    assert "menu option" in page.content.decode().lower()


def test_saving_with_an_empty_token_keeps_it_and_edits_the_menu(staff, line, queues):
    url = reverse("admin:channels_app_phoneline_change", args=[line.pk])
    options = list(line.options.order_by("digit"))
    data = {
        "name": "Renamed",
        "active": "on",
        "phone_number": line.phone_number,
        "account_sid": line.account_sid,
        "auth_token": "",
        "public_base_url": line.public_base_url,
        "default_queue": queues[1].pk,
        "voice_zh": "alice",
        "voice_en": "Polly.Joanna",
        "ring_agent_seconds": 25,
        "sms_thread_hours": 24,
        "options-TOTAL_FORMS": 3,
        "options-INITIAL_FORMS": 2,
        "options-MIN_NUM_FORMS": 0,
        "options-MAX_NUM_FORMS": 1000,
    }
    for n, option in enumerate(options):
        data.update(
            {
                f"options-{n}-id": option.pk,
                f"options-{n}-line": line.pk,
                f"options-{n}-digit": option.digit,
                f"options-{n}-label_zh": option.label_zh,
                f"options-{n}-label_en": option.label_en,
                f"options-{n}-queue": option.queue_id,
                f"options-{n}-max_wait_seconds": 90,
            }
        )
    data.update({"options-2-digit": "9", "options-2-label_zh": "投诉", "options-2-label_en": "complaints"})
    data.update({"options-2-queue": queues[1].pk, "options-2-max_wait_seconds": 60, "options-2-line": line.pk})
    response = staff.post(url, data, secure=True)
    assert response.status_code == 302, response.content.decode()[:3000]
    line.refresh_from_db()
    assert (line.name, line.auth_token, line.sms_thread_hours) == ("Renamed", TOKEN, 24)
    assert list(line.options.values_list("digit", "max_wait_seconds")) == [("1", 90), ("2", 90), ("9", 60)]
