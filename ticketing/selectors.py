"""Reads of tickets, always through record scope."""

import contextvars
from contextlib import contextmanager

from django.db.models import Prefetch, Q, QuerySet

from accounts.scope import Grant, visible
from contact_center.scoped import scoped_value
from ticketing.models import Attachment, Message, Queue


def tickets_in_scope(grant: Grant, queryset: QuerySet) -> QuerySet:
    """Assigned to the user, in their teams' queues, or about a customer they own
    (by data scope) or that was shared with them."""
    from crm.models import CustomerShare  # crm is below ticketing; imported lazily to keep app loading simple

    shared = CustomerShare.objects.filter(user_id=grant.user_id).values("person_id")
    return queryset.filter(
        Q(assignee_id__in=grant.user_ids)
        | Q(team_id__in=grant.team_ids)
        | Q(customer__owner_id__in=grant.user_ids)
        | Q(customer_id__in=shared)
    )


def ticket_list_related(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("customer", "company", "assignee", "queue").prefetch_related("tags")


def ticket_messages(ticket, *, include_internal: bool = True) -> QuerySet:
    messages = ticket.messages.select_related("author", "sender").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
    )
    if not include_internal:
        messages = messages.exclude(direction="note")
    return messages


def message_by_external_id(*, channel: str, external_id: str) -> Message | None:
    return Message.objects.filter(channel=channel, external_id=external_id).select_related("ticket").first()


def stored_external_ids(*, channel: str, external_ids: list[str]) -> set[str]:
    """Which of these external ids are stored already (`message_by_external_id` for a batch, in one query)."""
    return set(
        Message.objects.filter(channel=channel, external_id__in=external_ids).values_list("external_id", flat=True)
    )


def default_queue() -> Queue | None:
    """Where a new ticket goes when nothing names a queue."""
    held = _batch_default_queue.get()
    if held is None:
        return _read_default_queue()
    if not held:
        held.append(_read_default_queue())
    return held[0]


def _read_default_queue() -> Queue | None:
    return Queue.objects.filter(is_default=True).order_by("id").first()


_batch_default_queue = contextvars.ContextVar("batch_default_queue", default=None)


@contextmanager
def default_queue_batched():
    """The default queue is read once for the block (also when there is none) instead of for every new
    ticket: for a worker storing many tickets in one transaction (the mail poller)."""
    with scoped_value(_batch_default_queue, list):
        yield


UNSOLVED_STATUSES = ("new", "open", "pending", "on_hold")


def tickets_unsolved(queryset: QuerySet) -> QuerySet:
    """Tickets someone still has to work on: not solved and not closed."""
    return queryset.filter(status__in=UNSOLVED_STATUSES)


def tickets_waiting_in_teams(queryset: QuerySet, team_ids) -> QuerySet:
    """The teams' queue: unsolved tickets of these teams that nobody has taken yet."""
    return tickets_unsolved(queryset).filter(team_id__in=team_ids, assignee__isnull=True)


def ticket_search(queryset: QuerySet, text: str) -> QuerySet:
    """By number (“10042” or “#10042”), subject, customer name or customer address."""
    from crm.models import Person
    from crm.selectors import persons_matching

    text = (text or "").strip()[:100]
    if not text:
        return queryset
    # The customer part is crm's search (name, email, phone typed in any format);
    # a subquery on customers never repeats a ticket.
    match = Q(subject__icontains=text) | Q(customer_id__in=persons_matching(Person.objects.all(), text).values("pk"))
    number = text.removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) <= 18:  # "²".isdigit() is True too
        match |= Q(number=int(number))
    return queryset.filter(match)


def attachments_visible(user) -> QuerySet:
    """Attachments of the tickets `user` may see (notes' attachments included: agents see notes)."""
    tickets = visible(user, "ticketing.Ticket")
    return Attachment.objects.select_related("message__ticket").filter(message__ticket__in=tickets)
