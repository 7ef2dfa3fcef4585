"""The common case of the chat's group commit stored in bulk: a visitor's text line on their open conversation,
already locked by the batch. One INSERT for the batch's messages and one UPDATE for their tickets, instead of the
ingest a line (`services.chat_message_ingest`, which stays the reference: any other line is stored through it).

What the ingest does for such a line is kept: the message row, the search queue's row for its ticket (what the
one post_save receiver of a message does), the `message.received` event (its receivers: routing, the chat frame
to the visitor's other tabs, the live update after the commit), the customer's timeline line, the ticket's
`updated_at`, the pre-chat contact details. A line whose message may start an SLA timer, or that opens or
reopens a conversation, carries files, or shares its conversation with another line of the batch, is left to
the ingest. A resend (its client id already stored) fails the INSERT on the unique external id: the whole batch
is then stored line by line, which answers it."""

from __future__ import annotations

from django.db import connection
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from channels_app.chat import services
from channels_app.chat.models import ChatVisitor
from crm.models import Identity, IdentityKind
from crm.services import timeline_add
from knowledge_base.indexing import index_after_commit
from knowledge_base.models import DocKind
from ticketing.events import ticket_event_record
from ticketing.models import Attachment, Channel, Direction, Message, Status, Ticket

OPEN = {Status.NEW, Status.OPEN}  # no status change: the message neither reopens nor moves the resolution clock


def bulk_lines_store(lines: list, *, senders: dict[str, Identity], threads: dict[int, Ticket]) -> dict[int, Message]:
    """Store the lines that are the simple case; per stored line's index its message (its `ticket` is the locked
    conversation, with its customer). Call inside the batch's transaction, with its deferred inserts open."""
    if not connection.features.can_return_rows_from_bulk_insert:
        return {}
    now = timezone.now()
    chosen = _simple_lines(lines, senders=senders, threads=threads, now=now)
    if not chosen:
        return {}
    messages: dict[int, Message] = {}
    for i, (text, external_id, sender, ticket) in chosen.items():
        ticket.customer = sender.person
        messages[i] = Message(
            ticket=ticket,
            direction=Direction.INBOUND,
            channel=Channel.CHAT,
            sender=sender,
            external_id=external_id,
            body_text=text,
            created_at=now,
        )
    Message.objects.bulk_create(list(messages.values()))
    tickets = [message.ticket for message in messages.values()]
    Ticket.objects.filter(pk__in=[ticket.pk for ticket in tickets]).update(updated_at=now)
    # What Message's post_save receiver (knowledge_base.indexing) does, once for the batch instead of a message:
    # each call looks through the transaction's commit callbacks.
    index_after_commit(DocKind.TICKET, [ticket.pk for ticket in tickets])
    _no_attachments(messages.values())
    for i, message in messages.items():
        _stored(message, visitor=lines[i].visitor, language=lines[i].language, now=now)
    return messages


def _simple_lines(lines: list, *, senders, threads, now) -> dict[int, tuple[str, str, Identity, Ticket]]:
    """index → (text, external id, sender, ticket) of the lines the ingest would add, unchanged, to their open
    conversation with nothing else to do."""
    per_ticket: dict[int, int] = {}
    for line in lines:
        per_ticket[line.visitor.ticket_id] = per_ticket.get(line.visitor.ticket_id, 0) + 1
    chosen = {}
    for i, line in enumerate(lines):
        visitor: ChatVisitor = line.visitor
        ticket = threads.get(visitor.ticket_id)
        sender = senders.get(visitor.address)
        client_id, text = (line.client_id or "").strip(), (line.text or "").strip()
        if (
            ticket is None
            or per_ticket[ticket.pk] > 1
            or line.attachments
            or not client_id
            or len(client_id) > services.MAX_CLIENT_ID
            or not text
            or len(text) > services.MAX_TEXT
            or sender is None
            or (sender.kind, sender.value) != (IdentityKind.CHAT, visitor.address.strip()[:254])
            or ticket.customer_id != sender.person_id
            or ticket.status not in OPEN
        ):
            continue
        chosen[i] = (text, services.chat_external_id(visitor, client_id), sender, ticket)
    moving = _sla_may_move([ticket for *_, ticket in chosen.values()], at=now)
    return {i: line for i, line in chosen.items() if line[3].pk not in moving}


def _sla_may_move(tickets: list[Ticket], *, at) -> set[int]:
    """The tickets (new or open, each with one line in the batch) whose SLA timers a customer message at `at` can
    change, in one query: as `ticketing.services._inbound_may_move_sla` decides for one, a next-response clock
    starts at the first customer message after the last reply."""
    ids = [ticket.pk for ticket in tickets if ticket.sla_policy_id is not None]
    if not ids:
        return set()
    last = (
        Message.objects.filter(ticket_id__in=ids)
        .values("ticket_id")
        .annotate(
            reply=Max("created_at", filter=Q(direction=Direction.OUTBOUND)),
            inbound=Max("created_at", filter=Q(direction=Direction.INBOUND)),
        )
    )
    moving = set()
    for row in last:
        reply, inbound = row["reply"], row["inbound"]
        if reply is None or at <= reply:
            continue
        if inbound is None or inbound <= reply or at < inbound:
            moving.add(row["ticket_id"])
    return moving


def _stored(message: Message, *, visitor: ChatVisitor, language: str, now) -> None:
    """What saving the message one by one would have done after its INSERT (as in the ingest's order)."""
    ticket = message.ticket
    ticket_event_record(ticket=ticket, kind="message.received", data={"message_id": message.id}, message=message)
    ticket.updated_at = now
    with override(language):
        summary = _("Message on #%(number)s") % {"number": ticket.number}
    timeline_add(person=ticket.customer, kind="message_in", summary=summary, ref=ticket)
    if visitor.email or visitor.phone:
        services.link_contact_details(visitor, ticket)


def _no_attachments(messages) -> None:
    """`message.attachments.all()` answered from memory (empty), as the ingest leaves it: the frames built from
    the new messages need not read it back. One evaluated empty queryset for all (building a message's related
    manager and its queryset cost more than the rest of storing the line)."""
    empty = Attachment.objects.none()
    empty._result_cache, empty._prefetch_done = [], True  # as prefetch_related leaves it
    for message in messages:
        message._prefetched_objects_cache = {"attachments": empty}
