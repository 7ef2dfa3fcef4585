"""Routing actions: place a ticket in its queue, offer it, accept, decline, expire, sweep.

Lock order, everywhere: Ticket row → TicketRouting row → AgentProfile / Offer rows.
Accepting holds the ticket (FOR UPDATE, as ticketing's services do), its routing row
and the agent's profile; making, declining, expiring or withdrawing an offer first
takes the ticket's KEY SHARE lock (the one the offer's and event's foreign keys need
at commit), then the routing row and one agent's profile.
Capacity is counted under the profile lock, so two processes never both fill the
last slot; an offer is accepted by a conditional UPDATE from pending.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Case, Count, DateTimeField, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AgentProfile, Presence, User
from routing.expressions import expression_parse, expression_skills
from routing.models import Offer, OfferStatus, QueueRouting, RoutingDecision, TicketRouting
from routing.publish import offer_event_record, offer_events_record
from routing.selection import AgentState, Tier, capacity_channel, rank, tier_for_team, tier_from_expression
from routing.snapshot import CLOSED, agent_load, agents_load, agents_snapshot
from ticketing.models import Priority, Ticket
from ticketing.services import ticket_assign

logger = logging.getLogger(__name__)
PRIORITY_RANK = {Priority.URGENT: 4, Priority.HIGH: 3, Priority.NORMAL: 2, Priority.LOW: 1}
DECISION_CANDIDATES_KEPT = 15
LOCK_AHEAD = 4  # agents whose profiles the sweep locks and counts in one go
_routing_now = contextvars.ContextVar("routing_own_writes", default=False)


@contextmanager
def own_writes():
    """Events routing causes itself (moving a ticket to its queue, assigning on accept) trigger no re-routing."""
    token = _routing_now.set(True)
    try:
        yield
    finally:
        _routing_now.reset(token)


def routing_busy() -> bool:
    return _routing_now.get()


# ---------------------------------------------------------------- queue matching


def _language(code: str) -> str:
    return (code or "").lower().split("-")[0]


def rule_matches(rule: QueueRouting, ticket: Ticket, tags: set[str]) -> bool:
    if rule.channels and ticket.channel not in rule.channels:
        return False
    if rule.languages and _language(ticket.language) not in {_language(x) for x in rule.languages}:
        return False
    if rule.priorities and ticket.priority not in rule.priorities:
        return False
    if rule.customer_tags and not tags & {t.lower() for t in rule.customer_tags}:
        return False
    company_ids = {c.id for c in rule.companies.all()}
    return not company_ids or ticket.company_id in company_ids


def _active_rules() -> list[QueueRouting]:
    """The active rules in matching order (queue priority), with what matching reads."""
    return list(QueueRouting.objects.filter(is_active=True).prefetch_related("companies").select_related("queue"))


def rule_match(ticket: Ticket, rules: list[QueueRouting] | None = None) -> QueueRouting | None:
    """The first active rule (by queue priority) whose conditions the ticket meets. `rules`: `_active_rules()`
    already read."""
    rules = _active_rules() if rules is None else rules
    if not rules:
        return None
    tags = {t.lower() for t in ticket.tags.values_list("name", flat=True)}
    tags |= {t.lower() for t in ticket.customer.tags.values_list("name", flat=True)}
    return next((rule for rule in rules if rule_matches(rule, ticket, tags)), None)


def _placement(ticket: Ticket, rules: list[QueueRouting] | None, now) -> TicketRouting:
    """Where routing first puts a ticket (read under its lock; not saved). The rules place tickets that
    arrive in no queue, the default queue or a queue without routing (a ticket put in a routed queue on
    purpose, by the API or a mailbox's queue, stays there): moved to the first matching rule's queue.
    Unassigned and open in a routed queue, it waits from now on (what _waiting_start decides).
    `rules`: `_active_rules()` already read, or None to read them only if the ticket can wait."""
    if ticket.assignee_id is not None or not ticket.is_open:
        return TicketRouting(ticket_id=ticket.pk, rule=None, waiting_since=None)
    rules = _active_rules() if rules is None else rules
    by_queue = {rule.queue_id: rule for rule in rules}
    rule = None
    if ticket.queue_id is None or ticket.queue.is_default or ticket.queue_id not in by_queue:
        rule = rule_match(ticket, rules)
        if rule is not None and rule.queue_id != ticket.queue_id:
            with own_writes():
                ticket_assign(ticket=ticket, agent=None, by=None, queue=rule.queue)
    if rule is None:
        rule = by_queue.get(ticket.queue_id)
    return TicketRouting(ticket_id=ticket.pk, rule=rule, waiting_since=now if rule is not None else None)


def _routing_ensure(ticket: Ticket) -> TicketRouting:
    """First time routing sees a ticket: move it to the queue whose conditions it meets.
    Decided on the ticket as it is under its lock: the caller's copy may predate an assignment
    (a supervisor, or an accept after another process placed it), and moving that copy to a
    queue with `ticket_assign(agent=None)` would take the ticket away from its agent."""
    existing = TicketRouting.objects.filter(pk=ticket.pk).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update(of=("self",)).select_related("customer", "queue").get(pk=ticket.pk)
        existing = TicketRouting.objects.filter(pk=ticket.pk).first()
        if existing is not None:
            return existing  # another process placed it while we waited for the lock
        routing = _placement(ticket, None, timezone.now())
        routing.save(force_insert=True)
        return routing


def routings_place(ticket_ids) -> tuple[set[int], bool]:
    """`_routing_ensure` for many tickets in one transaction (a poller's batch of new tickets): the ids
    placed now, those routing had never seen, and whether any of them waits. The rules are read once;
    the others (already placed) are left to `ticket_route`."""
    ids = set(ticket_ids) - set(TicketRouting.objects.filter(pk__in=list(ticket_ids)).values_list("pk", flat=True))
    if not ids:
        return set(), False
    with transaction.atomic():
        tickets = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("customer", "queue")
            .filter(pk__in=ids)
            .order_by("pk")
        )
        tickets = list(tickets)
        placed = set(TicketRouting.objects.filter(pk__in=ids).values_list("pk", flat=True))  # by another process
        rules, now = _active_rules(), timezone.now()
        rows = [_placement(ticket, rules, now) for ticket in tickets if ticket.pk not in placed]
        TicketRouting.objects.bulk_create(rows)
    return {row.ticket_id for row in rows}, any(row.rule_id is not None for row in rows)


def _waiting_start(routing: TicketRouting) -> None:
    """Start the ticket's wait, deciding on the ticket as it is under the locks: the caller's copy may
    predate an accept (another process offered the ticket and the agent took it meanwhile), and a ticket
    that is taken or closed must never wait again (the sweep would pass over it and it would wait forever)."""
    with transaction.atomic():
        _ticket_key_share(routing.pk)
        current = TicketRouting.objects.select_for_update().filter(pk=routing.pk).first()
        ticket = Ticket.objects.select_related("queue").get(pk=routing.pk)
        rule = _queue_rule(ticket) if ticket.assignee_id is None and ticket.is_open else None
        if current is not None and current.waiting_since is None and rule is not None:
            TicketRouting.objects.filter(pk=routing.pk).update(waiting_since=timezone.now(), rule=rule)
    routing.refresh_from_db()


def _queue_rule(ticket: Ticket) -> QueueRouting | None:
    if ticket.queue_id is None:
        return None
    return (
        QueueRouting.objects.filter(queue_id=ticket.queue_id, is_active=True).select_related("queue", "skill").first()
    )


# ---------------------------------------------------------------- selection


def rule_tiers(rule: QueueRouting) -> list[Tier]:
    tree = expression_parse(rule.target)
    tiers = [
        tier_from_expression(_("the queue target"), 0, tree)
        if tree is not None
        else tier_for_team(_("the queue's team"), rule.queue.team_id)
    ]
    for step in rule.steps.all():
        label = _("step %(position)d (after %(seconds)d s)") % {
            "position": step.position,
            "seconds": step.after_seconds,
        }
        tiers.append(tier_from_expression(label, step.after_seconds, expression_parse(step.target)))
    return tiers


def rule_ranking_skills(rule: QueueRouting) -> list[str]:
    if rule.skill_id:
        return [rule.skill.code]
    return sorted(expression_skills(expression_parse(rule.target)))


@dataclass
class RuleView:
    rule: QueueRouting
    tiers: list[Tier]
    skills: list[str]
    matches: dict = field(default_factory=dict)  # agent id → tiers matched (agents don't change within a sweep)


def _rule_view(rule: QueueRouting, cache: dict | None = None) -> RuleView:
    if cache is not None and rule.pk in cache:
        return cache[rule.pk]
    view = RuleView(rule, rule_tiers(rule), rule_ranking_skills(rule))
    if cache is not None:
        cache[rule.pk] = view
    return view


def _offers_of(ticket_id: int, cooldown: int, now) -> tuple[int, set[int]]:
    """The ticket's pending offers (how many) and the agents who declined or missed it within `cooldown`."""
    pending, missed = 0, set()
    for status, agent_id in Offer.objects.filter(
        Q(status=OfferStatus.PENDING)
        | Q(
            status__in=[OfferStatus.DECLINED, OfferStatus.EXPIRED], decided_at__gte=now - dt.timedelta(seconds=cooldown)
        ),
        ticket_id=ticket_id,
    ).values_list("status", "agent_id"):
        if status == OfferStatus.PENDING:
            pending += 1
        else:
            missed.add(agent_id)
    return pending, missed


def _decision(routing: TicketRouting, ticket: Ticket, view: RuleView, judged, waited: float, now):
    """What was considered, unless it is the same picture as last time (the sweep looks every second):
    an unsaved RoutingDecision and the routing row with its new signature, or None."""
    reached = [tier.label for tier in view.tiers if tier.after_seconds <= waited]
    eligible = [c.agent.id for c in judged if c.eligible]
    signature = hashlib.sha256(repr((reached[-1], eligible[:10])).encode()).hexdigest()
    if signature == routing.last_signature:
        return None
    routing.last_signature = signature
    decision = RoutingDecision(
        ticket_id=ticket.pk,
        at=now,
        queue_id=ticket.queue_id,
        step=reached[-1],
        candidates=[c.as_dict() for c in judged[:DECISION_CANDIDATES_KEPT]],
    )
    return decision, routing


def _decision_write(decisions: list) -> None:
    """Write the one (decision, routing row) `decisions` may hold, and empty it."""
    if decisions:
        decision, routing = decisions.pop()
        decision.save()
        TicketRouting.objects.filter(pk=routing.pk).update(last_signature=routing.last_signature)


# ---------------------------------------------------------------- offers


def _ticket_key_share(ticket_id: int, *, skip_locked: bool = False) -> bool:
    """Take the ticket row's KEY SHARE lock first (PostgreSQL): the lock the foreign-key checks of our
    offer and event rows would take at commit anyway. Taken up front, it keeps the one lock order
    (ticket → routing row → agent profile / offer rows) that offer_accept and ticketing's
    SELECT … FOR UPDATE follow, so a decline or an expiry never deadlocks with an accept.
    False when skip_locked and someone holds the ticket. SQLite serializes writers instead."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute(_KEY_SHARE_SKIP_LOCKED if skip_locked else _KEY_SHARE, [ticket_id])
        return cursor.fetchone() is not None


_KEY_SHARE = f'SELECT 1 FROM "{Ticket._meta.db_table}" WHERE id = %s FOR KEY SHARE'  # noqa: S608 (a model's table)
_KEY_SHARE_SKIP_LOCKED = _KEY_SHARE + " SKIP LOCKED"


def _event(offer: Offer, ticket: Ticket, kind: str, actor=None) -> None:
    offer_event_record(ticket=ticket, kind=kind, actor=actor, data=_event_data(offer), notify=[offer.agent_id])


def _event_data(offer: Offer) -> dict:
    return {"offer": offer.pk, "expires_at": offer.expires_at.isoformat(), "queue": offer.queue_id}


def _stop_waiting(routing: TicketRouting, ticket: Ticket, reason_kind: str = "offer.withdrawn") -> None:
    _ticket_key_share(ticket.pk)  # the lock order: ticket before its routing row
    if routing.waiting_since is not None:
        TicketRouting.objects.filter(pk=routing.pk).update(waiting_since=None)
        routing.waiting_since = None
    _offers_withdraw(Offer.objects.filter(ticket_id=ticket.pk, status=OfferStatus.PENDING), ticket=ticket)


def _offers_withdraw(offers, *, ticket: Ticket | None = None) -> list[int]:
    """Withdraw pending offers (each by a conditional update); returns the tickets concerned."""
    tickets = []
    for offer in list(offers.select_related("ticket")):
        with transaction.atomic():
            _ticket_key_share(offer.ticket_id)
            if Offer.objects.filter(pk=offer.pk, status=OfferStatus.PENDING).update(
                status=OfferStatus.WITHDRAWN, decided_at=timezone.now()
            ):
                _event(offer, ticket or offer.ticket, "offer.withdrawn")
                tickets.append(offer.ticket_id)
    return tickets


def _offer_try(
    ticket_id: int, agent: AgentState, rule: QueueRouting, *, skip_locked: bool, decisions: list | None = None
) -> Offer | None:
    """One short transaction: re-check the ticket and the agent under locks, then create the offer.
    The ranking's decision, if one waits in `decisions`, is written in it too (a commit less)."""
    with transaction.atomic():
        if not _ticket_key_share(ticket_id, skip_locked=skip_locked):
            return None
        _decision_write(decisions)
        routing = TicketRouting.objects.select_for_update(skip_locked=skip_locked).filter(pk=ticket_id).first()
        if routing is None or routing.waiting_since is None:
            return None
        ticket = Ticket.objects.get(pk=ticket_id)
        if ticket.assignee_id is not None or not ticket.is_open:
            return None
        ringing = list(
            Offer.objects.filter(ticket_id=ticket_id, status=OfferStatus.PENDING).values_list("agent_id", flat=True)
        )
        if len(ringing) >= max(rule.ring_count, 1) or agent.id in ringing:
            return None
        profile = AgentProfile.objects.select_for_update().filter(user_id=agent.id).first()
        channel = capacity_channel(ticket.channel)
        if profile is None or profile.presence != Presence.ONLINE:
            agent.presence = profile.presence if profile else Presence.OFFLINE
            return None
        load = agent_load(agent.id, channel)
        agent.load[channel] = load
        if load >= profile.capacity_for(channel):
            return None
        now = timezone.now()
        offer = Offer.objects.create(
            ticket_id=ticket_id,
            agent_id=agent.id,
            queue_id=ticket.queue_id,
            channel=ticket.channel,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=rule.offer_timeout_seconds or 30),
        )
        _event(offer, ticket, "offer.created")
        agent.load[channel] = load + 1
        agent.last_offered_at = now
        return offer


def _offer_next(
    routing: TicketRouting,
    *,
    ticket: Ticket | None = None,
    agents: list[AgentState] | None = None,
    views: dict | None = None,
    sweep: bool = False,
) -> list[Offer]:
    """Rank the agents for the ticket and offer it to the best free one(s). `ticket`: a copy just read
    (the offer's transaction re-checks it under the locks)."""
    if ticket is None:
        ticket = Ticket.objects.select_related("queue").get(pk=routing.pk)
    rule = _queue_rule(ticket)
    if rule is None or ticket.assignee_id is not None or not ticket.is_open:
        with transaction.atomic():
            # Decide on the ticket as it is under the locks: the copy may predate its return to the
            # queue and a new offer, which stopping now would withdraw, leaving it neither waiting nor offered.
            _ticket_key_share(routing.pk)
            TicketRouting.objects.select_for_update().filter(pk=routing.pk).first()
            routing.refresh_from_db()
            ticket = Ticket.objects.select_related("queue").get(pk=routing.pk)
            rule = _queue_rule(ticket)
            if rule is None or ticket.assignee_id is not None or not ticket.is_open:
                _stop_waiting(routing, ticket)
                return []
    if routing.waiting_since is None:
        _waiting_start(routing)
        if routing.waiting_since is None:
            return []  # taken or closed since we read it
    now = timezone.now()
    if routing.rule_id != rule.pk:
        TicketRouting.objects.filter(pk=routing.pk).update(rule=rule)
    pending, missed = _offers_of(ticket.pk, rule.offer_timeout_seconds or 30, now)
    slots = max(rule.ring_count, 1) - pending
    if slots <= 0:
        return []
    view = _rule_view(rule, views)
    if agents is None:
        agents = agents_snapshot(with_last_offer=rule.strategy == "round_robin")
    waited = (now - routing.waiting_since).total_seconds()
    judged = rank(
        agents,
        tiers=view.tiers,
        channel=ticket.channel,
        ranking_skills=view.skills,
        strategy=rule.strategy,
        waited_seconds=waited,
        excluded=missed,
        now=now,
    )
    made = _decision(routing, ticket, view, judged, waited, now)
    decisions = [made] if made is not None else []
    offers = []
    for candidate in judged:
        if not candidate.eligible or len(offers) >= slots:
            break
        try:
            offer = _offer_try(ticket.pk, candidate.agent, rule, skip_locked=sweep, decisions=decisions)
        except DatabaseError:  # a deadlock victim or busy database: the sweep tries again in a second
            logger.warning("Offer of ticket %s to agent %s failed; will retry", ticket.pk, candidate.agent.id)
            break
        if offer is not None:
            offers.append(offer)
    if decisions:  # no offer transaction took it
        with transaction.atomic():
            _decision_write(decisions)
    return offers


def ticket_route(ticket: Ticket) -> list[Offer]:
    """Place the ticket in its queue (first time), then offer it to the best free agent(s) if it waits."""
    ticket = Ticket.objects.select_related("customer", "queue").filter(pk=ticket.pk).first()
    if ticket is None:
        return []  # deleted (merged away) since the event
    routing = _routing_ensure(ticket)
    ticket.refresh_from_db(fields=["queue"])  # placing it may have moved it
    if routing.waiting_since is None and ticket.assignee_id is None and ticket.is_open:
        _waiting_start(routing)
    if _older_waiting(routing, ticket):
        before = set(Offer.objects.filter(ticket_id=ticket.pk, status=OfferStatus.PENDING).values_list("pk", flat=True))
        routing_sweep(limit=200)  # serve in order: older and higher-priority tickets first
        return list(Offer.objects.filter(ticket_id=ticket.pk, status=OfferStatus.PENDING).exclude(pk__in=before))
    return _offer_next(routing, ticket=ticket)


def _older_waiting(routing: TicketRouting, ticket: Ticket) -> bool:
    """Another ticket of the same queue waits longer with no offer: the sweep's order decides, not arrival."""
    if ticket.queue_id is None:
        return False
    others = TicketRouting.objects.filter(waiting_since__isnull=False, ticket__queue_id=ticket.queue_id).exclude(
        pk=ticket.pk
    )
    if routing.waiting_since is not None:
        others = others.filter(waiting_since__lt=routing.waiting_since)
    return others.exclude(ticket__offers__status=OfferStatus.PENDING).exists()


def _offer_for(offer: Offer, *, lock_ticket: bool = True) -> tuple[Ticket, Offer]:
    if not lock_ticket:
        _ticket_key_share(offer.ticket_id)
    ticket = (Ticket.objects.select_for_update() if lock_ticket else Ticket.objects).get(pk=offer.ticket_id)
    TicketRouting.objects.select_for_update().filter(pk=ticket.pk).first()
    return ticket, Offer.objects.get(pk=offer.pk)


def _check_decidable(offer: Offer, agent: User, now) -> None:
    if offer.agent_id != agent.pk:
        raise ValidationError({"offer": [_("This offer was made to another agent.")]})
    if offer.status == OfferStatus.EXPIRED or (offer.status == OfferStatus.PENDING and offer.expires_at <= now):
        raise ValidationError({"offer": [_("This offer has expired.")]})
    if offer.status != OfferStatus.PENDING:
        raise ValidationError(
            {"offer": [_("This offer was already %(status)s.") % {"status": OfferStatus(offer.status).label.lower()}]}
        )


def offer_accept(*, offer: Offer, agent: User) -> Ticket:
    """The agent takes the ticket: at most once per offer, never over the agent's capacity."""
    with transaction.atomic():
        ticket, offer = _offer_for(offer)
        now = timezone.now()
        _check_decidable(offer, agent, now)
        profile = AgentProfile.objects.select_for_update().filter(user_id=agent.pk).first()
        if profile is None:
            raise ValidationError({"offer": [_("%(name)s is not an agent.") % {"name": agent}]})
        if ticket.assignee_id is not None or not ticket.is_open:
            raise ValidationError({"offer": [_("This ticket has already been taken.")]})
        channel = capacity_channel(ticket.channel)
        if agent_load(agent.pk, channel, with_offers=False) >= profile.capacity_for(channel):
            raise ValidationError(
                {"offer": [_("You are at your %(channel)s capacity; finish a ticket first.") % {"channel": channel}]}
            )
        if not Offer.objects.filter(pk=offer.pk, status=OfferStatus.PENDING).update(
            status=OfferStatus.ACCEPTED, decided_at=now
        ):
            raise ValidationError({"offer": [_("This offer was already decided.")]})
        offer.status, offer.decided_at = OfferStatus.ACCEPTED, now
        with own_writes():
            ticket = ticket_assign(ticket=ticket, agent=agent, by=agent)
        _event(offer, ticket, "offer.accepted", actor=agent)
        _offers_withdraw(
            Offer.objects.filter(ticket_id=ticket.pk, status=OfferStatus.PENDING).exclude(pk=offer.pk), ticket=ticket
        )
        TicketRouting.objects.filter(pk=ticket.pk).update(
            waiting_since=None, answered_at=Coalesce(F("answered_at"), Value(now))
        )
        return ticket


def _missed_enough(agent_id: int, limit: int) -> bool:
    """The agent's last `limit` offers since their last presence change were all declined or expired."""
    if not limit:
        return False
    profile = AgentProfile.objects.filter(user_id=agent_id).first()
    if profile is None or profile.presence != Presence.ONLINE:
        return False
    last = list(
        Offer.objects.filter(
            agent_id=agent_id,
            decided_at__gte=profile.presence_changed_at,
            status__in=[OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.EXPIRED],
        )
        .order_by("-decided_at", "-id")
        .values_list("status", flat=True)[:limit]
    )
    return len(last) == limit and OfferStatus.ACCEPTED not in last


def _after_miss(offer: Offer) -> None:
    from accounts.services import agent_presence_set

    rule = QueueRouting.objects.filter(queue_id=offer.queue_id).first()
    limit = rule.max_missed_offers if rule else 3
    if _missed_enough(offer.agent_id, limit):
        agent_presence_set(agent=User.objects.get(pk=offer.agent_id), presence=Presence.AWAY)


def offer_decline(*, offer: Offer, agent: User) -> Offer:
    with transaction.atomic():
        ticket, offer = _offer_for(offer, lock_ticket=False)
        now = timezone.now()
        _check_decidable(offer, agent, now)
        if not Offer.objects.filter(pk=offer.pk, status=OfferStatus.PENDING).update(
            status=OfferStatus.DECLINED, decided_at=now
        ):
            raise ValidationError({"offer": [_("This offer was already decided.")]})
        offer.status, offer.decided_at = OfferStatus.DECLINED, now
        _event(offer, ticket, "offer.declined", actor=agent)
    _after_miss(offer)
    _route_later([offer.ticket_id])
    return offer


def offers_expire(*, limit: int = 500) -> int:
    """Expire the pending offers whose time has come (each once, whichever worker gets it), then route again."""
    now = timezone.now()
    due = list(Offer.objects.filter(status=OfferStatus.PENDING, expires_at__lte=now).order_by("expires_at")[:limit])
    expired = []
    for offer in due:
        with transaction.atomic():
            _ticket_key_share(offer.ticket_id)
            if not Offer.objects.filter(pk=offer.pk, status=OfferStatus.PENDING).update(
                status=OfferStatus.EXPIRED, decided_at=now
            ):
                continue
            offer.status, offer.decided_at = OfferStatus.EXPIRED, now
            _event(offer, Ticket.objects.get(pk=offer.ticket_id), "offer.expired")
        expired.append(offer)
    for offer in expired:
        _after_miss(offer)
    _route_later([offer.ticket_id for offer in expired])
    return len(expired)


def _route_later(ticket_ids) -> None:
    """Route after the current transaction commits (now, when there is none)."""
    ids = sorted(set(ticket_ids))
    if ids:
        transaction.on_commit(lambda: _route_ids(ids))


def _route_ids(ticket_ids) -> None:
    for ticket in Ticket.objects.filter(pk__in=ticket_ids):
        try:
            ticket_route(ticket)
        except Exception:  # one ticket's trouble must not stop the others; the sweep retries
            logger.exception("Routing ticket %s failed", ticket.pk)


def _pending_count_subquery():
    return (
        Offer.objects.filter(ticket_id=OuterRef("pk"), status=OfferStatus.PENDING)
        .order_by()
        .values("ticket_id")
        .annotate(n=Count("id"))
        .values("n")
    )


def waiting_tickets():
    """Waiting tickets in service order: queue priority, ticket priority, SLA due time, age."""
    pending = _pending_count_subquery()
    priority_rank = Case(
        *(When(ticket__priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()),
        default=Value(0),
        output_field=IntegerField(),
    )
    return (
        TicketRouting.objects.filter(waiting_since__isnull=False, rule__isnull=False)
        .annotate(pending=Coalesce(Subquery(pending, output_field=IntegerField()), 0), prank=priority_rank)
        .filter(Q(pending__lt=F("rule__ring_count")) | Q(pending=0))
        .order_by(
            F("rule__priority").desc(),
            F("prank").desc(),
            F("ticket__first_response_due_at").asc(nulls_last=True),
            "waiting_since",
            "pk",
        )
    )


def routing_sweep(*, limit: int = 1000, batch: int = 50) -> int:
    """Offer waiting tickets to free agents in the service order; returns offers made.

    Safety net for missed triggers (a crash between commit and on_commit) and the
    clock of the overflow steps. Works in transactions of `batch` tickets; rows another
    process holds are skipped (SKIP LOCKED), so several workers share the work.
    Stops early once no agent has free capacity.
    """
    if not QueueRouting.objects.filter(is_active=True).exists():
        return 0  # nothing is routed here
    made = 0
    # Tickets routing never saw: their trigger was lost (a crash between commit and on_commit).
    # Only recent ones, so the scan stays on the updated_at index and old history is left alone.
    recent = timezone.now() - dt.timedelta(hours=1)
    orphans = Ticket.objects.filter(assignee__isnull=True, routing__isnull=True, updated_at__gte=recent).exclude(
        status__in=CLOSED
    )
    for ticket in orphans.order_by("id")[:100]:
        try:
            made += len(ticket_route(ticket))
        except Exception:
            logger.exception("Routing ticket %s failed", ticket.pk)
    agents = agents_snapshot(with_last_offer=QueueRouting.objects.filter(strategy="round_robin").exists())
    free = _free_channels(agents)
    if not free:
        return made
    rows = list(waiting_tickets().values_list("pk", "ticket__channel", "ticket__queue_id")[:limit])
    rules = {
        r.queue_id: _rule_view(r)
        for r in QueueRouting.objects.filter(is_active=True, queue_id__in={row[2] for row in rows})
        .select_related("queue", "skill")
        .prefetch_related("steps")
    }
    now = timezone.now()
    longest = max((v.rule.offer_timeout_seconds or 30 for v in rules.values()), default=30)
    missed: dict[int, set[int]] = {}
    for ticket_id, agent_id in Offer.objects.filter(
        ticket_id__in=[row[0] for row in rows],
        status__in=[OfferStatus.DECLINED, OfferStatus.EXPIRED],
        decided_at__gte=now - dt.timedelta(seconds=longest),
    ).values_list("ticket_id", "agent_id"):
        missed.setdefault(ticket_id, set()).add(agent_id)
    free_queues = _free_queues(agents, rules)
    position = 0
    while free_queues and position < len(rows):
        chunk = []  # the next `batch` tickets that someone could take now
        while position < len(rows) and len(chunk) < batch:
            row = rows[position]
            position += 1
            if (row[2], capacity_channel(row[1])) in free_queues:
                chunk.append(row)
        if not chunk:
            break
        try:
            made += _sweep_batch(chunk, rules, agents, missed)
        except DatabaseError:  # busy or a deadlock victim: the next round (a second later) goes on
            logger.warning("A routing sweep batch failed; retrying next round", exc_info=True)
        free_queues = _free_queues(agents, rules)
    return made


def _free_queues(agents: list[AgentState], rules: dict[int, RuleView]) -> set[tuple[int, str]]:
    """(queue, capacity channel) pairs where an online agent with room matches one of the queue's tiers
    (a step's too, however long the ticket waited): the tickets of the other pairs can get no offer now."""
    free = set()
    for agent in agents:
        channels = [c for c in agent.capacity if agent.free(c) > 0] if agent.presence == Presence.ONLINE else []
        if not channels:
            continue
        for queue_id, view in rules.items():
            matched = view.matches.get(agent.id)
            if matched is None:
                matched = view.matches[agent.id] = tuple(i for i, tier in enumerate(view.tiers) if tier.matches(agent))
            if matched:
                free.update((queue_id, channel) for channel in channels)
    return free


def _sweep_batch(chunk, rules: dict[int, RuleView], agents: list[AgentState], missed: dict[int, set[int]]) -> int:
    """One transaction for a batch of waiting tickets, in a few statements: lock the tickets' keys and
    routing rows, decide each ticket in the service order, lock each chosen agent's profile and count
    their load under that lock (once per batch, then kept up to date here), and write the offers,
    their events and the decisions in bulk. Every lock is SKIP LOCKED: never wait, never deadlock."""
    locked: dict[int, AgentProfile | None] = {}  # profile rows this transaction holds (None: not available)
    decisions, offers = [], []
    with transaction.atomic():
        now = timezone.now()
        keys = _tickets_key_share([row[0] for row in chunk])  # those being accepted or assigned right now are left
        routings = {
            routing.pk: routing
            for routing in TicketRouting.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("ticket")
            .filter(pk__in=keys, waiting_since__isnull=False)
            .order_by("pk")
        }
        ringing: dict[int, set[int]] = {}  # ringing several agents: don't ring the same one twice
        for ticket_id, agent_id in Offer.objects.filter(
            ticket_id__in=list(routings), status=OfferStatus.PENDING
        ).values_list("ticket_id", "agent_id"):
            ringing.setdefault(ticket_id, set()).add(agent_id)
        for ticket_id, _channel, queue_id in chunk:
            routing = routings.get(ticket_id)
            if routing is None:
                continue
            view = rules[queue_id]
            rule = view.rule
            ticket = routing.ticket
            if ticket.assignee_id is not None or not ticket.is_open:
                _stop_waiting(routing, ticket)  # a wait that outlived its ticket's taking: end it, don't skip it
                continue
            if ticket.queue_id != queue_id:
                continue
            pending = ringing.get(ticket_id, set())
            slots = max(rule.ring_count, 1) - len(pending)
            if slots <= 0:
                continue
            waited = (now - routing.waiting_since).total_seconds()
            judged = rank(
                agents,
                tiers=view.tiers,
                channel=ticket.channel,
                ranking_skills=view.skills,
                strategy=rule.strategy,
                waited_seconds=waited,
                excluded=missed.get(ticket_id, set()) | pending,
                now=now,
                match_cache=view.matches,
            )
            decision = _decision(routing, ticket, view, judged, waited, now)
            if decision is not None:
                decisions.append(decision)
            channel = capacity_channel(ticket.channel)
            for position, candidate in enumerate(judged):
                if not candidate.eligible or slots <= 0:
                    break
                agent = candidate.agent
                if agent.id not in locked:
                    # This agent and the next few candidates, who the following tickets of the queue go to.
                    group = [c.agent for c in judged[position : position + LOCK_AHEAD] if c.eligible]
                    _profiles_lock([a for a in group if a.id not in locked], locked)
                profile = locked[agent.id]
                if profile is None:
                    continue  # another process is deciding for this agent right now
                if profile.presence != Presence.ONLINE:
                    agent.presence = profile.presence
                    continue
                if agent.load.get(channel, 0) >= profile.capacity_for(channel):
                    continue
                offers.append(
                    (
                        Offer(
                            ticket_id=ticket_id,
                            agent_id=agent.id,
                            queue_id=queue_id,
                            channel=ticket.channel,
                            created_at=now,
                            expires_at=now + dt.timedelta(seconds=rule.offer_timeout_seconds or 30),
                        ),
                        ticket,
                    )
                )
                agent.load[channel] = agent.load.get(channel, 0) + 1
                agent.last_offered_at = now
                slots -= 1
        if offers:
            Offer.objects.bulk_create([offer for offer, _ticket in offers])
            offer_events_record(
                [(ticket, "offer.created", _event_data(offer), [offer.agent_id]) for offer, ticket in offers]
            )
        if decisions:
            _decisions_save([d for d, _ in decisions])
            TicketRouting.objects.bulk_update([r for _, r in decisions], ["last_signature"])
    return len(offers)


def _decisions_save(decisions: list[RoutingDecision]) -> None:
    # An expression among the values keeps Django's PostgreSQL bulk insert off UNNEST arrays, whose
    # escaping of the candidates' JSON (in psycopg's Python array dumper) costs a millisecond a row.
    for decision in decisions:
        decision.at = Value(decision.at, output_field=DateTimeField())
    RoutingDecision.objects.bulk_create(decisions)


def _profiles_lock(group: list[AgentState], locked: dict[int, AgentProfile | None]) -> None:
    """Lock the agents' profiles (SKIP LOCKED) and, under those locks, count their loads afresh on every
    channel: from then on this transaction keeps those loads up to date itself."""
    rows = {
        p.user_id: p
        for p in AgentProfile.objects.select_for_update(skip_locked=True)
        .filter(user_id__in=[a.id for a in group])
        .order_by("user_id")
    }
    loads = agents_load(list(rows)) if rows else {}
    for agent in group:
        locked[agent.id] = rows.get(agent.id)
        if agent.id in rows:
            agent.load = dict(loads.get(agent.id, {}))


def _tickets_key_share(ticket_ids: list[int]) -> set[int]:
    """`_ticket_key_share` for many tickets in one statement (SKIP LOCKED); the ids now held."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql" or not ticket_ids:
        return set(ticket_ids)
    with connection.cursor() as cursor:
        cursor.execute(_KEYS_SHARE_SKIP_LOCKED, [list(ticket_ids)])
        return {row[0] for row in cursor.fetchall()}


_KEYS_SHARE_SKIP_LOCKED = (
    f'SELECT id FROM "{Ticket._meta.db_table}" WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE SKIP LOCKED'  # noqa: S608
)


def _free_channels(agents: list[AgentState]) -> set[str]:
    return {c for a in agents if a.presence == Presence.ONLINE for c in a.capacity if a.free(c) > 0}


def waiting_route_for_agent() -> int:
    """An agent became free (online, finished a ticket): serve the waiting tickets."""
    return routing_sweep(limit=200)


def agent_offline_handle(*, agent_id: int, presence: str) -> None:
    """Away or offline: pending offers go back; offline also returns open chats when their queue says so."""
    tickets = _offers_withdraw(Offer.objects.filter(agent_id=agent_id, status=OfferStatus.PENDING))
    if presence == Presence.OFFLINE:
        returning = QueueRouting.objects.filter(return_chats_on_offline=True).values_list("queue_id", flat=True)
        chats = Ticket.objects.filter(assignee_id=agent_id, channel="chat", queue_id__in=list(returning)).exclude(
            status__in=CLOSED
        )
        for ticket in chats:
            ticket_assign(ticket=ticket, agent=None, by=None)  # the event re-routes it
    _route_ids(tickets)


def ticket_transfer(*, ticket: Ticket, by: User, queue=None, agent: User | None = None) -> Ticket:
    """An agent hands their ticket on: to a queue (it waits there and is routed again) or to a
    colleague (who gets an offer, within their capacity). Supervisors assign directly."""
    from django.core.exceptions import PermissionDenied

    if (queue is None) == (agent is None):
        raise ValidationError({"non_field_errors": [_("Transfer to a queue or to an agent.")]})
    supervises = by.has_perm("ticketing.assign_any_ticket")
    if not supervises and ticket.assignee_id != by.pk:
        raise PermissionDenied(_("Only the ticket's assignee or a supervisor may transfer it."))
    if queue is not None:
        return ticket_assign(ticket=ticket, agent=None, by=by, queue=queue)
    if supervises:
        return ticket_assign(ticket=ticket, agent=agent, by=by)
    with transaction.atomic():
        with own_writes():
            ticket = ticket_assign(ticket=ticket, agent=None, by=by)
        routing = _routing_ensure(ticket)
        TicketRouting.objects.filter(pk=routing.pk).update(waiting_since=timezone.now())
        rule = _queue_rule(ticket)
        timeout = rule.offer_timeout_seconds if rule else 30
        state = next((a for a in agents_snapshot() if a.id == agent.pk), None)
        offer = None
        if state is not None and state.presence == Presence.ONLINE:
            terms = QueueRouting(ring_count=1, offer_timeout_seconds=timeout)
            offer = _offer_try(ticket.pk, state, terms, skip_locked=False)
        if offer is None:
            raise ValidationError(
                {"agent": [_("%(name)s is not online or has no free capacity for this ticket.") % {"name": agent}]}
            )
    return Ticket.objects.get(pk=ticket.pk)
