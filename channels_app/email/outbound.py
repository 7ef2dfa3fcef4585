"""Email out: queued outbound messages on email tickets become outbox rows, which the
worker claims with a conditional UPDATE (two workers never send the same one),
sends with aiosmtplib through the ticket's mailbox, and marks sent or failed."""

from __future__ import annotations

import asyncio
import logging
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from channels_app.email.threads import references_for_reply, subject_with_reference
from channels_app.models import Mailbox, OutboundEmail, OutboundKind, OutboxStatus, RawEmail, Security
from crm.models import IdentityKind
from ticketing.models import Channel, DeliveryStatus, Direction, Message, Ticket

logger = logging.getLogger("channels_app.email")

MAX_ATTEMPTS = 6
CLAIM_FOR = timedelta(minutes=5)
SMTP_TIMEOUT = 30


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8… minutes, at most 6 hours."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 6 * 3600))


class PermanentFailure(Exception):
    """Retrying will not help (no recipient, no mailbox, 5xx answer)."""


def mailbox_for_ticket(ticket: Ticket) -> Mailbox | None:
    """The mailbox the customer wrote to, else the one serving the ticket's queue, else the first active one."""
    raw = (
        RawEmail.objects.filter(message__ticket=ticket, direction=RawEmail.Direction.INBOUND, mailbox__isnull=False)
        .order_by("-message__created_at")
        .select_related("mailbox")
        .first()
    )
    if raw is not None and raw.mailbox.active:
        return raw.mailbox
    active = Mailbox.objects.filter(active=True)
    return active.filter(default_queue_id=ticket.queue_id).first() or active.order_by("id").first()


def last_inbound_email(ticket: Ticket) -> RawEmail | None:
    return (
        RawEmail.objects.filter(message__ticket=ticket, direction=RawEmail.Direction.INBOUND)
        .exclude(email_id="")
        .order_by("-message__created_at", "-id")
        .first()
    )


def recipient_for(ticket: Ticket) -> str:
    last = (
        Message.objects.filter(ticket=ticket, direction=Direction.INBOUND, sender__kind=IdentityKind.EMAIL)
        .select_related("sender")
        .order_by("-created_at", "-id")
        .first()
    )
    if last is not None:
        return last.sender.value
    identity = ticket.customer.identities.filter(kind=IdentityKind.EMAIL).order_by("id").first()
    return identity.value if identity is not None else ""


def outbox_enqueue_pending() -> int:
    """Outbox rows for queued outbound email messages that have none yet."""
    pending = Message.objects.filter(
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        delivery_status=DeliveryStatus.QUEUED,
        outbound_email__isnull=True,
    ).select_related("ticket")
    created = 0
    for message in pending[:500]:
        mailbox = mailbox_for_ticket(message.ticket)
        domain = (mailbox.from_address.rsplit("@", 1)[-1] if mailbox else "") or "localhost"
        try:
            with transaction.atomic():
                OutboundEmail.objects.create(
                    message=message,
                    ticket=message.ticket,
                    mailbox=mailbox,
                    email_id=make_msgid(idstring=f"ticket{message.ticket.number}", domain=domain),
                )
            created += 1
        except IntegrityError:
            pass  # another worker made it
    return created


def build_acknowledgement(*, outbound: OutboundEmail, mailbox: Mailbox) -> EmailMessage:
    if not outbound.to_address:
        raise PermanentFailure("no address to acknowledge")
    mime = EmailMessage()
    mime["Message-ID"] = outbound.email_id
    mime["Date"] = format_datetime(timezone.now())
    mime["From"] = formataddr((mailbox.from_name, mailbox.from_address)) if mailbox.from_name else mailbox.from_address
    mime["To"] = outbound.to_address
    mime["Subject"] = outbound.subject
    if outbound.in_reply_to:
        mime["In-Reply-To"] = outbound.in_reply_to
        mime["References"] = outbound.in_reply_to
    # RFC 3834: an automatic answer says so, so that other responders stay quiet; a transcript
    # or a notice to staff is generated, not an answer to a message.
    mime["Auto-Submitted"] = "auto-replied" if outbound.kind == OutboundKind.ACKNOWLEDGEMENT else "auto-generated"
    mime["X-Auto-Response-Suppress"] = "All"
    mime["Precedence"] = "auto_reply" if outbound.kind == OutboundKind.ACKNOWLEDGEMENT else "bulk"
    mime.set_content(outbound.body_text)
    return mime


def build_email(*, outbound: OutboundEmail, mailbox: Mailbox) -> EmailMessage:
    if outbound.kind != OutboundKind.REPLY or outbound.message is None:
        return build_acknowledgement(outbound=outbound, mailbox=mailbox)
    message = outbound.message
    ticket = message.ticket
    to = recipient_for(ticket)
    if not to:
        raise PermanentFailure("the customer has no email address")
    mime = EmailMessage()
    mime["Message-ID"] = outbound.email_id
    mime["Date"] = format_datetime(timezone.now())
    mime["From"] = formataddr((mailbox.from_name, mailbox.from_address)) if mailbox.from_name else mailbox.from_address
    mime["To"] = to
    mime["Subject"] = subject_with_reference(ticket.subject, ticket.number)
    parent = last_inbound_email(ticket)
    if parent is not None:
        mime["In-Reply-To"] = parent.email_id
        mime["References"] = " ".join(
            references_for_reply(parent_message_id=parent.email_id, parent_references=parent.references.split())
        )
    mime["Auto-Submitted"] = "no"
    mime["X-Ticket"] = str(ticket.number)
    mime.set_content(message.body_text or "")
    if message.body_html:
        mime.add_alternative(message.body_html, subtype="html")
    for attachment in message.attachments.all():
        if not attachment.stored or not attachment.file:
            continue
        with attachment.file.open("rb") as handle:
            data = handle.read()
        maintype, _, subtype = (attachment.content_type or "application/octet-stream").partition("/")
        mime.add_attachment(
            data, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=attachment.filename
        )
    return mime


async def _smtp_send(mailbox: Mailbox, mime: EmailMessage) -> None:
    import aiosmtplib

    await aiosmtplib.send(
        mime,
        hostname=mailbox.smtp_host,
        port=mailbox.smtp_port,
        username=mailbox.smtp_user or None,
        password=mailbox.smtp_password or None,
        use_tls=mailbox.smtp_security == Security.TLS,
        start_tls=mailbox.smtp_security == Security.STARTTLS,
        tls_context=ssl.create_default_context() if mailbox.smtp_security != Security.NONE else None,
        timeout=SMTP_TIMEOUT,
    )


def smtp_send(mailbox: Mailbox, mime: EmailMessage) -> None:
    """Send one message; a 5xx answer is a PermanentFailure, anything else may be retried."""
    import aiosmtplib

    if not mailbox.smtp_host:
        raise PermanentFailure(f"mailbox {mailbox.name} has no SMTP server")
    try:
        asyncio.run(_smtp_send(mailbox, mime))
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [error.code for error in exc.recipients]
        if all(code >= 500 for code in codes):
            raise PermanentFailure(f"recipient refused: {exc.recipients[0].message}") from exc
        raise
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code >= 500 and not isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            raise PermanentFailure(f"{exc.code} {exc.message}") from exc
        raise


def _claim(pk: int) -> bool:
    now = timezone.now()
    due = Q(status=OutboxStatus.QUEUED, next_attempt_at__lte=now) | Q(
        status=OutboxStatus.SENDING, claimed_until__lt=now
    )
    return bool(
        OutboundEmail.objects.filter(due, pk=pk).update(
            status=OutboxStatus.SENDING, claimed_until=now + CLAIM_FOR, attempts=F("attempts") + 1
        )
    )


def outbox_send_one(outbound: OutboundEmail) -> str:
    """Send one claimed row; returns its new status. Never raises."""
    try:
        mailbox = outbound.mailbox or (mailbox_for_ticket(outbound.ticket) if outbound.ticket else None)
        if mailbox is None:
            raise PermanentFailure("no active mailbox to send from")
        mime = build_email(outbound=outbound, mailbox=mailbox)
        smtp_send(mailbox, mime)
    except Exception as exc:
        permanent = isinstance(exc, PermanentFailure) or outbound.attempts >= MAX_ATTEMPTS
        error = (str(exc) if isinstance(exc, PermanentFailure) else f"{type(exc).__name__}: {exc}")[:500]
        logger.warning("Outbound email %s failed (%s): %s", outbound.pk, "permanent" if permanent else "retry", error)
        with transaction.atomic():
            if permanent:
                OutboundEmail.objects.filter(pk=outbound.pk).update(
                    status=OutboxStatus.FAILED, last_error=error, claimed_until=None
                )
                Message.objects.filter(pk=outbound.message_id).update(
                    delivery_status=DeliveryStatus.FAILED, delivery_error=error
                )
                return OutboxStatus.FAILED
            OutboundEmail.objects.filter(pk=outbound.pk).update(
                status=OutboxStatus.QUEUED,
                last_error=error,
                claimed_until=None,
                next_attempt_at=timezone.now() + backoff(outbound.attempts),
            )
            Message.objects.filter(pk=outbound.message_id).update(delivery_error=error)
            return OutboxStatus.QUEUED
    raw = mime.as_bytes()
    now = timezone.now()
    with transaction.atomic():
        OutboundEmail.objects.filter(pk=outbound.pk).update(
            status=OutboxStatus.SENT, sent_at=now, last_error="", claimed_until=None, mailbox=mailbox
        )
        Message.objects.filter(pk=outbound.message_id).update(delivery_status=DeliveryStatus.SENT, delivery_error="")
        if outbound.message_id is None:
            return OutboxStatus.SENT  # no ticket message to keep the raw mail on
        RawEmail.objects.get_or_create(
            message_id=outbound.message_id,
            defaults={
                "mailbox": mailbox,
                "direction": RawEmail.Direction.OUTBOUND,
                "email_id": outbound.email_id,
                "references": mime.get("References", ""),
                "compressed": RawEmail.compress(raw),
                "size": len(raw),
            },
        )
    return OutboxStatus.SENT


def outbox_send_due(*, limit: int = 100) -> int:
    """The worker's send_email duty: enqueue, claim and send what is due. Returns how many were processed."""
    outbox_enqueue_pending()
    now = timezone.now()
    due = (
        OutboundEmail.objects.filter(
            Q(status=OutboxStatus.QUEUED, next_attempt_at__lte=now)
            | Q(status=OutboxStatus.SENDING, claimed_until__lt=now)
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    processed = 0
    for pk in list(due):
        if not _claim(pk):
            continue  # another worker has it
        outbound = OutboundEmail.objects.select_related("message__ticket__customer", "ticket", "mailbox").get(pk=pk)
        outbox_send_one(outbound)
        processed += 1
    return processed
