"""SMS out: queued outbound messages on SMS tickets become outbox rows, which the worker
claims with a conditional UPDATE, sends through Twilio's Messages API, and marks sent or
failed (retrying what may succeed later). Status callbacks then move the message on."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from channels_app.twilio.client import line_client, public_base_url
from channels_app.twilio.models import OutboundSms, SmsStatus
from channels_app.twilio.services import line_for_ticket, ticket_phone_number
from ticketing.models import Channel, DeliveryStatus, Direction, Message

logger = logging.getLogger("channels_app.twilio")

MAX_ATTEMPTS = 6
CLAIM_FOR = timedelta(minutes=2)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def sms_outbox_enqueue() -> int:
    pending = Message.objects.filter(
        channel=Channel.SMS,
        direction=Direction.OUTBOUND,
        delivery_status=DeliveryStatus.QUEUED,
        outbound_sms__isnull=True,
    ).select_related("ticket", "ticket__customer")
    created = 0
    for message in pending[:500]:
        line = line_for_ticket(message.ticket)
        try:
            with transaction.atomic():
                OutboundSms.objects.create(message=message, line=line, to_number=ticket_phone_number(message.ticket))
            created += 1
        except IntegrityError:
            pass  # another worker made it
    return created


def _claim(row: OutboundSms, now) -> bool:
    return bool(
        OutboundSms.objects.filter(pk=row.pk, status=SmsStatus.QUEUED, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(status=SmsStatus.SENDING, claimed_until=now + CLAIM_FOR, attempts=F("attempts") + 1)
    )


def _fail(row: OutboundSms, error: str, *, permanent: bool) -> None:
    row.refresh_from_db()
    if permanent or row.attempts >= MAX_ATTEMPTS:
        OutboundSms.objects.filter(pk=row.pk).update(status=SmsStatus.FAILED, last_error=error[:500])
        Message.objects.filter(pk=row.message_id).update(
            delivery_status=DeliveryStatus.FAILED, delivery_error=error[:500]
        )
    else:
        OutboundSms.objects.filter(pk=row.pk).update(
            status=SmsStatus.QUEUED,
            last_error=error[:500],
            claimed_until=None,
            next_attempt_at=timezone.now() + backoff(row.attempts),
        )


def sms_send(row: OutboundSms) -> bool:
    """Send one claimed row; True when Twilio accepted it."""
    from twilio.base.exceptions import TwilioRestException

    line = row.line
    if line is None or not line.active:
        _fail(row, "no active phone line", permanent=True)
        return False
    if not row.to_number:
        _fail(row, "the customer has no phone number", permanent=True)
        return False
    base = public_base_url(line)
    kwargs = {"to": row.to_number, "from_": line.phone_number, "body": row.message.body_text}
    if base:
        kwargs["status_callback"] = f"{base}/webhooks/twilio/sms/status/"
    try:
        sent = line_client(line).messages.create(**kwargs)
    except TwilioRestException as exc:
        # 4xx (bad number, unsubscribed recipient): retrying will not help; 429 and 5xx may pass later.
        permanent = 400 <= (exc.status or 500) < 500 and exc.status != 429
        _fail(row, f"{exc.status} {exc.code}: {exc.msg}", permanent=permanent)
        return False
    except Exception as exc:  # connection errors and the like: try again later
        _fail(row, str(exc) or type(exc).__name__, permanent=False)
        return False
    now = timezone.now()
    OutboundSms.objects.filter(pk=row.pk).update(
        sid=sent.sid, status=SmsStatus.SENT, twilio_status=sent.status or "", sent_at=now, last_error=""
    )
    Message.objects.filter(pk=row.message_id, delivery_status=DeliveryStatus.QUEUED).update(
        delivery_status=DeliveryStatus.SENT, external_id=sent.sid
    )
    return True


def sms_outbox_send_due(*, limit: int = 200) -> int:
    """The worker's send_sms duty: enqueue, claim and send what is due."""
    sms_outbox_enqueue()
    now = timezone.now()
    due = (
        OutboundSms.objects.filter(status=SmsStatus.QUEUED, next_attempt_at__lte=now)
        .select_related("line", "message")
        .order_by("next_attempt_at")[:limit]
    )
    done = 0
    for row in list(due):
        if _claim(row, now):
            sms_send(row)
            done += 1
    return done
