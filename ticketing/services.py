"""Every change to a ticket goes through one of these functions, whether it
comes from the console, the API, a websocket consumer, a channel or the worker."""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from contact_center.scoped import scoped_value
from crm.models import Person
from crm.services import tags_get_or_create, timeline_add
from ticketing import transitions
from ticketing.events import ticket_event_record
from ticketing.models import (
    Attachment,
    Channel,
    DeliveryStatus,
    Direction,
    Message,
    Priority,
    Queue,
    Status,
    Ticket,
)
from ticketing.sanitize import sanitize_html
from ticketing.selectors import default_queue
from ticketing.sla.services import sla_recompute

TICKET_NUMBER_OFFSET = 10000
# Channels whose outbound messages are delivered by the worker through an outbox.
DELIVERED_CHANNELS = {Channel.EMAIL, Channel.SMS, Channel.CHAT}


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""


_pending_numbers = contextvars.ContextVar("ticket_numbers_pending", default=None)


@contextmanager
def ticket_numbers_batched():
    """Inside a worker's batch transaction (the mail poller's): a new ticket's number is written for the whole
    batch in one UPDATE before the commit (`ticket_numbers_flush`) instead of one UPDATE after each insert.
    Until then the new tickets' numbers are known in memory only; a reader of numbers in the batch flushes first."""
    with scoped_value(_pending_numbers, list) as pending:
        yield
        if pending is not None:
            ticket_numbers_flush()


def ticket_numbers_flush() -> None:
    """Write the numbers of the tickets created so far in the batch (a ticket rolled back with its savepoint
    is simply not found; a number is its id plus the offset, so a reused id gets the right one)."""
    pending = _pending_numbers.get()
    if pending:
        Ticket.objects.filter(pk__in=pending, number__isnull=True).update(number=F("id") + TICKET_NUMBER_OFFSET)
        pending.clear()


def _touch(ticket: Ticket, **fields) -> None:
    fields["updated_at"] = timezone.now()
    for name, value in fields.items():
        setattr(ticket, name, value)
    Ticket.objects.filter(pk=ticket.pk).update(**fields)


def attachment_store(*, message: Message, new: NewAttachment) -> Attachment:
    """Store by content hash; over the size limit it is recorded, not dropped silently."""
    size = len(new.data)
    digest = Attachment.digest(new.data)
    filename = (new.filename or "attachment").replace("/", "_").replace("\\", "_")[:255]
    attachment = Attachment(
        message=message,
        filename=filename,
        content_type=(new.content_type or "application/octet-stream")[:150],
        size=size,
        sha256=digest,
        content_id=new.content_id[:255],
    )
    if size > settings.ATTACHMENT_MAX_BYTES:
        attachment.stored = False
        attachment.note = _("not stored: too large (%(size)d bytes)") % {"size": size}
        attachment.save()
        return attachment
    existing = Attachment.objects.filter(sha256=digest, stored=True).exclude(file="").first()
    if existing is not None:
        attachment.file.name = existing.file.name  # same content, one copy on disk
        attachment.save()
    else:
        attachment.file.save(digest, ContentFile(new.data), save=True)
    return attachment


def _validate_ticket_fields(*, subject: str, priority: str, channel: str) -> dict:
    errors: dict[str, list[str]] = {}
    if not (subject or "").strip():
        errors["subject"] = [_("A ticket needs a subject.")]
    if priority not in Priority.values:
        errors["priority"] = [_("Unknown priority “%(value)s”.") % {"value": priority}]
    if channel not in Channel.values:
        errors["channel"] = [_("Unknown channel “%(value)s”.") % {"value": channel}]
    return errors


def ticket_create(
    *,
    by: User | None,
    customer: Person,
    subject: str,
    channel: str = Channel.WEB,
    body_text: str = "",
    body_html: str = "",
    direction: str = Direction.INBOUND,
    priority: str = Priority.NORMAL,
    queue: Queue | None = None,
    assignee: User | None = None,
    tags: Iterable[str] = (),
    language: str = "",
    external_id: str | None = None,
    attachments: Iterable[NewAttachment] = (),
    created_at=None,
    sender=None,
    flagged: bool = False,
) -> Ticket:
    """A new ticket, with its first message when there is one (kept as `ticket.opening_message`).
    Inside a caller's transaction it takes no savepoint of its own (a channel creates many tickets per
    transaction): a failure after the checks dooms the caller's transaction, or its own savepoint."""
    errors = _validate_ticket_fields(subject=subject, priority=priority, channel=channel)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(savepoint=False):
        if queue is None:
            queue = default_queue()
        now = created_at or timezone.now()
        company = _primary_company(customer)
        ticket = Ticket.objects.create(
            subject=subject.strip()[:300],
            channel=channel,
            priority=priority,
            customer=customer,
            company=company,
            queue=queue,
            team_id=queue.team_id if queue else None,
            assignee=assignee,
            language=language or customer.language,
            created_at=now,
            updated_at=now,
        )
        ticket.number = TICKET_NUMBER_OFFSET + ticket.pk
        pending = _pending_numbers.get()
        if pending is not None and transaction.get_connection().in_atomic_block:
            pending.append(ticket.pk)
        else:
            Ticket.objects.filter(pk=ticket.pk).update(number=ticket.number)
        if tags:
            ticket.tags.set(tags_get_or_create(tags))
        ticket_event_record(ticket=ticket, kind="ticket.created", actor=by, data={"channel": channel})
        attachments = list(attachments)
        ticket.opening_message = None
        if body_text or body_html or attachments or external_id is not None:
            ticket.opening_message = _message_add(
                ticket=ticket,
                direction=direction,
                channel=channel,
                author=by if direction != Direction.INBOUND else None,
                body_text=body_text,
                body_html=body_html,
                external_id=external_id,
                attachments=attachments,
                sender=sender,
                flagged=flagged,
                at=now,
            )
        timeline_add(
            person=customer,
            company=ticket.company,
            kind="ticket_created",
            summary=_("Ticket #%(number)s: %(subject)s") % {"number": ticket.number, "subject": ticket.subject},
            actor=by,
            ref=ticket,
        )
        sla_recompute(ticket=ticket, new=True)
        return ticket


def _primary_company(customer: Person):
    known = getattr(customer, "_prefetched_objects_cache", {}).get("company_links")
    if known is not None:  # a customer created just now (crm.services.person_create): their links are in memory
        return next((link.company for link in known if link.is_primary), None)
    link = customer.company_links.filter(is_primary=True).select_related("company").first()
    return link.company if link else None


def _message_add(
    *,
    ticket: Ticket,
    direction: str,
    channel: str,
    author: User | None,
    body_text: str,
    body_html: str = "",
    sender=None,
    external_id: str | None = None,
    attachments: Iterable[NewAttachment] = (),
    flagged: bool = False,
    at=None,
) -> Message:
    delivery = DeliveryStatus.QUEUED if direction == Direction.OUTBOUND and channel in DELIVERED_CHANNELS else ""
    message = Message.objects.create(
        ticket=ticket,
        direction=direction,
        channel=channel,
        author=author,
        sender=sender,
        external_id=external_id,
        body_text=body_text or "",
        body_html=sanitize_html(body_html),
        delivery_status=delivery,
        flagged=flagged,
        created_at=at or timezone.now(),
    )
    _attachments_known(message, [attachment_store(message=message, new=new) for new in attachments])
    kind = {Direction.INBOUND: "message.received", Direction.OUTBOUND: "message.sent"}.get(direction, "note.added")
    ticket_event_record(ticket=ticket, kind=kind, actor=author, data={"message_id": message.id}, message=message)
    return message


def _attachments_known(message: Message, stored: list[Attachment]) -> None:
    """`message.attachments.all()` answered from memory, as prefetch_related would fill it: the frames
    built from the new message (the chat ack, the visitor's other tabs) need not read it back."""
    queryset = message.attachments.all()
    queryset._result_cache, queryset._prefetch_done = stored, True
    message._prefetched_objects_cache = {"attachments": queryset}


def _require_open(ticket: Ticket) -> None:
    if ticket.status == Status.CLOSED:
        raise ValidationError({"ticket": [_("Ticket #%(number)s is closed.") % {"number": ticket.number}]})


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    by: User,
    body_text: str,
    body_html: str = "",
    attachments: Iterable[NewAttachment] = (),
) -> Message:
    """A public reply to the customer, on the ticket's channel (delivered by the worker)."""
    if not (body_text or "").strip() and not body_html:
        raise ValidationError({"body_text": [_("A reply cannot be empty.")]})
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    _require_open(ticket)
    message = _message_add(
        ticket=ticket,
        direction=Direction.OUTBOUND,
        channel=ticket.channel,
        author=by,
        body_text=body_text,
        body_html=body_html,
        attachments=attachments,
    )
    changes = {}
    if ticket.first_response_at is None:
        changes["first_response_at"] = message.created_at
    if ticket.status in {Status.NEW, Status.SOLVED}:
        changes["status"] = Status.OPEN
    _touch(ticket, **changes)
    sla_recompute(ticket=ticket)
    timeline_add(
        person=ticket.customer,
        kind="message_out",
        summary=_("Reply on #%(number)s") % {"number": ticket.number},
        actor=by,
        ref=ticket,
    )
    return message


@transaction.atomic
def ticket_add_automatic_reply(*, ticket: Ticket, body_text: str, channel: str | None = None) -> Message:
    """A message the system sends on its own (e.g. an email acknowledgement). It shows in the
    conversation with its delivery status but is not an agent's response: no SLA timer stops."""
    return _message_add(
        ticket=ticket, direction=Direction.OUTBOUND, channel=channel or ticket.channel, author=None, body_text=body_text
    )


@transaction.atomic
def ticket_add_note(*, ticket: Ticket, by: User, body_text: str, attachments: Iterable[NewAttachment] = ()) -> Message:
    """An internal note: agents see it, the customer never does."""
    if not (body_text or "").strip():
        raise ValidationError({"body_text": [_("A note cannot be empty.")]})
    message = _message_add(
        ticket=ticket,
        direction=Direction.INTERNAL,
        channel=ticket.channel,
        author=by,
        body_text=body_text,
        attachments=attachments,
    )
    _touch(ticket)
    return message


def ticket_add_inbound(
    *,
    ticket: Ticket,
    body_text: str,
    body_html: str = "",
    sender=None,
    channel: str | None = None,
    external_id: str | None = None,
    attachments: Iterable[NewAttachment] = (),
    flagged: bool = False,
    at=None,
    locked: bool = False,
) -> Message:
    """A message from the customer on an existing ticket; a solved/pending ticket reopens, and so
    does a closed one when the channel threads into it (a mailbox set to reopen closed tickets).
    `locked`: the caller read `ticket` with select_for_update in its open transaction (the inbound
    ingest's thread look-up), so it is neither read again nor wrapped in a savepoint."""
    with transaction.atomic(savepoint=not locked):
        if not locked:
            ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        at = at or timezone.now()
        sla_moves = ticket.status not in {Status.NEW, Status.OPEN} or _inbound_may_move_sla(ticket, at)
        message = _message_add(
            ticket=ticket,
            direction=Direction.INBOUND,
            channel=channel or ticket.channel,
            author=None,
            sender=sender,
            body_text=body_text,
            body_html=body_html,
            external_id=external_id,
            attachments=attachments,
            flagged=flagged,
            at=at,
        )
        changes = {}
        if ticket.status in {Status.PENDING, Status.SOLVED, Status.ON_HOLD, Status.CLOSED}:
            changes["status"] = Status.OPEN
            if ticket.status in {Status.SOLVED, Status.CLOSED}:
                changes.update(solved_at=None, closed_at=None)
            ticket_event_record(
                ticket=ticket, kind="ticket.status_changed", data={"from": ticket.status, "to": Status.OPEN}
            )
        _touch(ticket, **changes)
        if sla_moves:
            sla_recompute(ticket=ticket)
        timeline_add(
            person=ticket.customer,
            kind="message_in",
            summary=_("Message on #%(number)s") % {"number": ticket.number},
            ref=ticket,
        )
        return message


def _inbound_may_move_sla(ticket: Ticket, at) -> bool:
    """Whether a customer message at `at` on this new/open ticket can change its SLA timers (see
    ticketing/sla/services.py `_clocks`). The status stays, so the first-response and resolution
    clocks stay; only a next-response clock can start, at the first customer message after the last
    reply. Every other input of the timers (policy, priority, queue, customer) is recomputed when it
    changes, so a ticket without a policy stays without one."""
    if ticket.sla_policy_id is None:
        return False
    last = Message.objects.filter(ticket=ticket).aggregate(
        reply=Max("created_at", filter=Q(direction=Direction.OUTBOUND)),
        inbound=Max("created_at", filter=Q(direction=Direction.INBOUND)),
    )
    if last["reply"] is None or at <= last["reply"]:
        return False  # no next-response clock, or this message is not after the last reply
    # A customer message after the last reply and not after this one already started the clock.
    return last["inbound"] is None or last["inbound"] <= last["reply"] or at < last["inbound"]


def _may_assign(by: User | None, agent: User | None) -> bool:
    if by is None or by.has_perm("ticketing.assign_any_ticket"):
        return True  # the worker (router) or a supervisor
    return agent is None or agent.pk == by.pk


@transaction.atomic
def ticket_assign(*, ticket: Ticket, agent: User | None, by: User | None, queue: Queue | None = None) -> Ticket:
    """Give the ticket to an agent (None to unassign) and optionally move it to a queue."""
    if not _may_assign(by, agent):
        raise PermissionDenied(_("You may only assign tickets to yourself."))
    if agent is not None and not agent.is_active:
        raise ValidationError({"assignee": [_("%(name)s is not an active user.") % {"name": agent}]})
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    _require_open(ticket)
    changes: dict = {}
    data: dict = {}
    if (agent.pk if agent else None) != ticket.assignee_id:
        data["assignee"] = {"from": ticket.assignee_id, "to": agent.pk if agent else None}
        changes["assignee"] = agent
    if queue is not None and queue.pk != ticket.queue_id:
        data["queue"] = {"from": ticket.queue_id, "to": queue.pk}
        changes["queue"] = queue
        changes["team_id"] = queue.team_id
    if not changes:
        return ticket
    if ticket.status == Status.NEW and agent is not None:
        changes["status"] = Status.OPEN
    _touch(ticket, **changes)
    if agent is not None:
        agent_profile = getattr(agent, "agent_profile", None)
        if agent_profile is not None:
            type(agent_profile).objects.filter(pk=agent_profile.pk).update(last_assigned_at=timezone.now())
    ticket_event_record(ticket=ticket, kind="ticket.assigned", actor=by, data=data)
    if "queue" in data or "status" in changes:
        sla_recompute(ticket=ticket)
    return ticket


@transaction.atomic
def ticket_change_status(*, ticket: Ticket, status: str, by: User | None) -> Ticket:
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if status not in Status.values:
        raise ValidationError({"status": [_("Unknown status “%(value)s”.") % {"value": status}]})
    if status == ticket.status:
        return ticket
    if not transitions.can_transition(ticket.status, status):
        raise ValidationError(
            {
                "status": [
                    _("A ticket cannot go from %(old)s to %(new)s.")
                    % {"old": Status(ticket.status).label, "new": Status(status).label}
                ]
            }
        )
    now = timezone.now()
    changes: dict = {"status": status}
    if status == Status.SOLVED:
        changes["solved_at"] = now
    if status == Status.CLOSED:
        changes["closed_at"] = now
        if ticket.solved_at is None:
            changes["solved_at"] = now
    if status == Status.OPEN:
        changes["solved_at"] = None
    old = ticket.status
    _touch(ticket, **changes)
    ticket_event_record(ticket=ticket, kind="ticket.status_changed", actor=by, data={"from": old, "to": status})
    sla_recompute(ticket=ticket)
    return ticket


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    by: User | None,
    subject: str | None = None,
    priority: str | None = None,
    tags: Iterable[str] | None = None,
) -> Ticket:
    """Subject, priority and tags; status and assignment have their own services."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    errors = _validate_ticket_fields(
        subject=subject if subject is not None else ticket.subject,
        priority=priority or ticket.priority,
        channel=ticket.channel,
    )
    if errors:
        raise ValidationError(errors)
    changes: dict = {}
    data: dict = {}
    if subject is not None and subject.strip() != ticket.subject:
        data["subject"] = {"from": ticket.subject, "to": subject.strip()}
        changes["subject"] = subject.strip()[:300]
    if priority is not None and priority != ticket.priority:
        data["priority"] = {"from": ticket.priority, "to": priority}
        changes["priority"] = priority
    if tags is not None:
        new_tags = tags_get_or_create(tags)
        old_names = sorted(t.name for t in ticket.tags.all())
        new_names = sorted(t.name for t in new_tags)
        if old_names != new_names:
            ticket.tags.set(new_tags)
            data["tags"] = {"from": old_names, "to": new_names}
    if not data:
        return ticket
    _touch(ticket, **changes)
    ticket_event_record(ticket=ticket, kind="ticket.updated", actor=by, data=data)
    if "priority" in data:
        sla_recompute(ticket=ticket)
    return ticket


@transaction.atomic
def ticket_merge(*, source: Ticket, target: Ticket, by: User | None) -> Ticket:
    """Move every message of `source` into `target` and close `source` as merged."""
    if by is not None and not by.has_perm("ticketing.merge_ticket"):
        raise PermissionDenied(_("You may not merge tickets."))
    if source.pk == target.pk:
        raise ValidationError({"target": [_("A ticket cannot be merged into itself.")]})
    locked = {t.pk: t for t in Ticket.objects.select_for_update().filter(pk__in=[source.pk, target.pk])}
    source, target = locked[source.pk], locked[target.pk]
    if source.status == Status.CLOSED:
        raise ValidationError({"source": [_("Ticket #%(number)s is already closed.") % {"number": source.number}]})
    _require_open(target)
    moved = Message.objects.filter(ticket=source).update(ticket=target)
    now = timezone.now()
    _touch(source, status=Status.CLOSED, merged_into=target, closed_at=now, solved_at=source.solved_at or now)
    _touch(target)
    ticket_event_record(ticket=source, kind="ticket.merged", actor=by, data={"into": target.number, "messages": moved})
    ticket_event_record(
        ticket=target, kind="ticket.merged_in", actor=by, data={"from": source.number, "messages": moved}
    )
    sla_recompute(ticket=source)
    sla_recompute(ticket=target)
    return target


__all__ = [
    "NewAttachment",
    "attachment_store",
    "ticket_add_inbound",
    "ticket_add_note",
    "ticket_assign",
    "ticket_change_status",
    "ticket_create",
    "ticket_merge",
    "ticket_numbers_batched",
    "ticket_numbers_flush",
    "ticket_reply",
    "ticket_update",
]
