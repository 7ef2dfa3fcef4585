"""SLA timers: which policy applies, the deadlines of each ticket, and the sweeper
that fires each warning and breach once.

`sla_recompute` is the one function the ticket services call after every relevant
change (message in or out, status, priority, queue); it keeps the ticket's SlaTimer
rows and its deadline columns. `sla_tick` is the worker's sweep: it reads only the
rows whose `fire_at` has come and claims each with a conditional UPDATE.
"""

from __future__ import annotations

import contextvars
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_center.scoped import scoped_value
from crm.models import ServiceLevel
from ticketing.events import ticket_event_record
from ticketing.models import (
    BusinessCalendar,
    Channel,
    Direction,
    Message,
    NextResponseMode,
    Priority,
    SlaOutcome,
    SlaPolicy,
    SlaTarget,
    SlaTimer,
    Status,
    Ticket,
)
from ticketing.sla.business_time import (
    ALWAYS,
    Calendar,
    CalendarError,
    business_add,
    business_between,
    parse_weekly_hours,
)

logger = logging.getLogger(__name__)

PAUSING_STATUSES = {Status.PENDING, Status.ON_HOLD}
STOPPED_STATUSES = {Status.SOLVED, Status.CLOSED}
PRIORITY_RANK = {value: rank for rank, value in enumerate(Priority.values)}
DUE_COLUMN = {
    SlaTarget.FIRST_RESPONSE: "first_response_due_at",
    SlaTarget.NEXT_RESPONSE: "next_response_due_at",
    SlaTarget.RESOLUTION: "resolution_due_at",
}


# Calendars ----------------------------------------------------------------------------------


def _dates(values, field: str) -> frozenset[date]:
    try:
        return frozenset(date.fromisoformat(str(value)) for value in values or ())
    except ValueError as exc:
        raise ValidationError({field: [_("Dates are written YYYY-MM-DD: %(error)s") % {"error": exc}]}) from None


def calendar_from_model(calendar: BusinessCalendar | None) -> Calendar:
    """The pure calendar of a BusinessCalendar row; around the clock in TIME_ZONE when None."""
    if calendar is None:
        return Calendar(time_zone=settings.TIME_ZONE, weekly_hours=ALWAYS)
    try:
        weekly = parse_weekly_hours(calendar.weekly_hours or {})
    except CalendarError as exc:
        raise ValidationError({"weekly_hours": [_("Invalid weekly hours: %(error)s") % {"error": exc}]}) from None
    try:
        result = Calendar(
            time_zone=calendar.time_zone,
            weekly_hours=weekly,
            country=calendar.country.strip().upper(),
            subdivision=calendar.subdivision.strip().upper(),
            holidays=_dates(calendar.holidays, "holidays"),
            extra_workdays=_dates(calendar.extra_workdays, "extra_workdays"),
        )
    except CalendarError:
        raise ValidationError(
            {"time_zone": [_("Unknown time zone “%(value)s”.") % {"value": calendar.time_zone}]}
        ) from None
    if result.country and result.country != "CN":
        from ticketing.sla.business_time import _country_holidays

        try:
            _country_holidays(result.country, result.subdivision)
        except NotImplementedError:
            raise ValidationError(
                {"country": [_("No public holidays are known for “%(value)s”.") % {"value": result.country}]}
            ) from None
    if not any(weekly):
        raise ValidationError({"weekly_hours": [_("A calendar needs some working hours.")]})
    return result


def calendar_for_ticket(policy: SlaPolicy | None, ticket: Ticket) -> Calendar:
    """The policy's calendar, else the queue's, else the queue's team's, else around the clock. A calendar
    that cannot be read (edited outside the admin) is logged and counted around the clock: a ticket change
    never fails on it."""
    row = policy.calendar if policy is not None else None
    if row is None and ticket.queue_id:
        row = ticket.queue.calendar or ticket.queue.team.calendar
    try:
        return calendar_from_model(row)
    except ValidationError:
        logger.exception("Business calendar %s is invalid; counting around the clock", getattr(row, "pk", None))
        return calendar_from_model(None)


# Policies -----------------------------------------------------------------------------------


def _active_policies() -> list[SlaPolicy]:
    return list(
        SlaPolicy.objects.filter(is_active=True)
        .select_related("calendar")
        .prefetch_related("queues", "customer_tags", "companies")
        .order_by("position", "id")
    )


_batch_policies = contextvars.ContextVar("sla_batch_policies", default=None)


@contextmanager
def sla_policies_batched():
    """The active policies are read once for the block instead of at every recompute: for a worker
    storing many tickets in one transaction (the mail poller). A policy saved meanwhile is applied
    by its own recompute of the open tickets, as it is to any transaction that started before it."""
    with scoped_value(_batch_policies, list):
        yield


def _policies() -> list[SlaPolicy]:
    held = _batch_policies.get()
    if held is None:
        return _active_policies()
    if not held:
        held.append(_active_policies())
    return held[0]


def sla_policy_for(*, ticket: Ticket, policies: list[SlaPolicy] | None = None) -> SlaPolicy | None:
    """The first active policy whose every condition the ticket meets (an empty condition matches)."""
    policies = _policies() if policies is None else policies
    tag_ids: set[int] | None = None
    for policy in policies:
        if policy.priorities and ticket.priority not in policy.priorities:
            continue
        if policy.channels and ticket.channel not in policy.channels:
            continue
        queue_ids = {queue.pk for queue in policy.queues.all()}
        if queue_ids and ticket.queue_id not in queue_ids:
            continue
        company_ids = {company.pk for company in policy.companies.all()}
        if company_ids and ticket.company_id not in company_ids:
            continue
        if policy.service_levels:
            levels = {ticket.customer.service_level}
            if ticket.company_id:
                levels.add(ticket.company.service_level)
            if not levels & set(policy.service_levels):
                continue
        wanted_tags = {tag.pk for tag in policy.customer_tags.all()}
        if wanted_tags:
            if tag_ids is None:
                tag_ids = set(ticket.customer.tags.values_list("pk", flat=True))
                if ticket.company_id:
                    tag_ids |= set(ticket.company.tags.values_list("pk", flat=True))
            if not wanted_tags & tag_ids:
                continue
        return policy
    return None


def _target_minutes(policy: SlaPolicy | None, priority: str, target: str) -> int | None:
    if policy is None:
        return None
    value = (policy.targets or {}).get(priority, {}).get(target)
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        return None
    return minutes if minutes > 0 else None


def sla_policy_validate(*, policy: SlaPolicy) -> None:
    errors = {}
    if not isinstance(policy.targets, dict):
        errors["targets"] = [_("Targets are an object keyed by priority.")]
    else:
        for priority, targets in policy.targets.items():
            if priority not in Priority.values or not isinstance(targets, dict):
                errors["targets"] = [_("Unknown priority “%(value)s”.") % {"value": priority}]
                break
            bad = [k for k, v in targets.items() if k not in SlaTarget.values or not isinstance(v, int) or v <= 0]
            if bad:
                errors["targets"] = [
                    _("%(priority)s: %(names)s must be targets with a positive number of minutes.")
                    % {"priority": priority, "names": ", ".join(map(str, bad))}
                ]
                break
    for field, allowed in (
        ("priorities", Priority.values),
        ("channels", Channel.values),
        ("service_levels", ServiceLevel.values),
    ):
        values = getattr(policy, field)
        if not isinstance(values, list) or set(map(str, values)) - set(allowed):
            errors[field] = [_("A list of these values: %(values)s.") % {"values": ", ".join(allowed)}]
    if policy.warn_percent is not None and not 0 < policy.warn_percent < 100:
        errors["warn_percent"] = [_("A percentage between 1 and 99.")]
    if errors:
        raise ValidationError(errors)


# Recomputation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clock:
    target: str
    started_at: datetime
    met_at: datetime | None


def _clocks(ticket: Ticket, policy: SlaPolicy) -> tuple[list[_Clock], datetime | None]:
    """The clocks the ticket should have now, and the last agent reply."""
    replies = Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).aggregate(
        first=Min("created_at"), last=Max("created_at")
    )
    first_reply = ticket.first_response_at or replies["first"]
    last_reply = replies["last"]
    clocks = [
        _Clock(SlaTarget.FIRST_RESPONSE, ticket.created_at, first_reply),
        _Clock(
            SlaTarget.RESOLUTION,
            ticket.created_at,
            (ticket.solved_at or ticket.closed_at or timezone.now()) if ticket.status in STOPPED_STATUSES else None,
        ),
    ]
    if last_reply is not None:
        if policy.next_response_mode == NextResponseMode.PERIODIC:
            clocks.append(_Clock(SlaTarget.NEXT_RESPONSE, last_reply, None))
        else:
            waiting_since = (
                Message.objects.filter(ticket=ticket, direction=Direction.INBOUND, created_at__gt=last_reply)
                .aggregate(at=Min("created_at"))
                .get("at")
            )
            if waiting_since is not None:
                clocks.append(_Clock(SlaTarget.NEXT_RESPONSE, waiting_since, None))
    return clocks, last_reply


def _deadline(calendar: Calendar, timer: SlaTimer, minutes: float) -> datetime:
    return business_add(
        calendar=calendar,
        start=timer.started_at,
        duration=timedelta(minutes=minutes) + timedelta(seconds=timer.paused_seconds),
    )


def _warn_at(calendar: Calendar, timer: SlaTimer, policy: SlaPolicy) -> datetime | None:
    candidates = []
    if policy.warn_percent:
        candidates.append(timer.target_minutes * policy.warn_percent / 100)
    if policy.warn_minutes_before and policy.warn_minutes_before < timer.target_minutes:
        candidates.append(timer.target_minutes - policy.warn_minutes_before)
    if not candidates:
        return None
    return _deadline(calendar, timer, min(candidates))


def _settle(timer: SlaTimer, *, paused: bool, now: datetime, calendar: Calendar, policy: SlaPolicy) -> None:
    """Bring one timer's pause state, deadlines, outcome and next firing up to date."""
    if paused and timer.paused_at is None:
        timer.paused_at = now
    elif not paused and timer.paused_at is not None:
        timer.paused_seconds += business_between(calendar=calendar, start=timer.paused_at, end=now).total_seconds()
        timer.paused_at = None
    # The deadline had the clock not stopped at paused_at: what a met time is measured against.
    timer.due_at = _deadline(calendar, timer, timer.target_minutes)
    timer.warn_at = _warn_at(calendar, timer, policy)
    if timer.warn_at is not None and timer.warn_at >= timer.due_at:
        timer.warn_at = None
    if timer.met_at is not None:
        measured = min(timer.met_at, timer.paused_at) if timer.paused_at else timer.met_at
        timer.outcome = SlaOutcome.MISSED if timer.breached_at or measured > timer.due_at else SlaOutcome.MET
    else:
        timer.outcome = SlaOutcome.MISSED if timer.breached_at else SlaOutcome.RUNNING
    if timer.met_at is not None or timer.paused_at is not None or timer.breached_at is not None:
        timer.fire_at = None
    elif timer.warned_at is None and timer.warn_at is not None:
        timer.fire_at = timer.warn_at
    else:
        timer.fire_at = timer.due_at


TIMER_FIELDS = [
    "policy",
    "target_minutes",
    "due_at",
    "warn_at",
    "fire_at",
    "paused_at",
    "paused_seconds",
    "met_at",
    "outcome",
]


def _snapshot(timer: SlaTimer) -> tuple:
    return tuple(getattr(timer, "policy_id" if name == "policy" else name) for name in TIMER_FIELDS)


def sla_recompute(
    *, ticket: Ticket, now: datetime | None = None, policies: list[SlaPolicy] | None = None, new: bool = False
) -> Ticket:
    """Select the ticket's policy and bring its timers and deadline columns up to date.
    Call inside the transaction of the change; idempotent. `new`: the ticket was created in this
    transaction, so it has no timers to read yet."""
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):  # the caller's transaction (its services are atomic)
        policies = _policies() if policies is None else policies
        if new and not policies:
            return ticket  # inserted in this transaction without policy or deadlines, and none applies
        fresh = _fresh(ticket.pk, policies)
        policy = sla_policy_for(ticket=fresh, policies=policies)
        # Locked, so a sweeper's claim waits for this change and then sees the new fire_at.
        timers = () if new else SlaTimer.objects.select_for_update().filter(ticket=fresh)
        existing = {(t.target, t.started_at): t for t in timers}
        keep: set[int] = set()
        due_columns: dict[str, datetime | None] = dict.fromkeys(DUE_COLUMN.values())
        if policy is not None:
            calendar = calendar_for_ticket(policy, fresh)
            stopped = fresh.status in STOPPED_STATUSES
            paused = stopped or (policy.pause_when_pending and fresh.status in PAUSING_STATUSES)
            clocks, last_reply = _clocks(fresh, policy)
            for clock in clocks:
                minutes = _target_minutes(policy, fresh.priority, clock.target)
                if minutes is None:
                    continue
                timer = existing.get((clock.target, clock.started_at))
                if timer is not None and timer.met_at is not None and timer.met_at == clock.met_at:
                    keep.add(timer.pk)  # met before: its outcome is history, whatever changes later
                    continue
                before = _snapshot(timer) if timer else None
                if timer is None:
                    timer = SlaTimer(ticket=fresh, target=clock.target, started_at=clock.started_at)
                timer.policy, timer.target_minutes, timer.met_at = policy, minutes, clock.met_at
                _settle(timer, paused=paused, now=now, calendar=calendar, policy=policy)
                if before is None:
                    timer.save()
                elif _snapshot(timer) != before:
                    timer.save(update_fields=TIMER_FIELDS)
                keep.add(timer.pk)
                if timer.met_at is None and timer.paused_at is None:
                    due_columns[DUE_COLUMN[clock.target]] = timer.due_at
            # Earlier next-response cycles end with the reply that answered them.
            for timer in existing.values():
                if timer.pk in keep or timer.met_at is not None or timer.target != SlaTarget.NEXT_RESPONSE:
                    continue
                if last_reply is not None and last_reply > timer.started_at:
                    timer.met_at = last_reply
                    _settle(timer, paused=False, now=now, calendar=calendar, policy=policy)
                    timer.save(update_fields=TIMER_FIELDS)
                    keep.add(timer.pk)
        # Clocks no longer wanted (no policy, no target, reopened cycle): drop the silent ones,
        # stop the ones that already warned or breached (their history stays for reports).
        for timer in existing.values():
            if timer.pk in keep or timer.met_at is not None:
                continue
            if timer.warned_at is None and timer.breached_at is None:
                timer.delete()
            elif timer.fire_at is not None:
                SlaTimer.objects.filter(pk=timer.pk).update(fire_at=None)
        columns = {"sla_policy": policy, **due_columns}
        current = (fresh.sla_policy_id, *(getattr(fresh, name) for name in due_columns))
        if current != (policy.pk if policy else None, *due_columns.values()):
            Ticket.objects.filter(pk=fresh.pk).update(**columns)
        for name, value in columns.items():
            setattr(ticket, name, value)
    return ticket


def _fresh(ticket_pk: int, policies: list[SlaPolicy]) -> Ticket:
    """The ticket as it is now, joined only to what the policies' conditions and calendars read
    (the five-table join cost more than the rest of the recompute)."""
    if not policies:
        return Ticket.objects.only("id", "sla_policy", *DUE_COLUMN.values()).get(pk=ticket_pk)
    related = []
    if any(policy.service_levels or policy.customer_tags.all() for policy in policies):
        related += ["customer", "company"]
    if any(policy.calendar_id is None for policy in policies):
        related += ["queue__calendar", "queue__team__calendar"]
    return Ticket.objects.select_related(*related).get(pk=ticket_pk)


def sla_recompute_open_tickets(*, tickets: QuerySet[Ticket], batch: int = 100) -> int:
    """Recompute the open ones among `tickets`, `batch` at a time per short transaction
    (locked in id order, as the ticket services lock one ticket at a time)."""
    candidates = tickets.exclude(status__in=STOPPED_STATUSES).order_by("pk")
    policies = _active_policies()  # read once for the whole run
    count = 0
    last_pk = 0
    while True:
        pks = list(candidates.filter(pk__gt=last_pk).values_list("pk", flat=True)[:batch])
        if not pks:
            return count
        with transaction.atomic():
            for ticket in Ticket.objects.select_for_update().filter(pk__in=pks).order_by("pk"):
                sla_recompute(ticket=ticket, policies=policies)
                count += 1
        last_pk = pks[-1]


def sla_policy_recompute_tickets(*, policy: SlaPolicy) -> int:
    """After a policy changed (targets, conditions, calendar, activation): recompute the open
    tickets it covers or may now cover (policies after it in order, or none)."""
    return sla_recompute_open_tickets(
        tickets=Ticket.objects.filter(
            Q(sla_policy=policy) | Q(sla_policy__isnull=True) | Q(sla_policy__position__gte=policy.position)
        )
    )


def sla_policy_delete(*, policy: SlaPolicy) -> int:
    """Delete a policy and recompute the open tickets it covered (another policy, or none, applies)."""
    covered = list(Ticket.objects.filter(sla_policy=policy).values_list("pk", flat=True))
    policy.delete()
    return sla_recompute_open_tickets(tickets=Ticket.objects.filter(pk__in=covered))


def sla_calendar_recompute_tickets(*, calendar: BusinessCalendar) -> int:
    """After a calendar changed: the open tickets whose deadlines count in it."""
    return sla_recompute_open_tickets(
        tickets=Ticket.objects.filter(
            Q(sla_policy__calendar=calendar) | Q(sla_policy__calendar__isnull=True, queue__calendar=calendar)
        )
    )


def sla_queue_recompute_tickets(*, queue_id: int) -> int:
    """After a queue's calendar changed."""
    return sla_recompute_open_tickets(tickets=Ticket.objects.filter(queue_id=queue_id, sla_policy__isnull=False))


# The sweeper --------------------------------------------------------------------------------


def _escalate(timer: SlaTimer) -> None:
    """The breach steps of the policy: raise the priority, move the queue, tell the supervisors."""
    from ticketing.services import ticket_assign, ticket_update  # services call us: import late

    policy, ticket = timer.policy, timer.ticket
    if policy is None:
        return
    actions = {}
    if policy.escalate_priority and PRIORITY_RANK[policy.escalate_priority] > PRIORITY_RANK[ticket.priority]:
        ticket_update(ticket=ticket, by=None, priority=policy.escalate_priority)
        actions["priority"] = policy.escalate_priority
    if policy.escalate_queue_id and policy.escalate_queue_id != ticket.queue_id:
        ticket_assign(ticket=ticket, agent=ticket.assignee, by=None, queue=policy.escalate_queue)
        actions["queue"] = policy.escalate_queue_id
    ticket_event_record(
        ticket=ticket,
        kind="sla.escalated",
        data={
            "target": timer.target,
            "policy": policy.name,
            "actions": actions,
            "supervisors": True,  # channels_app.email.notices mails them; the board shows it
            "customer_owner": ticket.customer.owner_id,
        },
        # The CRM owner of the customer is told on their socket even if the ticket is not theirs.
        notify=[ticket.customer.owner_id] if ticket.customer.owner_id else (),
    )


def _fire(*, pk: int, fire_at: datetime, now: datetime) -> int:
    fired = 0
    with transaction.atomic():
        timer = SlaTimer.objects.select_related("ticket", "policy").filter(pk=pk, fire_at=fire_at).first()
        if timer is None:
            return 0  # recomputed or claimed by another worker since we looked
        data = {"target": timer.target, "due_at": timer.due_at.isoformat(), "policy": getattr(timer.policy, "name", "")}
        if timer.warned_at is None and timer.warn_at is not None and fire_at == timer.warn_at:
            next_fire = timer.due_at
            claimed = SlaTimer.objects.filter(pk=pk, fire_at=fire_at, warned_at__isnull=True).update(
                warned_at=now, fire_at=next_fire
            )
            if not claimed:
                return 0
            ticket_event_record(ticket=timer.ticket, kind="sla.warning", data=data)
            fired += 1
            fire_at = next_fire
        if fire_at is not None and fire_at == timer.due_at and fire_at <= now:
            # Breached at the deadline, not at the sweep: a worker that was down does not move
            # yesterday's breaches into today's compliance.
            claimed = SlaTimer.objects.filter(pk=pk, fire_at=fire_at, breached_at__isnull=True).update(
                breached_at=timer.due_at, fire_at=None, outcome=SlaOutcome.MISSED
            )
            if claimed:
                ticket_event_record(ticket=timer.ticket, kind="sla.breached", data=data)
                fired += 1
                _escalate(timer)
    return fired


def sla_tick(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Fire every warning and breach that has come (each once, across workers and restarts).
    Returns how many fired."""
    now = now or timezone.now()
    due = list(SlaTimer.objects.filter(fire_at__lte=now).order_by("fire_at").values_list("pk", "fire_at")[:limit])
    fired = 0
    for pk, fire_at in due:
        try:
            fired += _fire(pk=pk, fire_at=fire_at, now=now)
        except Exception:  # one bad ticket must not hold up the others' breaches
            logger.exception("SLA timer %s could not fire", pk)
    return fired
