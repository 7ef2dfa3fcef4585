"""Phone API: lines (secrets write-only, encrypted at rest), calls in scope, click-to-call through the
real twilio client against the local fake, the agent's own phone, Voice SDK tokens."""

from xml.etree import ElementTree

import jwt
import pytest
from django.db import connection

from channels_app.twilio.models import Call, PhoneLine
from tests import factories
from tests.channels_app.twilio.helpers import ACCOUNT, CALLER, TOKEN, call_params, new_sid, post

pytestmark = pytest.mark.django_db


def _line_payload(queues, **more):
    sales, support = queues
    return {
        "name": "Shanghai",
        "phone_number": "+862161234567",
        "account_sid": ACCOUNT,
        "auth_token": "s3cret-token",
        "default_queue": support.pk,
        "options": [
            {"digit": "1", "label_zh": "销售", "label_en": "sales", "queue": sales.pk},
            {"digit": "2", "label_zh": "支持", "label_en": "support", "queue": support.pk, "max_wait_seconds": 60},
        ],
        **more,
    }


def test_an_admin_configures_a_line_whose_token_is_never_shown_and_is_encrypted(api, org, queues):
    admin = api(org.admin)
    created = admin.post("/api/v1/phone/lines/", _line_payload(queues), format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert "auth_token" not in body and len(body["options"]) == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT auth_token FROM channels_app_phoneline")
        (raw,) = cursor.fetchone()
    assert "s3cret-token" not in raw
    line = PhoneLine.objects.get()
    assert line.auth_token == "s3cret-token"

    changed = admin.patch(
        f"/api/v1/phone/lines/{line.pk}/",
        {
            "auth_token": "",
            "options": [{"digit": "3", "label_zh": "投诉", "label_en": "complaints", "queue": queues[1].pk}],
        },
        format="json",
    )
    assert changed.status_code == 200
    line.refresh_from_db()
    assert line.auth_token == "s3cret-token"  # empty keeps the stored token
    assert list(line.options.values_list("digit", flat=True)) == ["3"]


def test_bad_line_input_gets_field_errors(api, org, queues):
    payload = _line_payload(queues, phone_number="010-1234")
    payload["options"][1]["digit"] = "1"
    response = api(org.admin).post("/api/v1/phone/lines/", payload, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "phone_number" in errors and "options" in errors
    assert not PhoneLine.objects.exists()


def test_agents_cannot_read_lines(api, org, line):
    assert api(org.agent_zh).get("/api/v1/phone/lines/").status_code == 403
    assert api().get("/api/v1/phone/lines/").status_code == 401


def test_calls_are_listed_within_the_tickets_scope(api, org, client, line):
    sid = new_sid("CA")
    post(client, "/webhooks/twilio/voice/menu/?lang=zh", call_params(sid, Digits="2"))  # a billing-team ticket
    call = Call.objects.get()
    assert [c["sid"] for c in api(org.agent_zh).get("/api/v1/phone/calls/").json()["results"]] == [sid]
    assert api(org.agent_en).get("/api/v1/phone/calls/").json()["results"] == []
    assert api(org.agent_en).get(f"/api/v1/phone/calls/{call.pk}/").status_code == 404


def test_click_to_call_rings_the_agent_then_dials_the_customer(api, org, client, line, fake_twilio):
    sid = new_sid("CA")
    post(client, "/webhooks/twilio/voice/menu/?lang=zh", call_params(sid, Digits="2"))
    ticket = Call.objects.get().ticket
    agent = api(org.agent_zh)
    assert agent.post("/api/v1/phone/calls/", {"ticket": ticket.pk}, format="json").json()["errors"]["agent"]
    assert (
        agent.put("/api/v1/phone/me/", {"number": "139 0013 9000"}, format="json").json()["number"] == "+8613900139000"
    )

    response = agent.post("/api/v1/phone/calls/", {"ticket": ticket.pk}, format="json")
    assert response.status_code == 201, response.json()
    (created,) = fake_twilio.of("calls.create")
    assert (created.value("To"), created.value("From")) == ("+8613900139000", line.phone_number)
    assert created.value("StatusCallback") == "https://cc.example.com/webhooks/twilio/voice/status/"
    dial = ElementTree.fromstring(created.value("Twiml")).find("Dial")  # noqa: S314  (our own TwiML)
    assert dial.find("Number").text == CALLER and dial.get("callerId") == line.phone_number
    outbound = Call.objects.get(sid=response.json()["sid"])
    assert (outbound.direction, outbound.ticket, outbound.agent) == ("outbound", ticket, org.agent_zh)

    # Its status callbacks and recording land on the ticket like any call's.
    params = {"CallSid": outbound.sid, "From": line.phone_number, "To": "+8613900139000"}
    post(client, "/webhooks/twilio/voice/status/", {**params, "CallStatus": "completed", "CallDuration": "42"})
    assert ticket.events.get(kind="call.completed").data["duration"] == 42
    assert ticket.events.filter(kind="call.dialing").count() == 1


def test_click_to_call_respects_scope_and_can_start_from_a_crm_contact(api, org, client, line, fake_twilio):
    sid = new_sid("CA")
    post(client, "/webhooks/twilio/voice/menu/?lang=zh", call_params(sid, Digits="2"))
    outsider_ticket = Call.objects.get().ticket
    rep = api(org.sales_rep)
    rep.put("/api/v1/phone/me/", {"number": "+8613700137000"}, format="json")
    assert rep.post("/api/v1/phone/calls/", {"ticket": outsider_ticket.pk}, format="json").status_code == 404
    customer = factories.person("李雷", owner=org.sales_rep, phones=["+8618600186000"])
    others = factories.person("韩梅梅", owner=org.other_rep, phones=["+8618600186001"])
    assert rep.post("/api/v1/phone/calls/", {"person": others.pk}, format="json").status_code == 404
    response = rep.post("/api/v1/phone/calls/", {"person": customer.pk}, format="json")
    assert response.status_code == 201
    call = Call.objects.get(sid=response.json()["sid"])
    assert call.ticket.customer == customer and call.ticket.assignee == org.sales_rep
    assert call.ticket.channel == "voice" and call.to_number == "+8618600186000"
    assert len(fake_twilio.of("calls.create")) == 1


def test_a_twilio_error_on_click_to_call_is_a_clear_400_and_stores_nothing(api, org, line, fake_twilio):
    customer = factories.person("Ann", owner=org.sales_rep, phones=["+8618600186002"])
    rep = api(org.sales_rep)
    rep.put("/api/v1/phone/me/", {"number": "+8613700137000"}, format="json")
    fake_twilio.fail_next.append((400, 21215, "Geographic permission for +86 is not enabled"))
    response = rep.post("/api/v1/phone/calls/", {"person": customer.pk}, format="json")
    assert response.status_code == 400
    assert "Geographic permission" in str(response.json())
    assert not Call.objects.exists()


def test_my_phone_rejects_a_bad_number(api, org):
    response = api(org.agent_zh).put("/api/v1/phone/me/", {"number": "12"}, format="json")
    assert response.status_code == 400 and "number" in response.json()["errors"]


def test_voice_sdk_token_for_the_agents_browser_identity(api, org, line):
    agent = api(org.agent_zh)
    missing = agent.post("/api/v1/phone/token/", {}, format="json")
    assert missing.status_code == 400 and "line" in missing.json()["errors"]
    line.api_key_sid, line.twiml_app_sid = "SK" + "1" * 32, "AP" + "2" * 32
    line.api_key_secret = "api-key-secret-0123456789abcdef0123"
    line.save()
    body = agent.post("/api/v1/phone/token/", {}, format="json").json()
    claims = jwt.decode(body["token"], "api-key-secret-0123456789abcdef0123", algorithms=["HS256"])
    assert claims["grants"]["identity"] == body["identity"] == f"agent-{org.agent_zh.pk}"
    assert claims["grants"]["voice"]["outgoing"]["application_sid"] == line.twiml_app_sid
    assert TOKEN not in body["token"]


def test_demo_phone_line_is_made_once(queues):
    from contact_center.demo.phone import DEMO_MENU, demo_phone_ensure
    from tests import factories as f

    assert demo_phone_ensure() is None  # no demo organisation yet
    for name in {menu[2] for menu in DEMO_MENU.values()}:
        f.queue(name)
    line = demo_phone_ensure()
    again = demo_phone_ensure()
    assert line == again and PhoneLine.objects.count() == 1
    assert list(line.options.values_list("digit", "label_en")) == [("1", "sales"), ("2", "support")]
    assert "fake" in line.name
