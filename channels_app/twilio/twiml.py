"""The TwiML the voice webhooks answer with: greeting and language choice, menu, hold
queue, voicemail, and the bridge to an agent. Spoken words go through gettext in the
caller's language."""

from __future__ import annotations

from urllib.parse import urlencode

from django.utils.translation import gettext as _
from django.utils.translation import override
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from channels_app.twilio.models import IvrOption, PhoneLine

LANGUAGES = ("zh", "en")
DJANGO_LANGUAGE = {"zh": "zh-hans", "en": "en"}
SAY_LANGUAGE = {"zh": "zh-CN", "en": "en-US"}
LANGUAGE_DIGIT = {"1": "zh", "2": "en"}
VOICEMAIL_SECONDS = 120


def webhook_url(base: str, name: str, **query) -> str:
    url = f"{base}/webhooks/twilio/voice/{name}/"
    return f"{url}?{urlencode(query)}" if query else url


def say(node, line: PhoneLine, language: str, text: str) -> None:
    voice = line.voice_zh if language == "zh" else line.voice_en
    node.say(text, voice=voice, language=SAY_LANGUAGE[language])


def greeting_response(line: PhoneLine, base: str) -> VoiceResponse:
    """Greeting, then “中文请按1, for English press 2”."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, timeout=6, action=webhook_url(base, "language"), method="POST")
    if line.greeting_audio_url:
        gather.play(line.greeting_audio_url)
    for language in LANGUAGES:
        with override(DJANGO_LANGUAGE[language]):
            greeting = getattr(line, f"greeting_{language}") if not line.greeting_audio_url else ""
            digit = next(d for d, lang in LANGUAGE_DIGIT.items() if lang == language)
            choice = _("For %(language)s, press %(digit)s.") % {
                "language": "中文" if language == "zh" else "English",
                "digit": digit,
            }
            say(gather, line, language, f"{greeting} {choice}".strip())
    response.append(gather)
    # No key pressed: the first language.
    response.redirect(webhook_url(base, "language", lang=LANGUAGES[0]), method="POST")
    return response


def menu_prompt(options: list[IvrOption], language: str) -> str:
    with override(DJANGO_LANGUAGE[language]):
        parts = [
            _("For %(choice)s, press %(digit)s.") % {"choice": option.label(language), "digit": option.digit}
            for option in options
        ]
    return " ".join(parts)


def menu_response(line: PhoneLine, base: str, language: str, *, retry: bool = False) -> VoiceResponse:
    response = VoiceResponse()
    options = list(line.options.order_by("digit"))
    gather = Gather(num_digits=1, timeout=6, action=webhook_url(base, "menu", lang=language), method="POST")
    if retry:
        with override(DJANGO_LANGUAGE[language]):
            say(gather, line, language, _("Sorry, that is not a choice."))
    say(gather, line, language, menu_prompt(options, language))
    response.append(gather)
    response.redirect(webhook_url(base, "menu", lang=language, default=1), method="POST")
    return response


def enqueue_response(line: PhoneLine, base: str, language: str, queue_name: str) -> VoiceResponse:
    response = VoiceResponse()
    with override(DJANGO_LANGUAGE[language]):
        say(response, line, language, _("Please hold, we are connecting you to an agent."))
    response.enqueue(
        queue_name,
        wait_url=webhook_url(base, "wait", lang=language),
        wait_url_method="POST",
        action=webhook_url(base, "queue-done", lang=language),
        method="POST",
    )
    return response


def wait_response(line: PhoneLine, language: str, *, position: int | None, leave: bool) -> VoiceResponse:
    """The hold loop (Twilio repeats it); `leave` takes the caller out of the queue to voicemail."""
    response = VoiceResponse()
    if leave:
        response.leave()
        return response
    if position:
        with override(DJANGO_LANGUAGE[language]):
            say(response, line, language, _("You are number %(position)s in line.") % {"position": position})
    if line.hold_music_url:
        response.play(line.hold_music_url)
    else:
        response.pause(length=10)
    return response


def voicemail_response(line: PhoneLine, base: str, language: str | None, *, reason: str) -> VoiceResponse:
    """A prompt (both languages when the caller chose none) and a recording with transcription."""
    response = VoiceResponse()
    for lang in [language] if language else LANGUAGES:
        with override(DJANGO_LANGUAGE[lang]):
            if reason == "closed":
                text = _("We are closed now. Please leave a message after the tone and we will call you back.")
            else:
                text = _("All our agents are busy. Please leave a message after the tone and we will call you back.")
            say(response, line, lang, text)
    response.record(
        action=webhook_url(base, "voicemail", lang=language or ""),
        method="POST",
        max_length=VOICEMAIL_SECONDS,
        play_beep=True,
        transcribe=True,
        transcribe_callback=webhook_url(base, "transcription"),
        recording_status_callback=webhook_url(base, "recording", kind="voicemail"),
        recording_status_callback_method="POST",
    )
    response.hangup()
    return response


def goodbye_response(line: PhoneLine, language: str | None) -> VoiceResponse:
    response = VoiceResponse()
    lang = language or LANGUAGES[0]
    with override(DJANGO_LANGUAGE[lang]):
        say(response, line, lang, _("Thank you for your message. Goodbye."))
    response.hangup()
    return response


def bridge_response(line: PhoneLine, base: str, *, number: str = "", identity: str = "") -> VoiceResponse:
    """What the live call runs when an agent accepts it: ring the agent's phone or browser."""
    response = VoiceResponse()
    kwargs = {
        "action": webhook_url(base, "dial-done"),
        "method": "POST",
        "timeout": line.ring_agent_seconds,
        "caller_id": line.phone_number,
    }
    if line.record_calls:
        kwargs.update(
            record="record-from-answer-dual",
            recording_status_callback=webhook_url(base, "recording", kind="call"),
            recording_status_callback_method="POST",
        )
    dial = Dial(**kwargs)
    if number:
        dial.number(number)
    else:
        dial.client(identity)
    response.append(dial)
    return response


def outbound_response(line: PhoneLine, base: str, customer_number: str, language: str) -> VoiceResponse:
    """Click-to-call: the agent's phone rings first; once answered, Twilio dials the customer."""
    response = VoiceResponse()
    with override(DJANGO_LANGUAGE[language]):
        say(response, line, language, _("Connecting you to the customer."))
    kwargs = {"caller_id": line.phone_number, "timeout": 30}
    if line.record_calls:
        kwargs.update(
            record="record-from-answer-dual",
            recording_status_callback=webhook_url(base, "recording", kind="call"),
            recording_status_callback_method="POST",
        )
    dial = Dial(**kwargs)
    dial.number(customer_number)
    response.append(dial)
    return response


def empty_response() -> VoiceResponse:
    return VoiceResponse()
