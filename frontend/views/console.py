"""The realtime console: one page, and the small JSON endpoints its script calls.

Changes go through the services (ticketing.services, accounts.services); the ticket
actions that the REST API already offers (status, priority, tags, assign, merge) are
called there by the script. Errors answer in the API's format: {"detail", "errors"}."""

from __future__ import annotations

import json
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import AgentProfile, Presence
from accounts.scope import visible
from accounts.services import agent_presence_set
from frontend import console_data
from frontend.console_services import ticket_mark_read
from frontend.views.common import phone_line_exists, with_content_policy
from ticketing.models import Channel, Priority, Status, Ticket
from ticketing.services import NewAttachment, ticket_add_note, ticket_reply

MAX_BODY = 100_000
MAX_FILES = 10


def _error(detail: str, status: int, errors: dict | None = None) -> JsonResponse:
    return JsonResponse({"detail": detail, "errors": errors or {}}, status=status)


def console_json(view):
    """Signed in and allowed to work tickets; a 401/403 JSON answer instead of a redirect."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return _error(_("Sign in first."), 401)
        if not request.user.has_perm("ticketing.view_ticket"):
            return _error(_("Your role may not use the console."), 403)
        try:
            return view(request, *args, **kwargs)
        except ValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
            return _error(_("Invalid input."), 400, errors)

    return wrapper


def _ticket(request, ticket_id: int) -> Ticket | None:
    return visible(request.user, Ticket).filter(pk=ticket_id).first()


@login_required
@require_GET
def console(request):
    profile = AgentProfile.objects.filter(user=request.user).first()
    context = {
        "presence": profile.presence if profile else None,
        "presences": Presence.choices,
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "channels": Channel.choices,
        "kb_panel": finders.find("knowledge_base/kb_panel.js") is not None,
        "phone_panel": phone_line_exists(),
        "max_attachment": settings.ATTACHMENT_MAX_BYTES,
        "console_config": {
            "userId": request.user.id,
            "userName": str(request.user),
            "maxAttachment": settings.ATTACHMENT_MAX_BYTES,
            "maxAttachmentLabel": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
        },
    }
    return with_content_policy(render(request, "frontend/console.html", context))


@console_json
@require_GET
def console_inbox(request):
    view = request.GET.get("view", "mine")
    if view not in console_data.VIEWS:
        view = "mine"
    tickets = console_data.inbox_tickets(
        request.user,
        view=view,
        status=request.GET.get("status", ""),
        channel=request.GET.get("channel", ""),
        q=request.GET.get("q", "")[:100],
    )
    rows = [console_data.inbox_row(t) for t in tickets[: console_data.INBOX_SIZE]]
    last_event = console_data.latest_event_id()
    return JsonResponse(
        {"tickets": rows, "counts": console_data.inbox_counts(request.user), "view": view, "last_event": last_event}
    )


@console_json
@require_GET
def console_ticket(request, ticket_id: int):
    ticket = _ticket(request, ticket_id)
    if ticket is None:
        return _error(_("Not found."), 404)
    return JsonResponse(console_data.conversation(request.user, ticket))


@console_json
@require_POST
def console_ticket_read(request, ticket_id: int):
    ticket = _ticket(request, ticket_id)
    if ticket is None:
        return _error(_("Not found."), 404)
    marker = ticket_mark_read(ticket=ticket, user=request.user)
    return JsonResponse({"ticket": ticket.id, "last_read_message_id": marker.last_read_message_id})


def _attachments(files) -> list[NewAttachment]:
    if len(files) > MAX_FILES:
        raise ValidationError({"attachments": [_("At most %(n)s files per message.") % {"n": MAX_FILES}]})
    too_large = [f.name for f in files if f.size > settings.ATTACHMENT_MAX_BYTES]
    if too_large:
        raise ValidationError(
            {
                "attachments": [
                    _("%(names)s is larger than %(max)s, the most a message may carry.")
                    % {"names": ", ".join(too_large), "max": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}
                ]
            }
        )
    return [
        NewAttachment(filename=f.name[:255], content_type=f.content_type or "application/octet-stream", data=f.read())
        for f in files
    ]


@console_json
@require_POST
def console_message(request, ticket_id: int):
    """A public reply or an internal note, with attachments (multipart form)."""
    ticket = _ticket(request, ticket_id)
    if ticket is None:
        return _error(_("Not found."), 404)
    kind = request.POST.get("kind", "reply")
    body = request.POST.get("body_text", "")
    files = request.FILES.getlist("attachments")
    if kind not in ("reply", "note"):
        return _error(_("Invalid input."), 400, {"kind": [_("Choose a reply or an internal note.")]})
    if len(body) > MAX_BODY:
        return _error(_("Invalid input."), 400, {"body_text": [_("The message is too long.")]})
    if not body.strip() and not files:
        return _error(_("Invalid input."), 400, {"body_text": [_("Write a message or attach a file.")]})
    if kind == "note" and not request.user.has_perm("ticketing.add_message"):
        return _error(_("Your role may not add notes."), 403)
    attachments = _attachments(files)
    with transaction.atomic():
        if kind == "note":
            message = ticket_add_note(ticket=ticket, by=request.user, body_text=body, attachments=attachments)
        else:
            message = ticket_reply(ticket=ticket, by=request.user, body_text=body, attachments=attachments)
        ticket_mark_read(ticket=ticket, user=request.user)
    message = console_data.Message.objects.select_related("author", "sender").get(pk=message.pk)
    return JsonResponse(console_data.message_row(message), status=201)


@console_json
@require_GET
def console_options(request):
    """Queues and agents to transfer to, canned responses."""
    return JsonResponse(
        {**console_data.transfer_choices(request.user), "canned": console_data.canned_responses(request.user)}
    )


@console_json
@require_POST
def console_presence(request):
    try:
        presence = json.loads(request.body or b"{}").get("presence")
    except (ValueError, AttributeError):
        presence = None
    if not isinstance(presence, str):
        return _error(_("Invalid input."), 400, {"presence": [_("Choose online, away or offline.")]})
    with transaction.atomic():
        profile = agent_presence_set(agent=request.user, presence=presence)
    return JsonResponse({"presence": profile.presence, "label": Presence(profile.presence).label})
