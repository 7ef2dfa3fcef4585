"""The supervisor board's snapshot: queues, agents, tickets nearest breach, breached tickets and
today's SLA compliance. One JSON-ready dict, the same for every supervisor (they see all), built
by `board_snapshot` for the page, the JSON endpoint and the `/ws/supervisor/` `board` frames.

Countdowns are business time: `left` is the business seconds to the deadline at `at`, and
`ticking` says whether the calendar is open now (a closed calendar does not count down)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from accounts.models import AgentProfile, Presence
from routing.selection import capacity_channel
from routing.selectors import queue_stats
from ticketing.models import Queue, SlaOutcome, SlaTimer, Ticket
from ticketing.selectors import UNSOLVED_STATUSES, tickets_unsolved
from ticketing.sla.selectors import sla_countdown

AT_RISK_ROWS = 10
BREACHED_ROWS = 8
AGENT_ROWS = 18
QUEUE_ROWS = 10
CACHE_SECONDS = 1.0  # many board screens open: one snapshot per second per process
CAPACITY_CHANNELS = ("chat", "voice", "email", "sms")

_cache_lock = threading.Lock()
_cache: dict = {"at": 0.0, "data": None}


def _name(user) -> str:
    return str(user) if user else ""


def _queues(now: datetime) -> list[dict]:
    routed = {row["queue"]: row for row in queue_stats()}
    open_tickets = tickets_unsolved(Ticket.objects.filter(queue__isnull=False))
    counts = {
        row["queue_id"]: row
        for row in open_tickets.values("queue_id")
        .annotate(
            open=Count("pk"),
            unassigned=Count("pk", filter=Q(assignee__isnull=True)),
            oldest=Min("created_at", filter=Q(assignee__isnull=True)),
        )
        .order_by()
    }
    breached = dict(
        SlaTimer.objects.filter(breached_at__isnull=False, met_at__isnull=True, ticket__status__in=_unsolved())
        .values("ticket__queue_id")
        .annotate(n=Count("ticket_id", distinct=True))
        .values_list("ticket__queue_id", "n")
        .order_by()
    )
    rows = []
    for queue in Queue.objects.select_related("team").order_by("name"):
        count = counts.get(queue.id, {})
        stats = routed.get(queue.id)
        if stats is not None:
            waiting, longest = stats["waiting"], stats["longest_wait_seconds"]
        else:  # not routed: the unassigned open tickets wait
            waiting = count.get("unassigned", 0)
            oldest = count.get("oldest")
            longest = int((now - oldest).total_seconds()) if oldest else 0
        rows.append(
            {
                "id": queue.id,
                "name": queue.name,
                "team": queue.team.name,
                "open": count.get("open", 0),
                "waiting": waiting,
                "longest_wait": max(longest, 0),
                "breached": breached.get(queue.id, 0),
            }
        )
    rows.sort(key=lambda r: (-r["waiting"], -r["longest_wait"], r["name"]))
    return rows


def _unsolved() -> list[str]:
    return list(UNSOLVED_STATUSES)


def _agents() -> list[dict]:
    profiles = list(AgentProfile.objects.filter(user__is_active=True).select_related("user").order_by("user__username"))
    load: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in (
        tickets_unsolved(Ticket.objects.filter(assignee__isnull=False))
        .values("assignee_id", "channel")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        load[row["assignee_id"]][capacity_channel(row["channel"])] += row["n"]
    order = {"online": 0, "away": 1, "offline": 2}
    rows = []
    for profile in profiles:
        used = load.get(profile.user_id, {})
        channels = [
            {"channel": name, "load": used.get(name, 0), "capacity": getattr(profile, f"capacity_{name}", 0)}
            for name in CAPACITY_CHANNELS
            if getattr(profile, f"capacity_{name}", 0) or used.get(name)
        ]
        total_capacity = sum(c["capacity"] for c in channels) or 1
        rows.append(
            {
                "id": profile.user_id,
                "name": _name(profile.user),
                "presence": profile.presence,
                "since": profile.presence_changed_at.isoformat(),
                "channels": channels,
                "load": sum(c["load"] for c in channels),
                "utilisation": round(100 * sum(c["load"] for c in channels) / total_capacity),
            }
        )
    rows.sort(key=lambda r: (order.get(r["presence"], 3), -r["utilisation"], r["name"]))
    return rows[:AGENT_ROWS]


def _ticket_ref(ticket: Ticket) -> dict:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "subject": ticket.subject,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "queue": ticket.queue.name if ticket.queue_id else "",
        "assignee": {"id": ticket.assignee_id, "name": _name(ticket.assignee)} if ticket.assignee_id else None,
        "customer": ticket.customer.name if ticket.customer_id else "",
    }


def _timers():
    return SlaTimer.objects.select_related(
        "policy__calendar",
        "ticket__queue__calendar",
        "ticket__queue__team__calendar",
        "ticket__assignee",
        "ticket__customer",
    ).filter(met_at__isnull=True, ticket__status__in=_unsolved())


def _at_risk(now: datetime) -> list[dict]:
    """Running clocks not yet breached, nearest deadline first (one row per ticket)."""
    rows, seen = [], set()
    for timer in (
        _timers()
        .filter(paused_at__isnull=True, breached_at__isnull=True, due_at__isnull=False)
        .order_by("due_at")[: AT_RISK_ROWS * 3]
    ):
        if timer.ticket_id in seen:
            continue
        seen.add(timer.ticket_id)
        countdown = sla_countdown(timer, timer.ticket, now)
        rows.append(
            {
                "ticket": _ticket_ref(timer.ticket),
                **countdown,
                "warned": countdown["level"] != "ok",
            }
        )
        if len(rows) == AT_RISK_ROWS:
            break
    return rows


def _breached(now: datetime) -> list[dict]:
    rows, seen = [], set()
    for timer in _timers().filter(breached_at__isnull=False).order_by("-breached_at")[: BREACHED_ROWS * 3]:
        if timer.ticket_id in seen:
            continue
        seen.add(timer.ticket_id)
        rows.append(
            {
                "ticket": _ticket_ref(timer.ticket),
                "target": timer.target,
                "due_at": timer.due_at.isoformat() if timer.due_at else None,
                "breached_at": timer.breached_at.isoformat(),
                "overdue": round((now - timer.due_at).total_seconds()) if timer.due_at else 0,
            }
        )
        if len(rows) == BREACHED_ROWS:
            break
    return rows


def _start_of_day(now: datetime) -> datetime:
    local = timezone.localtime(now, timezone.get_default_timezone())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _compliance(now: datetime) -> dict:
    """Targets finished today (met, or breached), met share per queue, team and channel."""
    since = _start_of_day(now)
    finished = SlaTimer.objects.filter(Q(met_at__gte=since) | Q(met_at__isnull=True, breached_at__gte=since)).exclude(
        outcome=SlaOutcome.RUNNING
    )
    groups = {"queue": "ticket__queue__name", "team": "ticket__team__name", "channel": "ticket__channel"}
    result: dict[str, list[dict]] = {}
    total = {"met": 0, "missed": 0}
    for key, field in groups.items():
        counts: dict[str, dict[str, int]] = defaultdict(lambda: {"met": 0, "missed": 0})
        for name, outcome, n in finished.values_list(field, "outcome").annotate(n=Count("pk")).order_by():
            counts[name or ""][outcome] += n
            if key == "queue":
                total[outcome] += n
        rows = []
        for name, c in counts.items():
            done = c["met"] + c["missed"]
            rows.append({"name": name, "met": c["met"], "missed": c["missed"], "percent": round(100 * c["met"] / done)})
        rows.sort(key=lambda r: (r["percent"], r["name"]))
        result[key] = rows
    done = total["met"] + total["missed"]
    result["total"] = {**total, "percent": round(100 * total["met"] / done) if done else None}
    return result


def _totals(now: datetime, queues: list[dict]) -> dict:
    """The header's counts over the whole floor: the panels below list only the rows that fit."""
    running = _timers().filter(paused_at__isnull=True, breached_at__isnull=True, due_at__gt=now)
    return {
        "waiting": sum(q["waiting"] for q in queues),
        "online": AgentProfile.objects.filter(user__is_active=True, presence=Presence.ONLINE).count(),
        "at_risk": running.filter(Q(warned_at__isnull=False) | Q(warn_at__lte=now))
        .values("ticket_id")
        .distinct()
        .count(),
        "breached": _timers().filter(breached_at__isnull=False).values("ticket_id").distinct().count(),
    }


def board_snapshot_build(now: datetime | None = None) -> dict:
    now = now or timezone.now()
    queues = _queues(now)
    return {
        "at": now.isoformat(),
        "queues": queues[:QUEUE_ROWS],
        "agents": _agents(),
        "at_risk": _at_risk(now),
        "breached": _breached(now),
        "compliance": _compliance(now),
        "totals": _totals(now, queues),
        "time_zone": settings.TIME_ZONE,
    }


def board_snapshot(*, fresh: bool = False) -> dict:
    """The snapshot, at most CACHE_SECONDS old unless `fresh` (after an event that changes it)."""
    with _cache_lock:
        if not fresh and _cache["data"] is not None and time.monotonic() - _cache["at"] < CACHE_SECONDS:
            return _cache["data"]
    data = board_snapshot_build()
    with _cache_lock:
        _cache.update(at=time.monotonic(), data=data)
    return data
