"""Words for what the records hold: ticket events, field changes, message HTML.
Presentation only; the records themselves stay as the services wrote them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.scope import visible
from crm.models import ChangeRecord, Company, IdentityKind, Person, TimelineEntry
from ticketing.models import Channel, Priority, Queue, Status, Ticket, TicketEvent


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "—")


@dataclass(frozen=True)
class EventLine:
    event: TicketEvent
    text: str


def describe_events(events: Iterable[TicketEvent]) -> list[EventLine]:
    """One line of text per ticket event; names of users and queues looked up at once."""
    events = list(events)
    user_ids: set[int] = set()
    queue_ids: set[int] = set()
    for event in events:
        user_ids.update(v for v in (event.data.get("assignee") or {}).values() if v)
        queue_ids.update(v for v in (event.data.get("queue") or {}).values() if v)
    users = {u.pk: str(u) for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    queues = {q.pk: str(q) for q in Queue.objects.filter(pk__in=queue_ids)} if queue_ids else {}
    return [EventLine(event, _describe(event, users, queues)) for event in events]


def _describe(event: TicketEvent, users: dict, queues: dict) -> str:
    data = event.data or {}
    kind = event.kind
    if kind == "ticket.created":
        return _("Ticket created (%(channel)s)") % {"channel": _label(Channel, data.get("channel"))}
    if kind == "message.received":
        return _("Message from the customer")
    if kind == "message.sent":
        return _("Reply sent")
    if kind == "note.added":
        return _("Internal note added")
    if kind == "ticket.status_changed":
        return _("Status: %(old)s → %(new)s") % {
            "old": _label(Status, data.get("from")),
            "new": _label(Status, data.get("to")),
        }
    if kind == "ticket.assigned":
        parts = []
        if "assignee" in data:
            to = data["assignee"].get("to")
            parts.append(
                _("Assigned to %(name)s") % {"name": users.get(to, f"#{to}")} if to else _("Assignment removed")
            )
        if "queue" in data:
            to = data["queue"].get("to")
            parts.append(_("Moved to queue %(queue)s") % {"queue": queues.get(to, f"#{to}")})
        return "; ".join(parts) or _("Assignment changed")
    if kind == "ticket.updated":
        parts = []
        if "subject" in data:
            parts.append(_("Subject changed"))
        if "priority" in data:
            parts.append(
                _("Priority: %(old)s → %(new)s")
                % {
                    "old": _label(Priority, data["priority"].get("from")),
                    "new": _label(Priority, data["priority"].get("to")),
                }
            )
        if "tags" in data:
            parts.append(_("Tags: %(tags)s") % {"tags": ", ".join(data["tags"].get("to") or []) or "—"})
        return "; ".join(parts) or _("Ticket changed")
    if kind == "ticket.merged":
        return _("Merged into ticket #%(number)s") % {"number": data.get("into")}
    if kind == "ticket.merged_in":
        return _("Ticket #%(number)s was merged into this one") % {"number": data.get("from")}
    return kind


def change_field_label(record: ChangeRecord) -> str:
    return field_label(record.content_type.model_class(), record.field)


def field_label(model, field: str) -> str:
    if field.startswith("identity:"):
        return _label(IdentityKind, field.partition(":")[2])
    special = {"shared_with": _("Shared with"), "company": _("Company")}
    if field in special:
        return str(special[field])
    try:
        return str(model._meta.get_field(field).verbose_name).capitalize()
    except (FieldDoesNotExist, AttributeError):
        return field


def change_value(record: ChangeRecord, value: str) -> str:
    """The stored value, with a choice shown by its label ("potential" → "Potential")."""
    if not value:
        return "—"
    model = record.content_type.model_class()
    try:
        field = model._meta.get_field(record.field)
    except (FieldDoesNotExist, AttributeError):
        return value
    choices = dict(field.flatchoices) if getattr(field, "choices", None) else {}
    return str(choices.get(value, value))


@dataclass(frozen=True)
class TimelineLine:
    entry: TimelineEntry
    text: str
    url: str = ""


_FIELD_NAME = re.compile(r"\b[a-z][a-z_]*(?::[a-z]+)?\b")


def describe_timeline(entries: Iterable[TimelineEntry], *, name_people_for=None) -> list[TimelineLine]:
    """Timeline entries in the reader's language. The stored summary was written in
    whatever language was active then; known kinds are worded again from their
    record, unknown kinds keep their summary. On a company's timeline,
    `name_people_for=user` names the customers that user may see."""
    entries = list(entries)
    people: set[int] = set()
    if name_people_for is not None:
        people_ids = {e.person_id for e in entries if e.person_id}
        people = set(visible(name_people_for, Person).filter(pk__in=people_ids).values_list("pk", flat=True))
    ticket_ids = {e.ref_id for e in entries if e.ref_type == "ticketing.ticket" and e.ref_id}
    tickets = {t.pk: t for t in Ticket.objects.filter(pk__in=ticket_ids).only("pk", "number", "subject")}
    lines = []
    for entry in entries:
        ticket = tickets.get(entry.ref_id) if entry.ref_type == "ticketing.ticket" else None
        url = reverse("ticket-detail", args=[ticket.number]) if ticket is not None else ""
        text = _timeline_text(entry, ticket)
        if entry.person_id in people and entry.kind == "customer_created":
            text = _("Customer created: %(name)s") % {"name": entry.person}
            url = reverse("customer-detail", args=[entry.person_id])
        lines.append(TimelineLine(entry, text, url))
    return lines


def _timeline_text(entry: TimelineEntry, ticket: Ticket | None) -> str:
    kind = entry.kind
    if kind == "customer_created":
        return _("Customer created")
    if kind == "company_created":
        return _("Company created")
    if kind in {"customer_changed", "company_changed"}:
        model = Person if kind == "customer_changed" else Company
        fields = _FIELD_NAME.findall(entry.summary.partition(":")[2] or entry.summary.partition("：")[2])
        if fields:
            return _("Changed: %(fields)s") % {"fields": ", ".join(field_label(model, f) for f in fields)}
    if ticket is not None:
        if kind == "ticket_created":
            return _("Ticket #%(number)s: %(subject)s") % {"number": ticket.number, "subject": ticket.subject}
        if kind == "message_out":
            return _("Reply on #%(number)s") % {"number": ticket.number}
        if kind == "message_in":
            return _("Message on #%(number)s") % {"number": ticket.number}
    return entry.summary


_CID = re.compile(r"""(src=")cid:([^"]+)(")""")


def message_html(message) -> SafeString:
    """The stored HTML (sanitized by nh3 on the way in), with inline images
    (cid: links) pointing at their attachments."""
    by_cid = {a.content_id.strip("<>"): a for a in message.attachments.all() if a.content_id and a.stored}

    def replace(match: re.Match) -> str:
        attachment = by_cid.get(match.group(2).strip("<>"))
        if attachment is None:
            return match.group(0)
        return match.group(1) + reverse("attachment-download", args=[attachment.pk]) + match.group(3)

    return mark_safe(_CID.sub(replace, message.body_html))  # noqa: S308  (sanitized when stored)
