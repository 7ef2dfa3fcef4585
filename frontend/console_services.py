"""The console's own writes. Ticket changes themselves go through ticketing.services."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from ticketing.models import Ticket, TicketReadMarker


def ticket_mark_read(*, ticket: Ticket, user) -> TicketReadMarker:
    """The agent has read the ticket up to its newest message (never moves backwards)."""
    last = ticket.messages.order_by("-id").values_list("id", flat=True).first() or 0
    marker = TicketReadMarker.objects.filter(ticket=ticket, user=user).first()
    if marker is None:
        try:
            with transaction.atomic():
                return TicketReadMarker.objects.create(ticket=ticket, user=user, last_read_message_id=last)
        except IntegrityError:  # the same agent's other tab was first
            marker = TicketReadMarker.objects.get(ticket=ticket, user=user)
    if last > marker.last_read_message_id:
        TicketReadMarker.objects.filter(pk=marker.pk, last_read_message_id__lt=last).update(
            last_read_message_id=last, read_at=timezone.now()
        )
        marker.last_read_message_id = last
    return marker
