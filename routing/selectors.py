"""Reads for explain and the supervisor board."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from routing.models import Offer, OfferStatus, QueueRouting, RoutingDecision, TicketRouting
from ticketing.models import Queue, Ticket


def _matched_by(rule: QueueRouting) -> list[str]:
    parts = []
    for label, values in (
        (_("channel"), rule.channels),
        (_("language"), rule.languages),
        (_("priority"), rule.priorities),
        (_("tags"), rule.customer_tags),
    ):
        if values:
            parts.append(f"{label}: {', '.join(values)}")
    companies = [str(c) for c in rule.companies.all()]
    if companies:
        parts.append(f"{_('company')}: {', '.join(companies)}")
    return parts or [_("any ticket")]


def ticket_explain(ticket: Ticket) -> dict:
    routing = TicketRouting.objects.filter(pk=ticket.pk).select_related("rule").first()
    queue = ticket.queue
    rule = QueueRouting.objects.filter(queue_id=ticket.queue_id).first() if ticket.queue_id else None
    offers = Offer.objects.filter(ticket=ticket).select_related("agent").order_by("created_at", "id")
    return {
        "queue": {"id": queue.id, "name": queue.name, "team": queue.team_id} if queue else None,
        "rule": {
            "id": rule.id,
            "target": rule.target or _("members of the queue's team"),
            "strategy": rule.strategy,
            "matched_by": _matched_by(rule),
        }
        if rule
        else None,
        "waiting_since": routing.waiting_since if routing else None,
        "decisions": [
            {"at": d.at, "step": d.step, "candidates": d.candidates}
            for d in RoutingDecision.objects.filter(ticket=ticket).order_by("at", "id")[:100]
        ],
        "offers": [
            {
                "id": o.id,
                "agent": o.agent_id,
                "agent_name": str(o.agent),
                "status": o.status,
                "created_at": o.created_at,
                "decided_at": o.decided_at,
            }
            for o in offers
        ],
    }


def queue_stats(*, since: dt.datetime | None = None) -> list[dict]:
    """Per routed queue: waiting now, longest wait, offers since `since` (default 24 h), speed of answer."""
    now = timezone.now()
    since = since or now - dt.timedelta(hours=24)
    queues = Queue.objects.filter(routing__isnull=False).order_by("name")
    waiting = {
        row["ticket__queue_id"]: row
        for row in TicketRouting.objects.filter(waiting_since__isnull=False)
        .values("ticket__queue_id")
        .annotate(n=Count("pk"), oldest=Min("waiting_since"))
        .order_by()
    }
    offers: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in (
        Offer.objects.filter(created_at__gte=since).values("queue_id", "status").annotate(n=Count("id")).order_by()
    ):
        offers[row["queue_id"]]["made"] += row["n"]
        offers[row["queue_id"]][row["status"]] += row["n"]
    answers: dict[int, list[float]] = defaultdict(list)
    accepted = Offer.objects.filter(status=OfferStatus.ACCEPTED, decided_at__gte=since).values_list(
        "queue_id", "decided_at", "ticket__created_at"
    )
    for queue_id, decided_at, created_at in accepted[:50_000]:
        answers[queue_id].append((decided_at - created_at).total_seconds())
    rows = []
    for queue in queues:
        w = waiting.get(queue.id)
        made = offers.get(queue.id, {})
        speeds = answers.get(queue.id)
        rows.append(
            {
                "queue": queue.id,
                "name": queue.name,
                "waiting": w["n"] if w else 0,
                "longest_wait_seconds": int((now - w["oldest"]).total_seconds()) if w else 0,
                "offers_made": made.get("made", 0),
                "offers_accepted": made.get(OfferStatus.ACCEPTED, 0),
                "offers_declined": made.get(OfferStatus.DECLINED, 0),
                "offers_expired": made.get(OfferStatus.EXPIRED, 0),
                "average_speed_of_answer_seconds": round(sum(speeds) / len(speeds), 1) if speeds else None,
            }
        )
    return rows
