"""Phone and SMS service functions, called by the webhooks, the API, the job and the duty.

Every webhook handler is idempotent: calls and messages are keyed by CallSid and
MessageSid, and each status callback is stored once per (sid, status) in a receipt.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from channels_app.twilio.models import AgentPhone, Call, CallDirection, IvrOption, PhoneLine, WebhookReceipt
from crm.identifiers import normalize_phone
from crm.models import IdentityKind
from crm.selectors import identity_find
from crm.services import tags_get_or_create
from ticketing.events import ticket_event_record
from ticketing.inbound import InboundMessage, inbound_ingest
from ticketing.models import Channel, Direction, Message, Status, Ticket
from ticketing.services import ticket_add_note

logger = logging.getLogger("channels_app.twilio")

# Twilio's CallStatus values and the ticket event each becomes.
CALL_EVENTS = {
    "ringing": "call.ringing",
    "in-progress": "call.answered",
    "completed": "call.completed",
    "no-answer": "call.no_answer",
    "busy": "call.busy",
    "failed": "call.failed",
    "canceled": "call.canceled",
}
CALL_ENDED = {"completed", "no-answer", "busy", "failed", "canceled"}


def receipt_once(key: str) -> bool:
    """True the first time `key` is seen; False for a replay."""
    try:
        with transaction.atomic():
            WebhookReceipt.objects.create(key=key[:200])
        return True
    except IntegrityError:
        return False


def line_for_webhook(params) -> PhoneLine | None:
    """The line a webhook is about: same account, and its number on either end of the call or message."""
    account = params.get("AccountSid", "")
    lines = PhoneLine.objects.filter(account_sid=account) if account else PhoneLine.objects.none()
    numbers = {params.get("To", ""), params.get("From", ""), params.get("Called", ""), params.get("Caller", "")}
    return lines.filter(phone_number__in=numbers - {""}).first() or lines.order_by("id").first()


def line_is_open(line: PhoneLine, at=None) -> bool:
    from ticketing.sla.business_time import is_working_time
    from ticketing.sla.services import calendar_from_model

    if line.calendar is None:
        return True
    return is_working_time(calendar=calendar_from_model(line.calendar), at=at or timezone.now())


def call_register(*, line: PhoneLine, params, direction: str = CallDirection.INBOUND) -> Call:
    call, _created = Call.objects.get_or_create(
        sid=params["CallSid"],
        defaults={
            "line": line,
            "direction": direction,
            "from_number": params.get("From", "")[:40],
            "to_number": params.get("To", "")[:40],
            "status": params.get("CallStatus", "")[:20],
        },
    )
    return call


def call_find(sid: str) -> Call | None:
    return Call.objects.select_related("line", "ticket", "option").filter(sid=sid).first()


def _call_event(call: Call, kind: str, data: dict | None = None) -> None:
    if call.ticket_id is not None:
        ticket_event_record(ticket=call.ticket, kind=kind, data={"call_sid": call.sid, **(data or {})})


@transaction.atomic
def call_ticket_ensure(*, call: Call, queue=None, language: str = "", option: IvrOption | None = None) -> Ticket:
    """The call's ticket on the caller's CRM record (a new person when the number is unknown)."""
    call = Call.objects.select_for_update().get(pk=call.pk)
    if call.ticket_id is not None:
        return call.ticket
    text = _("Phone call from %(number)s") % {"number": call.from_number}
    if option is not None:
        text += " · " + option.label(language or "en")
    result = inbound_ingest(
        InboundMessage(
            channel=Channel.VOICE,
            sender_address=call.from_number,
            external_id=call.sid,
            subject=text,
            text=text,
            language=language,
            queue=queue,
        )
    )
    ticket = result.ticket
    if option is not None and option.skill_id and result.created:
        ticket.tags.add(*tags_get_or_create([option.skill.code]))
    Call.objects.filter(pk=call.pk).update(ticket=ticket, language=language, option=option)
    return ticket


@transaction.atomic
def call_enqueue(*, call: Call, option: IvrOption, language: str) -> Ticket:
    """The caller chose a queue: make the ticket (routing offers it to an agent) and start waiting."""
    ticket = call_ticket_ensure(call=call, queue=option.queue, language=language, option=option)
    if Call.objects.filter(pk=call.pk, enqueued_at__isnull=True).update(enqueued_at=timezone.now()):
        call.refresh_from_db()
        _call_event(call, "call.queued", {"queue": option.queue_id, "language": language})
    return ticket


def call_wait_exceeded(call: Call | None, queue_time: int) -> bool:
    limit = call.option.max_wait_seconds if call is not None and call.option is not None else 120
    return queue_time >= limit


@transaction.atomic
def call_status_record(*, params) -> Call | None:
    """A status callback: the call's state, and once per status a ticket event."""
    call = call_find(params.get("CallSid", ""))
    status = params.get("CallStatus", "")
    if call is None or status not in CALL_EVENTS:
        return call
    if not receipt_once(f"call-status:{call.sid}:{status}"):
        return call
    changes: dict = {"status": status}
    data: dict = {"status": status}
    if status in CALL_ENDED:
        changes["ended_at"] = timezone.now()
        duration = _int(params.get("CallDuration"))
        if duration is not None:
            changes["duration"] = duration
            data["duration"] = duration
        if call.waiting:  # hung up in the hold queue: a missed call to return
            data["abandoned"] = True
    Call.objects.filter(pk=call.pk).update(**changes)
    call.refresh_from_db()
    _call_event(call, CALL_EVENTS[status], data)
    return call


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@transaction.atomic
def call_dial_result(*, call: Call, params) -> bool:
    """The Dial to the agent ended; True when the agent talked to the caller."""
    status = params.get("DialCallStatus", "")
    if receipt_once(f"dial:{call.sid}:{params.get('DialCallSid', '')}:{status}"):
        _call_event(call, "call.agent_" + status.replace("-", "_"), {"duration": _int(params.get("DialCallDuration"))})
    return status in {"completed", "answered"}


@transaction.atomic
def recording_store(*, params, voicemail: bool = False) -> Message | None:
    """A finished recording (call or voicemail) linked on the ticket as a note with its URL and length."""
    sid = params.get("RecordingSid", "")
    call = call_find(params.get("CallSid", ""))
    url = params.get("RecordingUrl", "")
    if call is None or not sid or not url or params.get("RecordingStatus", "completed") != "completed":
        return None
    if not receipt_once(f"recording:{sid}"):
        return None
    if call.ticket_id is None:  # after hours: the voicemail makes the ticket
        line = call.line
        call_ticket_ensure(call=call, queue=line.default_queue if line else None, language=call.language)
        call.refresh_from_db()
    duration = _int(params.get("RecordingDuration"))
    Call.objects.filter(pk=call.pk).update(
        recording_url=url[:500], recording_duration=duration, voicemail=call.voicemail or voicemail
    )
    if voicemail:
        text = _("Voicemail (%(seconds)s s): %(url)s") % {"seconds": duration, "url": url}
    else:
        text = _("Call recording (%(seconds)s s): %(url)s") % {"seconds": duration, "url": url}
    message = _system_note(call.ticket, text)
    _call_event(
        call,
        "call.voicemail" if voicemail else "call.recording",
        {"recording_sid": sid, "url": url, "duration": duration, "message_id": message.id},
    )
    return message


@transaction.atomic
def transcription_store(*, params) -> Message | None:
    call = call_find(params.get("CallSid", ""))
    key = params.get("TranscriptionSid") or params.get("RecordingSid", "")
    text = (params.get("TranscriptionText") or "").strip()
    if call is None or call.ticket_id is None or not key or params.get("TranscriptionStatus") != "completed":
        return None
    if not text or not receipt_once(f"transcription:{key}"):
        return None
    message = _system_note(call.ticket, _("Voicemail transcription: %(text)s") % {"text": text})
    _call_event(call, "call.transcribed", {"message_id": message.id})
    return message


def _system_note(ticket: Ticket, text: str) -> Message:
    """An internal note without an author: written by the phone system."""
    return ticket_add_note(ticket=ticket, by=None, body_text=text)


def agent_phone_for(user) -> AgentPhone:
    phone, _created = AgentPhone.objects.get_or_create(user=user, defaults={"client_identity": f"agent-{user.pk}"})
    return phone


@transaction.atomic
def agent_phone_set(*, user, number: str, use_browser: bool = False) -> AgentPhone:
    number = (number or "").strip()
    if number:
        try:
            number = normalize_phone(number)
        except ValueError as exc:
            raise ValidationError({"number": [str(exc)]}) from None
    phone = agent_phone_for(user)
    phone.number, phone.use_browser = number, use_browser
    phone.save(update_fields=["number", "use_browser"])
    return phone


def bridge_target(user) -> tuple[str, str]:
    """(number, identity): where an accepted call rings."""
    phone = agent_phone_for(user)
    if phone.number and not phone.use_browser:
        return phone.number, ""
    return "", phone.client_identity


def call_bridge(*, ticket_id: int) -> Call | None:
    """Move the ticket's waiting call out of the hold queue to its assignee (REST: update the live call)."""
    from twilio.base.exceptions import TwilioException, TwilioRestException

    from channels_app.twilio.client import line_client, public_base_url
    from channels_app.twilio.twiml import bridge_response

    with transaction.atomic():
        call = (
            Call.objects.select_for_update(of=("self",))
            .filter(ticket_id=ticket_id, enqueued_at__isnull=False, bridged_at__isnull=True, ended_at__isnull=True)
            .select_related("line", "ticket", "ticket__assignee")
            .order_by("-created_at")
            .first()
        )
        if call is None or call.ticket.assignee is None or call.line is None:
            return None
        agent = call.ticket.assignee
        number, identity = bridge_target(agent)
        twiml = bridge_response(call.line, public_base_url(call.line), number=number, identity=identity)
        try:
            line_client(call.line).calls(call.sid).update(twiml=str(twiml))
        except (TwilioRestException, TwilioException) as exc:
            logger.warning("Could not bridge call %s: %s", call.sid, exc)
            _call_event(call, "call.bridge_failed", {"error": str(exc)[:300]})
            return None
        target = number or f"client:{identity}"
        Call.objects.filter(pk=call.pk).update(bridged_at=timezone.now(), agent=agent, bridge_target=target)
        _call_event(call, "call.bridged", {"agent": agent.pk, "to": target})
        return call


def sms_thread_ticket(*, line: PhoneLine, sender: str) -> int | None:
    """The sender's open SMS ticket with a message within the line's window."""
    try:
        value = normalize_phone(sender)
    except ValueError:
        return None
    identity = identity_find(kind=IdentityKind.PHONE, value=value)
    if identity is None:
        return None
    since = timezone.now() - timedelta(hours=line.sms_thread_hours)
    ticket = (
        Ticket.objects.filter(customer=identity.person, channel=Channel.SMS, messages__created_at__gte=since)
        .exclude(status=Status.CLOSED)
        .order_by("-updated_at")
        .first()
    )
    return ticket.pk if ticket else None


def sms_receive(*, line: PhoneLine, params) -> Message:
    """An inbound SMS becomes a ticket message (idempotent on MessageSid); media stay links at Twilio."""
    text = params.get("Body", "")
    media = [params.get(f"MediaUrl{i}", "") for i in range(_int(params.get("NumMedia")) or 0)]
    if media := [url for url in media if url]:
        text = "\n".join([text, *media]).strip()
    result = inbound_ingest(
        InboundMessage(
            channel=Channel.SMS,
            sender_address=params.get("From", ""),
            external_id=params["MessageSid"],
            text=text,
            subject=_("SMS from %(number)s") % {"number": params.get("From", "")},
            ticket_id=sms_thread_ticket(line=line, sender=params.get("From", "")),
            queue=line.default_queue,
        )
    )
    return result.message


SMS_DELIVERY = {
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
}
DELIVERY_RANK = {"queued": 0, "sent": 1, "delivered": 2, "failed": 2}


@transaction.atomic
def sms_status_record(*, params) -> Message | None:
    """A delivery status callback: the message's delivery status moves forward only."""
    from channels_app.twilio.models import OutboundSms

    sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    outbound = OutboundSms.objects.select_related("message").filter(sid=sid).first()
    if outbound is None:
        return None
    if not receipt_once(f"sms-status:{sid}:{status}"):
        return outbound.message
    OutboundSms.objects.filter(pk=outbound.pk).update(twilio_status=status[:20])
    delivery = SMS_DELIVERY.get(status)
    message = outbound.message
    if delivery and DELIVERY_RANK[delivery] > DELIVERY_RANK.get(message.delivery_status, 0):
        error = ""
        if delivery == "failed":
            error = _("Twilio error %(code)s") % {"code": params.get("ErrorCode") or "?"}
        Message.objects.filter(pk=message.pk).update(delivery_status=delivery, delivery_error=error)
        message.refresh_from_db()
        ticket_event_record(
            ticket=message.ticket, kind="message.delivery", data={"message_id": message.id, "status": delivery}
        )
    return message


def ticket_phone_number(ticket: Ticket) -> str:
    """The customer's number: the latest one they called or texted from, else their first phone."""
    last = (
        Message.objects.filter(ticket=ticket, direction=Direction.INBOUND, sender__kind=IdentityKind.PHONE)
        .select_related("sender")
        .order_by("-created_at", "-id")
        .first()
    )
    if last is not None:
        return last.sender.value
    identity = ticket.customer.identities.filter(kind=IdentityKind.PHONE).order_by("id").first()
    return identity.value if identity is not None else ""


def line_for_ticket(ticket: Ticket | None) -> PhoneLine | None:
    """The line the customer reached, else one serving the ticket's queue, else the first active one."""
    active = PhoneLine.objects.filter(active=True)
    if ticket is not None:
        call = Call.objects.filter(ticket=ticket, line__active=True).order_by("-created_at").first()
        if call is not None:
            return call.line
        sms_line = (
            active.filter(Q(default_queue_id=ticket.queue_id) | Q(options__queue_id=ticket.queue_id))
            .order_by("id")
            .first()
        )
        if sms_line is not None:
            return sms_line
    return active.order_by("id").first()


def call_dial_out(*, by, ticket: Ticket | None = None, person=None) -> Call:
    """Click-to-call: Twilio rings the agent's phone, then dials the customer. From a person without a
    ticket, a new voice ticket assigned to the agent records the call."""
    from twilio.base.exceptions import TwilioException, TwilioRestException

    from channels_app.twilio.client import line_client, public_base_url
    from channels_app.twilio.twiml import outbound_response, webhook_url
    from ticketing.services import ticket_create

    phone = agent_phone_for(by)
    if not phone.number:
        raise ValidationError({"agent": [_("Set your own phone number first: Twilio rings it, then the customer.")]})
    if ticket is not None:
        number = ticket_phone_number(ticket)
    else:
        identity = person.identities.filter(kind=IdentityKind.PHONE).order_by("id").first()
        number = identity.value if identity else ""
    if not number:
        raise ValidationError({"number": [_("This customer has no phone number.")]})
    line = line_for_ticket(ticket)
    if line is None:
        raise ValidationError({"line": [_("No active phone line is configured.")]})
    base = public_base_url(line)
    language = "zh" if ((ticket.language if ticket else person.language) or "").startswith("zh") else "en"
    try:
        created = line_client(line).calls.create(
            to=phone.number,
            from_=line.phone_number,
            twiml=str(outbound_response(line, base, number, language)),
            status_callback=webhook_url(base, "status"),
            status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
        )
    except (TwilioRestException, TwilioException) as exc:
        raise ValidationError(
            {"non_field_errors": [_("Twilio refused the call: %(error)s") % {"error": exc}]}
        ) from None
    with transaction.atomic():
        if ticket is None:
            ticket = ticket_create(
                by=by,
                customer=person,
                subject=_("Call to %(number)s") % {"number": number},
                channel=Channel.VOICE,
                queue=line.default_queue,
                assignee=by,
                language=person.language,
            )
        call = Call.objects.create(
            sid=created.sid,
            line=line,
            ticket=ticket,
            direction=CallDirection.OUTBOUND,
            from_number=line.phone_number,
            to_number=number,
            status=created.status or "queued",
            agent=by,
            bridge_target=phone.number,
            language=language,
        )
        _call_event(call, "call.dialing", {"to": number, "agent": by.pk})
    return call


def voice_access_token(*, user, line: PhoneLine, ttl: int = 3600) -> tuple[str, str]:
    """A Voice SDK access token for the agent's browser identity (for a console with the SDK)."""
    from twilio.jwt.access_token import AccessToken
    from twilio.jwt.access_token.grants import VoiceGrant

    if not (line.api_key_sid and line.api_key_secret and line.twiml_app_sid):
        raise ValidationError({"line": [_("This line has no API key and TwiML app for browser calls.")]})
    identity = agent_phone_for(user).client_identity
    token = AccessToken(line.account_sid, line.api_key_sid, line.api_key_secret, identity=identity, ttl=ttl)
    token.add_grant(VoiceGrant(outgoing_application_sid=line.twiml_app_sid, incoming_allow=True))
    return token.to_jwt(), identity
