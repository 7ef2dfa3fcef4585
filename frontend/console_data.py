"""What the console's JSON endpoints return: inbox rows, one conversation, the customer card.

Reads only, always starting from record scope. Outside text is returned as text: the
browser puts it on the page with textContent, never as markup."""

from __future__ import annotations

from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.html import strip_tags
from django.utils.text import Truncator

from accounts.models import Presence, User
from accounts.scope import can_see, grant_for, visible
from crm.identifiers import format_phone
from crm.models import IdentityKind
from ticketing import transitions
from ticketing.models import CannedResponse, Direction, Message, Queue, SlaTimer, Status, Ticket, TicketReadMarker
from ticketing.selectors import ticket_list_related, ticket_messages, ticket_search, tickets_unsolved
from ticketing.sla.selectors import running_timers, sla_countdown

INBOX_SIZE = 100
VIEWS = ("mine", "queue", "all")


def _user_ref(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "name": str(user)}


def message_text(message: Message) -> str:
    """The message as plain text: the stored text, or the sanitized HTML without its tags."""
    if message.body_text:
        return message.body_text
    return strip_tags(message.body_html or "")


def _with_unread(queryset, user):
    marker = TicketReadMarker.objects.filter(ticket=OuterRef("pk"), user=user).values("last_read_message_id")[:1]
    return queryset.annotate(
        read_to=Coalesce(Subquery(marker, output_field=IntegerField()), Value(0)),
    ).annotate(unread=Count("messages", filter=Q(messages__direction=Direction.INBOUND, messages__id__gt=F("read_to"))))


def inbox_tickets(user, *, view: str = "mine", status: str = "", channel: str = "", q: str = ""):
    tickets = visible(user, Ticket)
    if view == "mine":
        tickets = tickets.filter(assignee=user)
    elif view == "queue":
        tickets = tickets.filter(team_id__in=grant_for(user).team_ids, assignee__isnull=True)
    if status and status in Status.values:
        tickets = tickets.filter(status=status)
    else:
        tickets = tickets_unsolved(tickets)
    if channel:
        tickets = tickets.filter(channel=channel)
    tickets = ticket_search(tickets, q)
    return _with_sla(_with_unread(ticket_list_related(tickets), user)).order_by("-updated_at", "-id")


def _with_sla(queryset):
    """What each row's live countdown needs, in two extra queries for the whole list."""
    return queryset.select_related("queue__calendar", "queue__team__calendar").prefetch_related(
        Prefetch("sla_timers", queryset=running_timers(), to_attr="running_timers")
    )


def next_deadline(ticket: Ticket) -> dict | None:
    """The countdown to the ticket's next SLA deadline (business time), or None."""
    timers = getattr(ticket, "running_timers", None)
    if timers is None:
        timers = list(running_timers().filter(ticket=ticket)[:1])
    if not timers or ticket.status in ("solved", "closed"):
        return None
    return sla_countdown(timers[0], ticket)


def inbox_counts(user) -> dict:
    tickets = tickets_unsolved(visible(user, Ticket))
    mine = tickets.filter(assignee=user)
    return {
        "mine": mine.count(),
        "queue": tickets.filter(team_id__in=grant_for(user).team_ids, assignee__isnull=True).count(),
        "unread": sum(t.unread for t in _with_unread(mine, user).only("id")),
    }


def inbox_row(ticket: Ticket) -> dict:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "status_label": ticket.get_status_display(),
        "priority": ticket.priority,
        "priority_label": ticket.get_priority_display(),
        "channel": ticket.channel,
        "channel_label": ticket.get_channel_display(),
        "customer": ticket.customer.name if ticket.customer_id else "",
        "assignee": _user_ref(ticket.assignee),
        "queue": ticket.queue.name if ticket.queue_id else "",
        "team": ticket.team_id,
        "tags": [tag.name for tag in ticket.tags.all()],
        "updated_at": ticket.updated_at.isoformat(),
        "unread": getattr(ticket, "unread", 0),
        "sla": next_deadline(ticket),
    }


def message_row(message: Message) -> dict:
    return {
        "id": message.id,
        "direction": message.direction,
        "direction_label": message.get_direction_display(),
        "channel": message.channel,
        "author": _user_ref(message.author),
        "sender": message.sender.value if message.sender_id else "",
        "text": message_text(message),
        "delivery_status": message.delivery_status,
        "delivery_label": message.get_delivery_status_display() if message.delivery_status else "",
        "flagged": message.flagged,
        "created_at": message.created_at.isoformat(),
        "attachments": [
            {
                "id": a.id,
                "filename": a.filename,
                "size": a.size,
                "url": f"/attachments/{a.pk}/download/" if a.stored else None,
            }
            for a in message.attachments.all()
        ],
    }


def customer_card(user, ticket: Ticket) -> dict | None:
    person = ticket.customer
    if person is None:
        return None
    card = {
        "id": person.id,
        "name": person.name,
        "visible": can_see(user, person),
        "identities": [
            {
                "kind": identity.kind,
                "label": identity.get_kind_display(),
                "value": identity.value,
                "display": format_phone(identity.value) if identity.kind == IdentityKind.PHONE else identity.value,
            }
            for identity in person.identities.order_by("kind", "id")
        ],
        "language": person.language,
        "service_level": person.get_service_level_display() if person.service_level else "",
        "lifecycle": person.get_lifecycle_stage_display() if person.lifecycle_stage else "",
        "tags": [tag.name for tag in person.tags.all()],
        "companies": [company.name for company in person.companies.all()[:3]],
    }
    if ticket.company_id:
        card["companies"] = [ticket.company.name, *[c for c in card["companies"] if c != ticket.company.name]]
    past = ticket_list_related(visible(user, Ticket).filter(customer=person).exclude(pk=ticket.pk))
    card["past_tickets"] = [
        {
            "id": t.id,
            "number": t.number,
            "subject": t.subject,
            "status": t.status,
            "status_label": t.get_status_display(),
        }
        for t in past.order_by("-created_at")[:8]
    ]
    return card


def sla_deadlines(ticket: Ticket) -> list[dict]:
    """Every open target with the same business-time countdown as the header's (a missed target stays
    listed, as breached, until it is met). The ticket needs its queue calendars loaded."""
    if ticket.status in ("solved", "closed"):
        return []
    timers = (
        SlaTimer.objects.filter(ticket=ticket, met_at__isnull=True, due_at__isnull=False)
        .select_related("policy__calendar")
        .order_by("due_at")
    )
    rows = []
    for timer in timers:
        row = {
            "target": timer.target,
            "label": timer.get_target_display(),
            "due_at": timer.due_at.isoformat(),
            "paused": timer.paused_at is not None,
            "breached": timer.breached_at is not None,
            "countdown": None if timer.paused_at is not None else sla_countdown(timer, ticket),
        }
        rows.append(row)
    return rows


def conversation(user, ticket: Ticket) -> dict:
    from ticketing.api.views import sees_internal_notes

    ticket = _with_sla(ticket_list_related(Ticket.objects.filter(pk=ticket.pk)).select_related("company", "team")).get()
    messages = ticket_messages(ticket, include_internal=sees_internal_notes(user)).order_by("created_at", "id")
    allowed = [s for s in Status if transitions.can_transition(ticket.status, s)]
    row = inbox_row(ticket)
    row.update(
        {
            "team_name": ticket.team.name if ticket.team_id else "",
            "company": ticket.company.name if ticket.company_id else "",
            "merged_into": ticket.merged_into_id,
            "statuses": [{"value": s.value, "label": s.label} for s in allowed],
            "messages": [message_row(m) for m in messages],
            "customer_card": customer_card(user, ticket),
            "sla_deadlines": sla_deadlines(ticket),
            "last_message_id": max((m.id for m in messages), default=0),
        }
    )
    return row


def transfer_choices(user) -> dict:
    queues = Queue.objects.select_related("team").order_by("name")
    agents = (
        User.objects.filter(is_active=True, agent_profile__isnull=False)
        .select_related("agent_profile")
        .order_by("username")
    )
    return {
        "queues": [{"id": q.id, "name": q.name, "team": q.team.name} for q in queues],
        "agents": [
            {
                **_user_ref(a),
                "presence": a.agent_profile.presence,
                "presence_label": Presence(a.agent_profile.presence).label,
            }
            for a in agents[:200]
        ],
        "may_assign_others": user.has_perm("ticketing.assign_any_ticket"),
    }


def canned_responses(user) -> list[dict]:
    teams = grant_for(user).team_ids
    rows = CannedResponse.objects.filter(Q(team__isnull=True) | Q(team_id__in=teams))
    return [
        {"id": c.id, "title": c.title, "shortcut": c.shortcut, "body": c.body, "language": c.language}
        for c in rows[:200]
    ]


def preview(text: str) -> str:
    return Truncator(" ".join(text.split())).chars(80)


def latest_event_id() -> int:
    from frontend.realtime.audience import latest_event_id as latest

    return latest()
