"""Who may receive which ticket event, and the missed events a reconnecting console replays.

The group a live event arrives on is a hint, not a permission: every event is checked
against the user's record scope (`accounts.scope`) before it is sent."""

from django.db.models import Exists, OuterRef, Q

from accounts.roles import ADMIN, SUPERVISOR
from accounts.scope import Grant, grant_for, visible
from ticketing.events import event_payload
from ticketing.models import Ticket, TicketEvent

REPLAY_LIMIT = 1000  # more missed events than this: the client reloads its lists instead


def may_use_agent_socket(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm("ticketing.view_ticket"))


def may_use_supervisor_socket(user) -> bool:
    if not may_use_agent_socket(user):
        return False
    if user.is_superuser:
        return True
    roles = set(user.groups.filter(role__isnull=False).values_list("role__code", flat=True))
    return bool(roles & {ADMIN, SUPERVISOR}) and grant_for(user).sees_all


def notified(payload: dict, user_id: int) -> bool:
    notify = (payload.get("data") or {}).get("notify") or ()
    return isinstance(notify, list) and user_id in notify


def event_obviously_visible(grant: Grant, payload: dict) -> bool | None:
    """True when the payload alone shows the event is the user's; None when the database must decide."""
    if grant.sees_all or notified(payload, grant.user_id):
        return True
    ticket = payload.get("ticket") or {}
    if ticket.get("assignee") in grant.user_ids or ticket.get("team") in grant.team_ids:
        return True
    return None


def ticket_visible(user, ticket_id) -> bool:
    if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
        return False
    return visible(user, Ticket).filter(pk=ticket_id).exists()


def event_visible(user, payload: dict) -> bool:
    grant = grant_for(user)
    if event_obviously_visible(grant, payload):
        return True
    return ticket_visible(user, (payload.get("ticket") or {}).get("id"))


def events_missed(user, after: int, *, limit: int = REPLAY_LIMIT) -> tuple[list[dict], bool]:
    """The events after id `after` in the user's scope, oldest first, as frame payloads.
    Returns (payloads, complete); complete is False when more than `limit` were missed."""
    grant = grant_for(user)
    events = TicketEvent.objects.filter(id__gt=after).select_related("ticket").order_by("id")
    if not grant.sees_all:
        tickets = visible(user, Ticket)
        # Offers name their agent in data.notify; JSON containment is not portable, so those are
        # fetched by key and checked below.
        events = events.annotate(in_scope=Exists(tickets.filter(pk=OuterRef("ticket_id")))).filter(
            Q(in_scope=True) | Q(data__has_key="notify")
        )
    payloads = []
    for event in events.iterator(chunk_size=500):
        payload = event_payload(event, event.ticket)
        if not grant.sees_all and not getattr(event, "in_scope", True) and not notified(payload, grant.user_id):
            continue
        if len(payloads) == limit:
            return payloads, False
        payloads.append(payload)
    return payloads, True


def latest_event_id() -> int:
    last = TicketEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0
