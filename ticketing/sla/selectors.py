"""Reads of SLA timers for the CRM customer record and reports."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from ticketing.models import SlaOutcome, SlaTimer


def sla_breaches_of_customer(*, person_id: int, days: int = 90, now: datetime | None = None) -> QuerySet[SlaTimer]:
    """The customer's breached targets in the last `days` days, newest first (CRM SLA history)."""
    since = (now or timezone.now()) - timedelta(days=days)
    return (
        SlaTimer.objects.filter(ticket__customer_id=person_id, breached_at__gte=since)
        .select_related("ticket")
        .order_by("-breached_at")
    )


def sla_at_risk_of_customer(*, person_id: int, now: datetime | None = None) -> QuerySet[SlaTimer]:
    """Running targets of the customer's open tickets that have warned or breached, nearest deadline first."""
    return (
        SlaTimer.objects.filter(ticket__customer_id=person_id, met_at__isnull=True, paused_at__isnull=True)
        .filter(Q(warned_at__isnull=False) | Q(outcome=SlaOutcome.MISSED) | Q(warn_at__lte=now or timezone.now()))
        .exclude(ticket__status__in=["solved", "closed"])
        .select_related("ticket")
        .order_by("due_at")
    )


def sla_compliance(*, since: datetime, until: datetime | None = None) -> dict[str, dict[str, int]]:
    """Met and missed targets that finished (met or breached) in the period, per target, for reports."""
    met, breached = Q(met_at__gte=since), Q(met_at__isnull=True, breached_at__gte=since)
    if until is not None:
        met, breached = met & Q(met_at__lt=until), breached & Q(breached_at__lt=until)
    finished = SlaTimer.objects.filter(met | breached).exclude(outcome=SlaOutcome.RUNNING)
    result: dict[str, dict[str, int]] = {}
    for target, outcome in finished.values_list("target", "outcome"):
        counts = result.setdefault(target, {SlaOutcome.MET.value: 0, SlaOutcome.MISSED.value: 0})
        counts[outcome] += 1
    return result


def running_timers() -> QuerySet[SlaTimer]:
    """Clocks still counting (not met, not paused), with what a countdown needs (for Prefetch)."""
    return (
        SlaTimer.objects.filter(met_at__isnull=True, paused_at__isnull=True, due_at__isnull=False)
        .select_related("policy__calendar")
        .order_by("due_at")
    )


def sla_countdown(timer: SlaTimer, ticket, now: datetime | None = None) -> dict:
    """A live countdown: business seconds `left` to the deadline at `now` (negative: real seconds
    overdue), whether the calendar is open (`ticking`), the business seconds left at the warning
    (`warn_left`) and the `level` now (ok / warning / breached). The ticket needs its queue, the
    queue's calendar and team calendar loaded (calendar_for_ticket)."""
    from ticketing.sla.business_time import business_between, is_working_time
    from ticketing.sla.services import calendar_for_ticket

    now = now or timezone.now()
    calendar = calendar_for_ticket(timer.policy, ticket)
    if timer.due_at > now:
        left = business_between(calendar=calendar, start=now, end=timer.due_at).total_seconds()
    else:
        left = -(now - timer.due_at).total_seconds()
    warn_left = None
    if timer.warn_at is not None and timer.warn_at < timer.due_at:
        warn_left = business_between(calendar=calendar, start=timer.warn_at, end=timer.due_at).total_seconds()
    if timer.breached_at is not None or left <= 0:
        level = "breached"
    elif timer.warned_at is not None or (timer.warn_at is not None and timer.warn_at <= now):
        level = "warning"
    else:
        level = "ok"
    return {
        "target": timer.target,
        "due_at": timer.due_at.isoformat(),
        "left": round(left),
        "warn_left": round(warn_left) if warn_left is not None else None,
        "ticking": is_working_time(calendar=calendar, at=now),
        "level": level,
        "time_zone": calendar.time_zone,
    }
