"""The supervisor board: a wall screen of queues, agents and SLA clocks, live over /ws/supervisor/.

Supervisors and admins only (the same check as the socket); reassigning from the board goes
through the ticket API's assign action, which calls ticketing.services.ticket_assign."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.models import Presence
from frontend.board_data import board_snapshot
from frontend.console_data import transfer_choices
from frontend.realtime.audience import may_use_supervisor_socket
from frontend.views.common import with_content_policy
from ticketing.models import Channel, Priority, SlaTarget


def board_labels() -> dict:
    """The words the board's script shows, in the viewer's language."""
    return {
        "target": {value: str(label) for value, label in SlaTarget.choices},
        "channel": {value: str(label) for value, label in Channel.choices} | {"voice": str(Channel.VOICE.label)},
        "priority": {value: str(label) for value, label in Priority.choices},
        "presence": {value: str(label) for value, label in Presence.choices},
        "days": _("%(d)sd %(h)sh"),
        "overdue": _("overdue %(time)s"),
        "paused": _("paused (outside business hours)"),
        "due": _("due %(time)s"),
        "reassign": _("Reassign"),
        "unassigned": _("Unassigned"),
        "escalated": _("Escalated: #%(number)s %(subject)s (%(target)s)"),
        "breached_now": _("Breached: #%(number)s %(subject)s (%(target)s)"),
        "assigned": _("#%(number)s assigned to %(name)s."),
        "live": _("Live"),
        "reconnecting": _("Reconnecting…"),
        "not_allowed": _("Not allowed"),
        "signed_out": _("Signed out: reload the page"),
        "waited": _("waiting %(time)s"),
        "met": _("%(met)s met · %(missed)s missed"),
    }


@login_required
@require_GET
def supervisor_board(request):
    if not may_use_supervisor_socket(request.user):
        raise PermissionDenied(_("The supervisor board is for supervisors and administrators."))
    context = {
        "board_config": {
            "userId": request.user.id,
            "snapshotUrl": "/supervisor/api/board/",
            "agents": transfer_choices(request.user)["agents"],
        },
        "board": board_snapshot(),
        "labels": board_labels(),
    }
    return with_content_policy(render(request, "frontend/supervisor.html", context))


@require_GET
def supervisor_board_data(request):
    if not request.user.is_authenticated:
        return JsonResponse({"detail": _("Sign in first."), "errors": {}}, status=401)
    if not may_use_supervisor_socket(request.user):
        return JsonResponse(
            {"detail": _("The supervisor board is for supervisors and administrators."), "errors": {}}, status=403
        )
    return JsonResponse(board_snapshot())
