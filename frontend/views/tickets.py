from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.scope import can_see, grant_for, visible
from frontend.forms import UNSOLVED, MessageForm, StatusForm, TicketFilterForm
from frontend.presenters import describe_events
from frontend.views.common import console_page, paginate
from ticketing import transitions
from ticketing.models import Status, Ticket
from ticketing.selectors import (
    ticket_list_related,
    ticket_messages,
    ticket_search,
    tickets_unsolved,
    tickets_waiting_in_teams,
)
from ticketing.services import NewAttachment, ticket_add_note, ticket_assign, ticket_change_status, ticket_reply


def _filtered_tickets(user, form: TicketFilterForm):
    tickets = visible(user, Ticket)
    if not form.is_valid():
        return tickets
    data = form.cleaned_data
    view = data.get("view")
    if view == "mine":
        tickets = tickets.filter(assignee=user)
    elif view == "queue":
        tickets = tickets_waiting_in_teams(tickets, grant_for(user).team_ids)
    elif view == "unassigned":
        tickets = tickets.filter(assignee__isnull=True)
    status = data.get("status")
    if status == UNSOLVED:
        tickets = tickets_unsolved(tickets)
    elif status:
        tickets = tickets.filter(status=status)
    if data.get("priority"):
        tickets = tickets.filter(priority=data["priority"])
    if data.get("channel"):
        tickets = tickets.filter(channel=data["channel"])
    return ticket_search(tickets, data.get("q", ""))


@console_page
def ticket_list(request):
    form = TicketFilterForm(request.GET or None)
    tickets = ticket_list_related(_filtered_tickets(request.user, form))
    page = paginate(request, tickets)
    filtered = form.is_bound and any(form.cleaned_data.values()) if form.is_valid() else False
    return render(request, "frontend/tickets/list.html", {"form": form, "page": page, "filtered": filtered})


def _ticket_or_404(request, number: int) -> Ticket:
    return get_object_or_404(ticket_list_related(visible(request.user, Ticket)), number=number)


def _render_detail(request, ticket: Ticket, *, message_form: MessageForm | None = None, status: int = 200):
    allowed = [s for s in Status if transitions.can_transition(ticket.status, s)]
    status_form = StatusForm(initial={"status": ticket.status})
    status_form.fields["status"].choices = [(ticket.status, ticket.get_status_display())] + [
        (s.value, s.label) for s in allowed
    ]
    context = {
        "ticket": ticket,
        "thread": ticket_messages(ticket),
        "events": describe_events(ticket.events.select_related("actor").order_by("-at", "-id")),
        "message_form": message_form or MessageForm(),
        "status_form": status_form,
        "can_change_status": bool(allowed),
        "can_take": ticket.is_open and ticket.assignee_id != request.user.pk,
        "customer_visible": can_see(request.user, ticket.customer),
        "merged_into_visible": ticket.merged_into_id is not None and can_see(request.user, ticket.merged_into),
        "max_attachment_size": settings.ATTACHMENT_MAX_BYTES,
    }
    return render(request, "frontend/tickets/detail.html", context, status=status)


@console_page
def ticket_detail(request, number: int):
    return _render_detail(request, _ticket_or_404(request, number))


def _new_attachments(form: MessageForm) -> list[NewAttachment]:
    files = form.cleaned_data.get("attachments") or []
    too_large = [f.name for f in files if f.size > settings.ATTACHMENT_MAX_BYTES]
    if too_large:
        raise ValidationError(
            {
                "attachments": _("%(names)s is larger than %(max)s, the most a message may carry.")
                % {"names": ", ".join(too_large), "max": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}
            }
        )
    return [
        NewAttachment(filename=f.name, content_type=f.content_type or "application/octet-stream", data=f.read())
        for f in files
    ]


def _add_service_errors(form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@console_page
@require_POST
def ticket_message(request, number: int):
    """A reply to the customer or an internal note, from the composer."""
    ticket = _ticket_or_404(request, number)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachments = _new_attachments(form)
            if form.cleaned_data["kind"] == MessageForm.NOTE:
                message = ticket_add_note(
                    ticket=ticket, by=request.user, body_text=form.cleaned_data["body_text"], attachments=attachments
                )
                messages.success(request, _("Internal note added."))
            else:
                message = ticket_reply(
                    ticket=ticket, by=request.user, body_text=form.cleaned_data["body_text"], attachments=attachments
                )
                messages.success(request, _("Reply sent to %(customer)s.") % {"customer": ticket.customer})
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            return redirect(reverse("ticket-detail", args=[ticket.number]) + f"#message-{message.pk}")
    return _render_detail(request, ticket, message_form=form, status=400)


@console_page
@require_POST
def ticket_status(request, number: int):
    ticket = _ticket_or_404(request, number)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
    else:
        try:
            ticket = ticket_change_status(ticket=ticket, status=form.cleaned_data["status"], by=request.user)
        except ValidationError as error:
            for text in error.messages:
                messages.error(request, text)
        else:
            messages.success(request, _("Status is now “%(status)s”.") % {"status": ticket.get_status_display()})
    return redirect("ticket-detail", number=ticket.number)


@console_page
@require_POST
def ticket_take(request, number: int):
    """Assign the ticket to oneself."""
    ticket = _ticket_or_404(request, number)
    try:
        ticket_assign(ticket=ticket, agent=request.user, by=request.user)
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("Ticket #%(number)s is now assigned to you.") % {"number": ticket.number})
    return redirect("ticket-detail", number=ticket.number)
