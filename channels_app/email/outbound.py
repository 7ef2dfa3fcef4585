"""Email out: queued outbound messages on email tickets become outbox rows, which the
worker claims with a conditional UPDATE (two workers never send the same one),
sends with aiosmtplib through the ticket's mailbox, and marks sent or failed.

A round claims its rows in chunks (one UPDATE … RETURNING each), sends a chunk over SMTP sessions
that stay open for the whole round (smtp_session.py), and records the chunk's outcomes in one
transaction before the next chunk goes: what the server accepted is written down within a chunk."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from django.db import IntegrityError, connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from channels_app.email.smtp_session import Envelope, Outcome, Result, SmtpServer, SmtpSessions, deliver_one
from channels_app.email.threads import references_for_reply, subject_with_reference
from channels_app.models import Mailbox, OutboundEmail, OutboundKind, OutboxStatus, RawEmail, Security
from crm.models import IdentityKind
from ticketing.models import Channel, DeliveryStatus, Direction, Message, Ticket

logger = logging.getLogger("channels_app.email")

MAX_ATTEMPTS = 6
CLAIM_FOR = timedelta(minutes=5)
RECORD_EVERY = 25  # rows claimed, sent and recorded together within a round


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8… minutes, at most 6 hours."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 6 * 3600))


class PermanentFailure(Exception):
    """Retrying will not help (no recipient, no mailbox, 5xx answer)."""


def mailbox_for_ticket(ticket: Ticket) -> Mailbox | None:
    """The mailbox the customer wrote to, else the one serving the ticket's queue, else the first active one."""
    return mailboxes_for_tickets([ticket])[ticket.pk]


def mailboxes_for_tickets(tickets: list[Ticket]) -> dict[int, Mailbox | None]:
    """mailbox_for_ticket for many tickets in three queries."""
    wrote_to = (
        RawEmail.objects.filter(
            message__ticket=OuterRef("pk"), direction=RawEmail.Direction.INBOUND, mailbox__isnull=False
        )
        .order_by("-message__created_at", "-id")
        .values("mailbox_id")[:1]
    )
    wrote_to_by_ticket = dict(
        Ticket.objects.filter(pk__in={ticket.pk for ticket in tickets})
        .annotate(wrote_to=Subquery(wrote_to))
        .values_list("pk", "wrote_to")
    )
    mailboxes = Mailbox.objects.filter(Q(pk__in=set(wrote_to_by_ticket.values()) - {None}) | Q(active=True)).in_bulk()
    active = sorted((mailbox for mailbox in mailboxes.values() if mailbox.active), key=lambda mailbox: mailbox.pk)
    found: dict[int, Mailbox | None] = {}
    for ticket in tickets:
        mailbox = mailboxes.get(wrote_to_by_ticket.get(ticket.pk))
        if mailbox is None or not mailbox.active:
            serving = (candidate for candidate in active if candidate.default_queue_id == ticket.queue_id)
            mailbox = next(serving, None) or (active[0] if active else None)
        found[ticket.pk] = mailbox
    return found


def last_inbound_email(ticket: Ticket) -> RawEmail | None:
    return _last_inbound_emails(RawEmail.objects.filter(message__ticket=ticket)).first()


def _last_inbound_emails(raw_emails):
    return (
        raw_emails.filter(direction=RawEmail.Direction.INBOUND)
        .exclude(email_id="")
        .order_by("-message__created_at", "-id")
    )


def recipient_for(ticket: Ticket) -> str:
    last = _customer_emails(Message.objects.filter(ticket=ticket)).select_related("sender").first()
    if last is not None:
        return last.sender.value
    identity = ticket.customer.identities.filter(kind=IdentityKind.EMAIL).order_by("id").first()
    return identity.value if identity is not None else ""


def _customer_emails(messages):
    return messages.filter(direction=Direction.INBOUND, sender__kind=IdentityKind.EMAIL).order_by("-created_at", "-id")


@dataclass(frozen=True)
class ReplyContext:
    """What a reply takes from its ticket: whom to write to, and the customer's last email to answer."""

    recipient: str
    parent_email_id: str = ""
    parent_references: str = ""


def reply_context(ticket: Ticket) -> ReplyContext:
    parent = last_inbound_email(ticket)
    if parent is None:
        return ReplyContext(recipient_for(ticket))
    return ReplyContext(recipient_for(ticket), parent.email_id, parent.references)


def reply_contexts(tickets: list[Ticket]) -> dict[int, ReplyContext]:
    """reply_context for many tickets in one query (plus one per ticket whose customer never wrote by email)."""
    parents = _last_inbound_emails(RawEmail.objects.filter(message__ticket=OuterRef("pk")))
    rows = (
        Ticket.objects.filter(pk__in={ticket.pk for ticket in tickets})
        .annotate(
            recipient=Subquery(
                _customer_emails(Message.objects.filter(ticket=OuterRef("pk"))).values("sender__value")[:1]
            ),
            parent_email_id=Subquery(parents.values("email_id")[:1]),
            parent_references=Subquery(parents.values("references")[:1]),
        )
        .values_list("pk", "recipient", "parent_email_id", "parent_references")
    )
    found = {
        pk: (recipient, parent_email_id or "", references or "") for pk, recipient, parent_email_id, references in rows
    }
    contexts = {}
    for ticket in tickets:
        recipient, parent_email_id, references = found[ticket.pk]
        contexts[ticket.pk] = ReplyContext(recipient or recipient_for(ticket), parent_email_id, references)
    return contexts


def outbox_enqueue_pending() -> int:
    """Outbox rows for queued outbound email messages that have none yet."""
    pending = list(
        Message.objects.filter(
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            delivery_status=DeliveryStatus.QUEUED,
            outbound_email__isnull=True,
        ).select_related("ticket")[:500]
    )
    if not pending:
        return 0
    mailboxes = mailboxes_for_tickets([message.ticket for message in pending])
    rows = []
    for message in pending:
        mailbox = mailboxes[message.ticket_id]
        domain = (mailbox.from_address.rsplit("@", 1)[-1] if mailbox else "") or "localhost"
        rows.append(
            OutboundEmail(
                message=message,
                ticket=message.ticket,
                mailbox=mailbox,
                email_id=make_msgid(idstring=f"ticket{message.ticket.number}", domain=domain),
            )
        )
    try:
        with transaction.atomic():
            OutboundEmail.objects.bulk_create(rows)
        return len(rows)
    except IntegrityError:
        pass  # another worker made some of them: one by one
    created = 0
    for row in rows:
        try:
            with transaction.atomic():
                row.pk = None
                row.save(force_insert=True)
            created += 1
        except IntegrityError:
            pass
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


def build_email(*, outbound: OutboundEmail, mailbox: Mailbox, context: ReplyContext | None = None) -> EmailMessage:
    if outbound.kind != OutboundKind.REPLY or outbound.message is None:
        return build_acknowledgement(outbound=outbound, mailbox=mailbox)
    message = outbound.message
    ticket = message.ticket
    context = context or reply_context(ticket)
    to = context.recipient
    if not to:
        raise PermanentFailure("the customer has no email address")
    mime = EmailMessage()
    mime["Message-ID"] = outbound.email_id
    mime["Date"] = format_datetime(timezone.now())
    mime["From"] = formataddr((mailbox.from_name, mailbox.from_address)) if mailbox.from_name else mailbox.from_address
    mime["To"] = to
    mime["Subject"] = subject_with_reference(ticket.subject, ticket.number)
    if context.parent_email_id:
        mime["In-Reply-To"] = context.parent_email_id
        mime["References"] = " ".join(
            references_for_reply(
                parent_message_id=context.parent_email_id, parent_references=context.parent_references.split()
            )
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


def smtp_server(mailbox: Mailbox) -> SmtpServer:
    return SmtpServer(
        host=mailbox.smtp_host,
        port=mailbox.smtp_port,
        user=mailbox.smtp_user,
        password=mailbox.smtp_password,
        use_tls=mailbox.smtp_security == Security.TLS,
        start_tls=mailbox.smtp_security == Security.STARTTLS,
    )


def smtp_send(mailbox: Mailbox, mime: EmailMessage) -> None:
    """Send one message over its own session; a 5xx answer is a PermanentFailure, anything else may be retried."""
    if not mailbox.smtp_host:
        raise PermanentFailure(f"mailbox {mailbox.name} has no SMTP server")
    outcome = deliver_one(smtp_server(mailbox), mime)
    if outcome.result == Result.FAILED:
        raise PermanentFailure(outcome.error)
    if outcome.result == Result.RETRY:
        raise RuntimeError(outcome.error)


def _due(now) -> Q:
    return Q(status=OutboxStatus.QUEUED, next_attempt_at__lte=now) | Q(
        status=OutboxStatus.SENDING, claimed_until__lt=now
    )


def _claim(pk: int) -> bool:
    now = timezone.now()
    return bool(
        OutboundEmail.objects.filter(_due(now), pk=pk).update(
            status=OutboxStatus.SENDING, claimed_until=now + CLAIM_FOR, attempts=F("attempts") + 1
        )
    )


def _claim_many(pks: list[int]) -> list[int]:
    """Claim those of `pks` still due, in one conditional UPDATE; returns the ones this worker got."""
    if not pks:
        return []
    if not connection.features.can_return_columns_from_insert:  # no UPDATE … RETURNING (SQLite < 3.35)
        return [pk for pk in pks if _claim(pk)]
    now = timezone.now()
    ops = connection.ops
    at = ops.adapt_datetimefield_value
    placeholders = ", ".join(["%s"] * len(pks))
    sql = (
        f"UPDATE {ops.quote_name(OutboundEmail._meta.db_table)} "  # noqa: S608 (a model's table, placeholders)
        "SET status = %s, claimed_until = %s, attempts = attempts + 1 "
        f"WHERE id IN ({placeholders}) "
        "AND ((status = %s AND next_attempt_at <= %s) OR (status = %s AND claimed_until < %s)) RETURNING id"
    )
    params = [OutboxStatus.SENDING.value, at(now + CLAIM_FOR), *pks]
    params += [OutboxStatus.QUEUED.value, at(now), OutboxStatus.SENDING.value, at(now)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _failure(exc: Exception) -> Outcome:
    if isinstance(exc, PermanentFailure):
        return Outcome(Result.FAILED, str(exc))
    return Outcome(Result.RETRY, f"{type(exc).__name__}: {exc}")


def _send_claimed(rows: list[OutboundEmail], sessions: SmtpSessions) -> dict[int, str]:
    """Build and send claimed rows (each mailbox's over its sessions) and record them; returns their new statuses."""
    outcomes: dict[int, Outcome] = {}
    sent_from: dict[int, tuple[Mailbox, EmailMessage]] = {}
    batches: dict[SmtpServer, list[Envelope]] = defaultdict(list)
    replies = [row for row in rows if row.kind == OutboundKind.REPLY and row.message is not None]
    contexts = reply_contexts([row.message.ticket for row in replies]) if replies else {}
    unassigned = [row.ticket for row in rows if row.mailbox is None and row.ticket is not None]
    mailboxes = mailboxes_for_tickets(unassigned) if unassigned else {}
    for row in rows:
        try:
            mailbox = row.mailbox or mailboxes.get(row.ticket_id)
            if mailbox is None:
                raise PermanentFailure("no active mailbox to send from")
            if not mailbox.smtp_host:
                raise PermanentFailure(f"mailbox {mailbox.name} has no SMTP server")
            context = contexts.get(row.message.ticket_id) if row.message is not None else None
            mime = build_email(outbound=row, mailbox=mailbox, context=context)
        except Exception as exc:
            outcomes[row.pk] = _failure(exc)
            continue
        sent_from[row.pk] = (mailbox, mime)
        batches[smtp_server(mailbox)].append(Envelope(row.pk, mime))
    outcomes.update(sessions.deliver(batches.items()))
    return _record(rows, outcomes, sent_from)


def _record(
    rows: list[OutboundEmail], outcomes: dict[int, Outcome], sent_from: dict[int, tuple[Mailbox, EmailMessage]]
) -> dict[int, str]:
    """One transaction for the rows' outcomes: sent (with the raw mail kept), failed for good, or queued again."""
    now = timezone.now()
    statuses: dict[int, str] = {}
    sent_by_mailbox: dict[int, list[OutboundEmail]] = defaultdict(list)
    failed: dict[str, list[OutboundEmail]] = defaultdict(list)
    retried: dict[tuple[str, int], list[OutboundEmail]] = defaultdict(list)
    for row in rows:
        outcome = outcomes[row.pk]
        if outcome.result == Result.SENT:
            sent_by_mailbox[sent_from[row.pk][0].pk].append(row)
            statuses[row.pk] = OutboxStatus.SENT
            continue
        permanent = outcome.result == Result.FAILED or row.attempts >= MAX_ATTEMPTS
        error = outcome.error[:500]
        logger.warning("Outbound email %s failed (%s): %s", row.pk, "permanent" if permanent else "retry", error)
        if permanent:
            failed[error].append(row)
            statuses[row.pk] = OutboxStatus.FAILED
        else:
            retried[(error, row.attempts)].append(row)
            statuses[row.pk] = OutboxStatus.QUEUED
    with transaction.atomic():
        for mailbox_id, sent in sent_by_mailbox.items():
            OutboundEmail.objects.filter(pk__in=[row.pk for row in sent]).update(
                status=OutboxStatus.SENT, sent_at=now, last_error="", claimed_until=None, mailbox_id=mailbox_id
            )
        sent = [row for group in sent_by_mailbox.values() for row in group]
        message_ids = [row.message_id for row in sent if row.message_id is not None]
        if message_ids:
            Message.objects.filter(pk__in=message_ids).update(delivery_status=DeliveryStatus.SENT, delivery_error="")
            kept = set(RawEmail.objects.filter(message_id__in=message_ids).values_list("message_id", flat=True))
            RawEmail.objects.bulk_create(
                [
                    _raw_email(row, *sent_from[row.pk], outcomes[row.pk].data)
                    for row in sent
                    if row.message_id not in kept | {None}
                ]
            )
        for error, group in failed.items():
            OutboundEmail.objects.filter(pk__in=[row.pk for row in group]).update(
                status=OutboxStatus.FAILED, last_error=error, claimed_until=None
            )
            Message.objects.filter(pk__in=[row.message_id for row in group]).update(
                delivery_status=DeliveryStatus.FAILED, delivery_error=error
            )
        for (error, attempts), group in retried.items():
            OutboundEmail.objects.filter(pk__in=[row.pk for row in group]).update(
                status=OutboxStatus.QUEUED,
                last_error=error,
                claimed_until=None,
                next_attempt_at=now + backoff(attempts),
            )
            Message.objects.filter(pk__in=[row.message_id for row in group]).update(delivery_error=error)
    return statuses


def _raw_email(row: OutboundEmail, mailbox: Mailbox, mime: EmailMessage, sent: bytes) -> RawEmail:
    raw = sent or mime.as_bytes()  # the bytes the server accepted
    return RawEmail(
        message_id=row.message_id,
        mailbox=mailbox,
        direction=RawEmail.Direction.OUTBOUND,
        email_id=row.email_id,
        references=mime.get("References", ""),
        compressed=RawEmail.compress(raw),
        size=len(raw),
    )


def outbox_send_one(outbound: OutboundEmail) -> str:
    """Send one claimed row; returns its new status. Never raises."""
    with SmtpSessions() as sessions:
        return _send_claimed([outbound], sessions)[outbound.pk]


def _load(pks: list[int]) -> list[OutboundEmail]:
    return list(
        OutboundEmail.objects.filter(pk__in=pks)
        .select_related("message__ticket__customer", "ticket", "mailbox")
        .prefetch_related("message__attachments")
        .order_by("next_attempt_at", "id")
    )


def outbox_send_due(*, limit: int = 100) -> int:
    """The worker's send_email duty: enqueue, claim and send what is due. Returns how many were processed."""
    outbox_enqueue_pending()
    due = list(
        OutboundEmail.objects.filter(_due(timezone.now()))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    processed = 0
    with SmtpSessions() as sessions:
        for start in range(0, len(due), RECORD_EVERY):
            claimed = _claim_many(due[start : start + RECORD_EVERY])  # rows another worker has are skipped
            if claimed:
                _send_claimed(_load(claimed), sessions)
                processed += len(claimed)
    return processed
