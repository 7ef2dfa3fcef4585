"""Twilio webhooks: voice (IVR, hold queue, bridge result, voicemail), status callbacks,
recordings and transcriptions, SMS in and SMS delivery status. Each answers at once;
the REST calls back to Twilio (bridging, sending SMS) run in the worker."""

from __future__ import annotations

from django.http import HttpResponse
from twilio.twiml.messaging_response import MessagingResponse

from channels_app.twilio import services, twiml
from channels_app.twilio.client import public_base_url
from channels_app.twilio.signature import twilio_webhook

QUEUE_GAVE_UP = {"leave", "queue-full", "error", "system-error"}


def _twiml(response) -> HttpResponse:
    return HttpResponse(str(response), content_type="text/xml; charset=utf-8")


def _no_content() -> HttpResponse:
    return HttpResponse(status=204)


def _language(request, default: str = "") -> str:
    lang = request.GET.get("lang", "")
    return lang if lang in twiml.LANGUAGES else default


@twilio_webhook("CallSid")
def voice(request, line):
    """A call comes in: greeting and language choice, or voicemail when the line is closed."""
    services.call_register(line=line, params=request.POST)
    base = public_base_url(line)
    if not line.active or not services.line_is_open(line):
        return _twiml(twiml.voicemail_response(line, base, None, reason="closed"))
    return _twiml(twiml.greeting_response(line, base))


@twilio_webhook("CallSid")
def voice_language(request, line):
    language = _language(request) or twiml.LANGUAGE_DIGIT.get(request.POST.get("Digits", ""), twiml.LANGUAGES[0])
    return _twiml(twiml.menu_response(line, public_base_url(line), language))


@twilio_webhook("CallSid")
def voice_menu(request, line):
    """The caller pressed a menu key: the call becomes a ticket and waits in the hold queue."""
    language = _language(request, twiml.LANGUAGES[0])
    base = public_base_url(line)
    options = list(line.options.select_related("queue", "skill").order_by("digit"))
    digits = request.POST.get("Digits", "")
    option = next((o for o in options if o.digit == digits), None)
    if option is None and request.GET.get("default") and options:
        option = options[0]
    if option is None:
        if not options:
            return _twiml(twiml.voicemail_response(line, base, language, reason="busy"))
        return _twiml(twiml.menu_response(line, base, language, retry=True))
    call = services.call_register(line=line, params=request.POST)
    services.call_enqueue(call=call, option=option, language=language)
    return _twiml(twiml.enqueue_response(line, base, language, queue_name=f"line{line.pk}-{option.digit}"))


@twilio_webhook("CallSid")
def voice_wait(request, line):
    """Hold music while waiting (Twilio loops it); past the option's limit, out to voicemail."""
    call = services.call_find(request.POST["CallSid"])
    queue_time = services._int(request.POST.get("QueueTime")) or 0
    leave = services.call_wait_exceeded(call, queue_time)
    position = services._int(request.POST.get("QueuePosition"))
    return _twiml(twiml.wait_response(line, _language(request, "en"), position=position, leave=leave))


@twilio_webhook("CallSid")
def voice_queue_done(request, line):
    if request.POST.get("QueueResult", "") in QUEUE_GAVE_UP:
        return _twiml(twiml.voicemail_response(line, public_base_url(line), _language(request) or None, reason="busy"))
    return _twiml(twiml.empty_response())


@twilio_webhook("CallSid")
def voice_dial_done(request, line):
    """The agent's leg ended: hang up after a conversation, else offer voicemail."""
    call = services.call_find(request.POST["CallSid"])
    if call is None or services.call_dial_result(call=call, params=request.POST):
        response = twiml.empty_response()
        response.hangup()
        return _twiml(response)
    return _twiml(twiml.voicemail_response(line, public_base_url(line), call.language or None, reason="busy"))


@twilio_webhook("CallSid")
def voice_voicemail(request, line):
    """The Record verb's action: keep the voicemail, thank the caller."""
    services.recording_store(params=request.POST, voicemail=True)
    return _twiml(twiml.goodbye_response(line, _language(request) or None))


@twilio_webhook("CallSid")
def voice_recording(request, line):
    services.recording_store(params=request.POST, voicemail=request.GET.get("kind") == "voicemail")
    return _no_content()


@twilio_webhook("CallSid")
def voice_transcription(request, line):
    services.transcription_store(params=request.POST)
    return _no_content()


@twilio_webhook("CallSid", "CallStatus")
def voice_status(request, line):
    services.call_status_record(params=request.POST)
    return _no_content()


@twilio_webhook("MessageSid", "From")
def sms(request, line):
    services.sms_receive(line=line, params=request.POST)
    return HttpResponse(str(MessagingResponse()), content_type="text/xml; charset=utf-8")


@twilio_webhook("MessageSid", "MessageStatus")
def sms_status(request, line):
    services.sms_status_record(params=request.POST)
    return _no_content()
