"""The voice and SMS webhooks: signatures, TwiML of the IVR, idempotency, bad input."""

import pytest

from channels_app.twilio.models import Call, WebhookReceipt
from crm.models import Identity
from tests.channels_app.twilio.helpers import BASE, CALLER, call_params, new_sid, post, sign, twiml
from ticketing.models import Message, Ticket

pytestmark = pytest.mark.django_db


def test_forged_and_missing_signatures_get_403_and_store_nothing(client, line):
    sid = new_sid("CA")
    forged = post(client, "/webhooks/twilio/voice/", call_params(sid), token="not-the-token")
    missing = post(client, "/webhooks/twilio/voice/", call_params(sid), signature="")
    sms = post(
        client,
        "/webhooks/twilio/sms/",
        {"MessageSid": new_sid("SM"), "From": CALLER, "To": line.phone_number, "Body": "hi"},
        token="not-the-token",
    )
    # Signed for other parameters than those sent (a tampered body).
    params = call_params(sid)
    tampered = client.post(
        "/webhooks/twilio/voice/menu/",
        {"AccountSid": line.account_sid, **params, "Digits": "1"},
        secure=True,
        HTTP_X_TWILIO_SIGNATURE=sign(BASE + "/webhooks/twilio/voice/menu/", {"AccountSid": line.account_sid, **params}),
    )
    assert [forged.status_code, missing.status_code, sms.status_code, tampered.status_code] == [403] * 4
    assert not Call.objects.exists()
    assert not Ticket.objects.exists() and not Message.objects.exists()
    assert not WebhookReceipt.objects.exists()


def test_an_unknown_account_is_refused(client, line):
    response = client.post(
        "/webhooks/twilio/voice/",
        {"AccountSid": "AC" + "9" * 32, **call_params(new_sid("CA"))},
        secure=True,
        HTTP_X_TWILIO_SIGNATURE="anything",
    )
    assert response.status_code == 403


def test_behind_a_proxy_the_public_base_url_is_what_is_signed(client, line, monkeypatch):
    line.public_base_url = ""
    line.save()
    monkeypatch.setenv("TWILIO_PUBLIC_BASE_URL", "https://phone.example.org/")
    params = call_params(new_sid("CA"))
    ok = post(client, "/webhooks/twilio/voice/", params, base="https://phone.example.org")
    signed_for_internal_host = post(client, "/webhooks/twilio/voice/", params, base="https://testserver")
    assert ok.status_code == 200
    assert signed_for_internal_host.status_code == 403


def test_greeting_offers_chinese_and_english_in_their_voices(client, line):
    root = twiml(post(client, "/webhooks/twilio/voice/", call_params(new_sid("CA"))))
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == f"{BASE}/webhooks/twilio/voice/language/"
    says = gather.findall("Say")
    assert [s.get("language") for s in says] == ["zh-CN", "en-US"]
    assert says[0].text.startswith("您好，欢迎致电。") and "1" in says[0].text
    assert "press 2" in says[1].text
    assert says[1].get("voice") == "Polly.Joanna"
    assert root.find("Redirect").text.endswith("/voice/language/?lang=zh")


def test_greeting_audio_is_played_when_uploaded(client, line):
    line.greeting_audio_url = "https://cdn.example.com/greeting.mp3"
    line.save()
    root = twiml(post(client, "/webhooks/twilio/voice/", call_params(new_sid("CA"))))
    assert root.find("Gather/Play").text == "https://cdn.example.com/greeting.mp3"


def test_menu_in_the_chosen_language_lists_the_options(client, line):
    root = twiml(post(client, "/webhooks/twilio/voice/language/", call_params(new_sid("CA"), Digits="2")))
    say = root.find("Gather/Say")
    assert say.get("language") == "en-US"
    assert say.text == "For sales, press 1. For support, press 2."
    assert root.find("Gather").get("action").endswith("/voice/menu/?lang=en")


def test_a_key_not_in_the_menu_repeats_it(client, line):
    root = twiml(post(client, "/webhooks/twilio/voice/menu/?lang=en", call_params(new_sid("CA"), Digits="7")))
    texts = [s.text for s in root.findall("Gather/Say")]
    assert texts[0] == "Sorry, that is not a choice."
    assert not Ticket.objects.exists()


def test_choosing_an_option_enqueues_with_hold_music_and_makes_one_ticket_on_replay(client, line, queues):
    sid = new_sid("CA")
    params = call_params(sid, Digits="2")
    first = twiml(post(client, "/webhooks/twilio/voice/menu/?lang=zh", params))
    replay = twiml(post(client, "/webhooks/twilio/voice/menu/?lang=zh", params))
    enqueue = first.find("Enqueue")
    assert enqueue.get("waitUrl") == f"{BASE}/webhooks/twilio/voice/wait/?lang=zh"
    assert enqueue.get("action") == f"{BASE}/webhooks/twilio/voice/queue-done/?lang=zh"
    assert first.find("Say").get("language") == "zh-CN"
    assert replay.find("Enqueue").text == enqueue.text
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.queue, ticket.language) == ("voice", queues[1], "zh")
    assert Identity.objects.get(value=CALLER).person == ticket.customer
    assert ticket.messages.count() == 1
    assert ticket.events.filter(kind="call.queued").count() == 1


def test_hold_loop_plays_music_then_leaves_for_voicemail_after_the_limit(client, line):
    sid = new_sid("CA")
    post(client, "/webhooks/twilio/voice/menu/?lang=en", call_params(sid, Digits="1"))
    waiting = twiml(
        post(client, "/webhooks/twilio/voice/wait/?lang=en", call_params(sid, QueueTime="30", QueuePosition="2"))
    )
    assert waiting.find("Say").text == "You are number 2 in line."
    assert waiting.find("Play").text == line.hold_music_url
    too_long = twiml(post(client, "/webhooks/twilio/voice/wait/?lang=en", call_params(sid, QueueTime="120")))
    assert too_long.find("Leave") is not None
    after = twiml(post(client, "/webhooks/twilio/voice/queue-done/?lang=en", call_params(sid, QueueResult="leave")))
    record = after.find("Record")
    assert record.get("transcribe") == "true"
    assert record.get("action") == f"{BASE}/webhooks/twilio/voice/voicemail/?lang=en"
    assert "All our agents are busy" in after.find("Say").text


def test_status_callbacks_replayed_record_each_status_once(client, line):
    sid = new_sid("CA")
    post(client, "/webhooks/twilio/voice/menu/?lang=en", call_params(sid, Digits="1"))
    for _ in range(2):
        post(client, "/webhooks/twilio/voice/status/", call_params(sid, CallStatus="ringing"))
        done = post(
            client, "/webhooks/twilio/voice/status/", call_params(sid, CallStatus="completed", CallDuration="95")
        )
        assert done.status_code == 204
    ticket = Ticket.objects.get()
    assert ticket.events.filter(kind="call.ringing").count() == 1
    completed = ticket.events.get(kind="call.completed")
    assert completed.data["duration"] == 95
    assert completed.data["abandoned"] is True  # hung up while waiting in the queue
    call = Call.objects.get(sid=sid)
    assert (call.status, call.duration) == ("completed", 95)


def test_signed_requests_missing_fields_get_400_and_store_nothing(client, line):
    assert post(client, "/webhooks/twilio/voice/", {"From": CALLER, "To": line.phone_number}).status_code == 400
    assert post(client, "/webhooks/twilio/sms/", {"From": CALLER, "To": line.phone_number}).status_code == 400
    assert post(client, "/webhooks/twilio/voice/status/", call_params(new_sid("CA"))).status_code == 400
    assert client.get("/webhooks/twilio/voice/", secure=True).status_code == 405
    assert not Call.objects.exists() and not Message.objects.exists()


def test_status_of_an_unknown_call_is_accepted_and_ignored(client, line):
    response = post(client, "/webhooks/twilio/voice/status/", call_params(new_sid("CA"), CallStatus="completed"))
    assert response.status_code == 204
    assert not Ticket.objects.exists()


def test_without_a_configured_base_the_first_signed_webhook_sets_it(client, line, monkeypatch):
    monkeypatch.delenv("TWILIO_PUBLIC_BASE_URL", raising=False)
    line.public_base_url = ""
    line.save()
    forged = post(client, "/webhooks/twilio/voice/", call_params(new_sid("CA")), base="https://testserver", token="x")
    line.refresh_from_db()
    assert forged.status_code == 403 and line.public_base_url == ""
    root = twiml(post(client, "/webhooks/twilio/voice/", call_params(new_sid("CA")), base="https://testserver"))
    line.refresh_from_db()
    assert line.public_base_url == "https://testserver"
    assert root.find("Gather").get("action") == "https://testserver/webhooks/twilio/voice/language/"


def test_hmac_sha256_signatures_named_in_the_settings_header_are_checked(client, line):
    from twilio.request_validator import HMAC_SHA256, RequestValidator

    params = {"AccountSid": line.account_sid, **call_params(new_sid("CA"))}
    url = BASE + "/webhooks/twilio/voice/"
    header = {"HTTP_X_TWILIO_WEBHOOKS_SIGNATURE_SETTINGS": f"algorithm={HMAC_SHA256}"}
    good = RequestValidator(line.auth_token).compute_signature(url, params, HMAC_SHA256)
    ok = client.post("/webhooks/twilio/voice/", params, secure=True, HTTP_X_TWILIO_SIGNATURE=good, **header)
    sha1_under_sha256 = client.post(
        "/webhooks/twilio/voice/", params, secure=True, HTTP_X_TWILIO_SIGNATURE=sign(url, params), **header
    )
    assert (ok.status_code, sha1_under_sha256.status_code) == (200, 403)
