"""Ticket events → the visitor's socket (group `chat.<ticket id>`), always after commit.

Agent replies (message.sent), visitor messages seen from another tab (message.received),
an agent taking the chat (ticket.assigned), the end of the conversation (solved/closed),
and queue positions when the queue moves. Delivery status is recorded on the message.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver

from accounts.signals import agent_presence_changed
from ticketing.events import group_publish, ticket_event_recorded
from ticketing.models import Channel, DeliveryStatus, Message, Ticket

logger = logging.getLogger("channels_app.chat")

QUEUE_MOVES = {"ticket.assigned", "ticket.status_changed", "ticket.merged", "ticket.created", "ticket.updated"}
ENDED = {"solved", "closed"}


def chat_group(ticket_id: int) -> str:
    return f"chat.{ticket_id}"


def widget_group(widget_id: int) -> str:
    return f"chatwidget.{widget_id}"


def group_send(group: str, message: dict, *, batch: bool = True) -> bool:
    """A lost live update never breaks the write: the history shows it on reconnect. Joins the batch of
    `publishing_batched` when one is open (the chat socket's database thread: one trip per message)."""
    return group_publish(group, message, batch=batch)


def _deliver_message(message_id: int, ticket_id: int, *, outbound: bool, message: Message | None = None) -> None:
    from channels_app.chat.selectors import message_frame

    if message is None:
        message = Message.objects.select_related("author").prefetch_related("attachments").filter(pk=message_id).first()
    if message is None:
        return
    # An agent's reply is sent at once: its delivery status says whether it went out.
    frame = {"type": "chat.frame", "frame": message_frame(message)}
    sent = group_send(chat_group(ticket_id), frame, batch=not outbound)
    if sent and outbound:
        Message.objects.filter(pk=message_id, delivery_status=DeliveryStatus.QUEUED).update(
            delivery_status=DeliveryStatus.SENT
        )


def _agent_joined(ticket_id: int) -> None:
    from channels_app.chat.selectors import agent_name

    ticket = Ticket.objects.select_related("assignee").filter(pk=ticket_id).first()
    if ticket is None or ticket.assignee is None:
        return
    group_send(
        chat_group(ticket_id),
        {"type": "chat.frame", "frame": {"type": "agent.joined", "name": agent_name(ticket.assignee)}},
    )


def queue_positions_push(queue_id: int | None, *, only: set[int] | None = None) -> int:
    """Tell each waiting chat visitor of the queue their position and estimated wait."""
    from channels_app.chat.selectors import queue_position, waiting_chat_tickets

    if queue_id is None:
        return 0
    sent = 0
    for ticket in waiting_chat_tickets(queue_id):
        if only is not None and ticket.pk not in only:
            continue
        position = queue_position(ticket)
        if position is not None:
            group_send(chat_group(ticket.pk), {"type": "chat.frame", "frame": {"type": "queue", **position}})
            sent += 1
    return sent


@receiver(ticket_event_recorded, dispatch_uid="chat_ticket_event")
def chat_ticket_event(sender, event, ticket, message=None, **kwargs) -> None:
    if ticket.channel != Channel.CHAT:
        return
    kind, data, ticket_id, queue_id = event.kind, event.data or {}, ticket.pk, ticket.queue_id
    if kind in {"message.sent", "message.received"} and data.get("message_id"):
        message_id, outbound = data["message_id"], kind == "message.sent"
        if message is not None and message.pk != message_id:
            message = None
        transaction.on_commit(lambda: _deliver_message(message_id, ticket_id, outbound=outbound, message=message))
    if kind == "ticket.assigned" and (data.get("assignee") or {}).get("to"):
        transaction.on_commit(lambda: _agent_joined(ticket_id))
    if kind == "ticket.status_changed" and data.get("to") in ENDED:
        frame = {"type": "ended", "status": data["to"]}
        transaction.on_commit(lambda: group_send(chat_group(ticket_id), {"type": "chat.frame", "frame": frame}))
    if kind in QUEUE_MOVES:
        # A new chat only learns its own place; anything leaving the queue moves everyone behind it.
        only = {ticket_id} if kind == "ticket.created" else None
        queues = {queue_id, ((data.get("queue") or {}).get("from"))} - {None}
        for queue in queues:
            transaction.on_commit(lambda queue=queue: queue_positions_push(queue, only=only))


@receiver(agent_presence_changed, dispatch_uid="chat_agent_presence")
def chat_agent_presence(sender, profile, old, new, **kwargs) -> None:
    """An agent going online or offline may open or close live chat on the widgets of their teams' queues."""
    from channels_app.chat.models import ChatWidget

    team_ids = list(profile.user.teams.values_list("pk", flat=True))
    widget_ids = list(ChatWidget.objects.filter(active=True, queue__team__in=team_ids).values_list("pk", flat=True))
    for widget_id in widget_ids:
        transaction.on_commit(
            lambda widget_id=widget_id: group_send(widget_group(widget_id), {"type": "chat.availability"})
        )
