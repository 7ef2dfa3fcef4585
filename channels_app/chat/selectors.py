"""Reads for the chat widget: availability, queue position and wait, history, suggestions."""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts.models import AgentProfile, Presence
from channels_app.chat.models import ChatVisitor, ChatWidget
from channels_app.chat.tokens import file_token_issue
from ticketing.models import Channel, Direction, Message, Status, Ticket, TicketEvent
from ticketing.sla.business_time import is_working_time
from ticketing.sla.services import calendar_from_model

logger = logging.getLogger("channels_app.chat")

WAITING_STATUSES = (Status.NEW, Status.OPEN)
ENDED_STATUSES = (Status.SOLVED, Status.CLOSED)
RECENT_CHATS_FOR_ESTIMATE = 20
HISTORY_LIMIT = 200


@dataclass(frozen=True)
class Availability:
    open: bool
    reason: str = ""  # "closed" (outside business hours) or "no_agent"


def widget_availability(widget: ChatWidget, *, at=None) -> Availability:
    """Live chat is open when it is within the widget's business hours and an agent of its queue's team is online."""
    at = at or timezone.now()
    calendar_row = widget.calendar or (widget.queue.calendar if widget.queue else None)
    try:
        working = is_working_time(calendar=calendar_from_model(calendar_row), at=at)
    except Exception:  # a broken calendar must not take the widget down: treat as open hours
        logger.exception("Widget %s: unreadable business calendar", widget.key)
        working = True
    if not working:
        return Availability(False, "closed")
    online = AgentProfile.objects.filter(presence=Presence.ONLINE, user__is_active=True)
    if widget.queue is not None:
        online = online.filter(user__teams=widget.queue.team_id)
    if not online.exists():
        return Availability(False, "no_agent")
    return Availability(True)


def queue_position(ticket: Ticket) -> dict | None:
    """{"position", "wait_seconds"} for an unassigned waiting chat ticket; None once an agent has it."""
    if ticket.assignee_id is not None or ticket.status not in WAITING_STATUSES:
        return None
    ahead = Ticket.objects.filter(
        channel=Channel.CHAT,
        queue_id=ticket.queue_id,
        assignee__isnull=True,
        status__in=WAITING_STATUSES,
        created_at__lt=ticket.created_at,
    ).count()
    position = ahead + 1
    per_chat = typical_time_to_assignment(ticket.queue_id)
    wait = round(per_chat.total_seconds() * position) if per_chat is not None else None
    return {"position": position, "wait_seconds": wait}


def typical_time_to_assignment(queue_id: int | None) -> timedelta | None:
    """Median time from creation to first assignment over the queue's recent chats."""
    events = (
        TicketEvent.objects.filter(
            kind="ticket.assigned",
            ticket__channel=Channel.CHAT,
            ticket__queue_id=queue_id,
            ticket__assignee__isnull=False,
        )
        .order_by("-at")
        .values_list("ticket_id", "ticket__created_at", "at")[: RECENT_CHATS_FOR_ESTIMATE * 3]
    )
    first: dict[int, float] = {}
    for ticket_id, created, at in events:
        first[ticket_id] = max((at - created).total_seconds(), 0)  # iterating newest first: the last kept is earliest
    samples = list(first.values())[:RECENT_CHATS_FOR_ESTIMATE]
    if not samples:
        return None
    return timedelta(seconds=statistics.median(samples))


def waiting_chat_tickets(queue_id: int) -> list[Ticket]:
    return list(
        Ticket.objects.filter(
            channel=Channel.CHAT, queue_id=queue_id, assignee__isnull=True, status__in=WAITING_STATUSES
        ).order_by("created_at", "id")
    )


def agent_name(user) -> str:
    return str(user) if user is not None else ""  # the name the agent chose to be shown by (User.__str__)


def message_frame(message: Message, *, client_id: str = "", attachments: bool = True) -> dict:
    """A message as the visitor sees it: text only (the widget renders it with textContent)."""
    return {
        "type": "message",
        "id": message.id,
        "client_id": client_id or _client_id(message),
        "from": "visitor" if message.direction == Direction.INBOUND else "agent",
        "name": agent_name(message.author) if message.direction == Direction.OUTBOUND else "",
        "text": message.body_text,
        "attachments": [
            {
                "name": attachment.filename,
                "size": attachment.size,
                "content_type": attachment.content_type,
                "url": f"/widget/file/{file_token_issue(attachment_id=attachment.id, ticket_id=message.ticket_id)}/",
            }
            for attachment in (message.attachments.all() if attachments else ())
            if attachment.stored
        ],
        "at": message.created_at.isoformat(),
    }


def _client_id(message: Message) -> str:
    # external ids of visitor messages are "chat:<widget>:<visitor>:<client id>"
    if message.direction == Direction.INBOUND and message.external_id:
        return message.external_id.split(":", 3)[-1]
    return ""


def conversation_history(ticket: Ticket) -> list[dict]:
    messages = (
        Message.objects.filter(ticket=ticket, direction__in=[Direction.INBOUND, Direction.OUTBOUND])
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("-created_at", "-id")[:HISTORY_LIMIT]
    )
    return [message_frame(message) for message in reversed(list(messages))]


def visitor_current_ticket(visitor: ChatVisitor) -> Ticket | None:
    """The visitor's conversation, unless it was closed or merged away."""
    if visitor.ticket_id is None:
        return None
    ticket = Ticket.objects.select_related("assignee").filter(pk=visitor.ticket_id).first()
    if ticket is None or ticket.status == Status.CLOSED or ticket.merged_into_id:
        return None
    return ticket


def article_suggestions(query: str, language: str, limit: int = 3) -> list[dict]:
    """Help-center articles for a question, when the knowledge base offers a search (else none)."""
    try:
        from knowledge_base import search
    except ImportError:
        return []
    suggest = getattr(search, "article_suggestions", None)
    if suggest is None or len(query.strip()) < 2:
        return []
    try:
        results = suggest(query=query, language=language, limit=limit) or []
    except Exception:
        logger.exception("Article suggestions failed")
        return []
    return [
        {
            "title": str(item.get("title", ""))[:200],
            "url": str(item.get("url", ""))[:500],
            "snippet": str(item.get("snippet", ""))[:300],
        }
        for item in results[:limit]
        if isinstance(item, dict)
    ]
