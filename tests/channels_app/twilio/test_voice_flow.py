"""A call from the IVR to an agent and back to the ticket: routing offers it, the accept bridges
the live call through the real twilio client (against the local fake), status callbacks, the
recording; voicemail after hours and when nobody answers."""

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from channels_app.twilio.models import AgentPhone, Call
from channels_app.twilio.services import agent_phone_set
from contact_center.worker import run_ready_jobs
from routing.models import Offer, OfferStatus
from routing.services import offer_accept
from tests import factories
from tests.channels_app.twilio.helpers import BASE, CALLER, call_params, new_sid, post, twiml
from ticketing.events import publishing_paused
from ticketing.models import BusinessCalendar, Direction, Ticket
from ticketing.services import ticket_assign

pytestmark = pytest.mark.django_db

AGENT_PHONE = "+8613900139000"


@pytest.fixture
def webhook(client, django_capture_on_commit_callbacks):
    """Signed POSTs whose after-commit work (routing, publishing, queuing the bridge) runs as in production."""

    def send(path, params):
        with django_capture_on_commit_callbacks(execute=True):
            return post(client, path, params)

    return send


def test_a_call_in_chinese_for_support_reaches_the_zh_agent_and_lands_on_the_customer(
    org, line, queues, fake_twilio, webhook, django_capture_on_commit_callbacks
):
    customer = factories.person("王芳", phones=[CALLER])
    agent_phone_set(user=org.agent_zh, number=AGENT_PHONE)
    sid = new_sid("CA")

    twiml(webhook("/webhooks/twilio/voice/", call_params(sid, CallStatus="ringing")))
    menu = twiml(webhook("/webhooks/twilio/voice/language/", call_params(sid, Digits="1")))
    assert (
        menu.find("Gather/Say").text == "For 销售, press 1. For 技术支持, press 2."
        or "销售" in menu.find("Gather/Say").text
    )
    queued = twiml(webhook("/webhooks/twilio/voice/menu/?lang=zh", call_params(sid, Digits="2")))
    assert queued.find("Enqueue") is not None

    ticket = Ticket.objects.get()
    assert ticket.customer == customer and ticket.channel == "voice" and ticket.queue == queues[1]
    offer = Offer.objects.get(ticket=ticket)
    assert offer.agent == org.agent_zh and offer.status == OfferStatus.PENDING
    # The offer event goes to the agent's console group (agent.<id>), also replayed on reconnect.
    assert ticket.events.get(kind="offer.created").data["notify"] == [org.agent_zh.pk]

    with django_capture_on_commit_callbacks(execute=True):
        offer_accept(offer=offer, agent=org.agent_zh)
    assert run_ready_jobs("test-worker") == 1

    (update,) = fake_twilio.of("calls.update")
    assert update.path.endswith(f"/Calls/{sid}.json")
    dial = ElementTree.fromstring(  # noqa: S314  (our own TwiML, sent to the fake)
        update.value("Twiml")
    ).find("Dial")
    assert dial.find("Number").text == AGENT_PHONE
    assert dial.get("callerId") == line.phone_number
    assert dial.get("record") == "record-from-answer-dual"
    assert dial.get("action") == f"{BASE}/webhooks/twilio/voice/dial-done/"
    call = Call.objects.get(sid=sid)
    assert call.agent == org.agent_zh and call.bridge_target == AGENT_PHONE

    hangup = twiml(webhook("/webhooks/twilio/voice/dial-done/", call_params(sid, DialCallStatus="completed")))
    assert hangup.find("Hangup") is not None
    webhook("/webhooks/twilio/voice/status/", call_params(sid, CallStatus="in-progress"))
    webhook("/webhooks/twilio/voice/status/", call_params(sid, CallStatus="completed", CallDuration="184"))
    recording = {
        "RecordingSid": new_sid("RE"),
        "RecordingUrl": "https://api.twilio.com/rec/RE1",
        "RecordingDuration": "170",
    }
    for _ in range(2):  # Twilio retries: one note
        webhook(
            "/webhooks/twilio/voice/recording/?kind=call", call_params(sid, RecordingStatus="completed", **recording)
        )

    kinds = list(ticket.events.values_list("kind", flat=True))
    for kind in [
        "call.queued",
        "call.bridged",
        "call.agent_completed",
        "call.answered",
        "call.completed",
        "call.recording",
    ]:
        assert kinds.count(kind) == 1, (kind, kinds)
    completed = ticket.events.get(kind="call.completed")
    assert completed.data["duration"] == 184 and "abandoned" not in completed.data
    (note,) = ticket.messages.filter(direction=Direction.INTERNAL)
    assert note.body_text == "Call recording (170 s): https://api.twilio.com/rec/RE1"
    call.refresh_from_db()
    assert (call.duration, call.recording_duration, call.recording_url) == (184, 170, recording["RecordingUrl"])


def test_an_agent_without_a_number_is_rung_in_the_browser(
    org, line, fake_twilio, webhook, django_capture_on_commit_callbacks
):
    sid = new_sid("CA")
    webhook("/webhooks/twilio/voice/menu/?lang=zh", call_params(sid, Digits="2"))
    offer = Offer.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        offer_accept(offer=offer, agent=org.agent_zh)
    run_ready_jobs("test-worker")
    dial = ElementTree.fromstring(  # noqa: S314  (our own TwiML, sent to the fake)
        fake_twilio.of("calls.update")[0].value("Twiml")
    ).find("Dial")
    assert dial.find("Client").text == AgentPhone.objects.get(user=org.agent_zh).client_identity


def test_a_caller_who_hung_up_before_the_accept_is_not_bridged(
    org, line, fake_twilio, webhook, django_capture_on_commit_callbacks
):
    sid = new_sid("CA")
    webhook("/webhooks/twilio/voice/menu/?lang=zh", call_params(sid, Digits="2"))
    fake_twilio.ended_calls.add(sid)  # Twilio answers 404 for a call that is over
    with django_capture_on_commit_callbacks(execute=True):
        offer_accept(offer=Offer.objects.get(), agent=org.agent_zh)
    run_ready_jobs("test-worker")
    ticket = Ticket.objects.get()
    assert ticket.events.filter(kind="call.bridge_failed").count() == 1
    assert Call.objects.get(sid=sid).bridged_at is None


def test_when_the_agent_does_not_pick_up_the_caller_leaves_a_voicemail_on_the_ticket(line, webhook):
    sid = new_sid("CA")
    webhook("/webhooks/twilio/voice/menu/?lang=zh", call_params(sid, Digits="2"))
    root = twiml(webhook("/webhooks/twilio/voice/dial-done/", call_params(sid, DialCallStatus="no-answer")))
    assert root.find("Say").get("language") == "zh-CN"
    assert root.find("Record").get("action") == f"{BASE}/webhooks/twilio/voice/voicemail/?lang=zh"
    recording = {
        "RecordingSid": new_sid("RE"),
        "RecordingUrl": "https://api.twilio.com/rec/RE2",
        "RecordingDuration": "21",
    }
    goodbye = twiml(webhook("/webhooks/twilio/voice/voicemail/?lang=zh", call_params(sid, **recording)))
    assert goodbye.find("Hangup") is not None
    # The recording status callback for the same recording adds nothing.
    webhook(
        "/webhooks/twilio/voice/recording/?kind=voicemail", call_params(sid, RecordingStatus="completed", **recording)
    )
    ticket = Ticket.objects.get()
    assert ticket.events.filter(kind="call.agent_no_answer").count() == 1
    notes = list(ticket.messages.filter(direction=Direction.INTERNAL).values_list("body_text", flat=True))
    assert notes == ["Voicemail (21 s): https://api.twilio.com/rec/RE2"]
    assert Call.objects.get(sid=sid).voicemail is True


def test_after_hours_the_caller_gets_voicemail_which_becomes_a_ticket_with_its_transcription(line, queues, webhook):
    zone_now = timezone.now().astimezone(timezone.get_fixed_timezone(8 * 60))
    other_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(zone_now + timedelta(days=3)).weekday()]
    line.calendar = BusinessCalendar.objects.create(
        name="Office", time_zone="Asia/Shanghai", weekly_hours={other_day: [["00:00", "23:59"]]}
    )
    line.save()
    sid = new_sid("CA")
    closed = twiml(webhook("/webhooks/twilio/voice/", call_params(sid)))
    assert [s.get("language") for s in closed.findall("Say")] == ["zh-CN", "en-US"]
    assert "We are closed now" in closed.findall("Say")[1].text
    record = closed.find("Record")
    assert record.get("transcribeCallback") == f"{BASE}/webhooks/twilio/voice/transcription/"
    assert not Ticket.objects.exists()

    recording = {
        "RecordingSid": new_sid("RE"),
        "RecordingUrl": "https://api.twilio.com/rec/RE3",
        "RecordingDuration": "12",
    }
    webhook("/webhooks/twilio/voice/voicemail/", call_params(sid, **recording))
    transcription = {
        "TranscriptionSid": new_sid("TR"),
        "TranscriptionStatus": "completed",
        "TranscriptionText": "Please call me back about my invoice.",
        "RecordingSid": recording["RecordingSid"],
    }
    for _ in range(2):
        webhook("/webhooks/twilio/voice/transcription/", call_params(sid, **transcription))

    ticket = Ticket.objects.get()
    assert ticket.queue == queues[1] and ticket.channel == "voice"
    notes = list(ticket.messages.filter(direction=Direction.INTERNAL).values_list("body_text", flat=True))
    assert notes == [
        "Voicemail (12 s): https://api.twilio.com/rec/RE3",
        "Voicemail transcription: Please call me back about my invoice.",
    ]


def test_the_sales_option_tags_the_ticket_so_routing_keeps_it_in_sales(org, line, queues, webhook):
    webhook("/webhooks/twilio/voice/menu/?lang=en", call_params(new_sid("CA"), Digits="1"))
    ticket = Ticket.objects.get()
    assert ticket.queue == queues[0]
    assert list(ticket.tags.values_list("name", flat=True)) == ["sales"]
    assert Offer.objects.get(ticket=ticket).agent == org.agent_en


def test_voice_tickets_assigned_while_writing_history_ring_no_agent(
    org, line, fake_twilio, django_capture_on_commit_callbacks
):
    # The demo seed writes past calls with publishing paused: assigning them must not bridge anything.
    ticket = factories.ticket(channel="voice", subject="来电记录")
    with publishing_paused(), django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=ticket, agent=org.agent_zh, by=None)
    assert run_ready_jobs("test-worker") == 0
    assert not fake_twilio.of("calls.update")
