"""Routing rules of the demo: a Chinese billing email goes to the zh billing agent (agent1),
an English chat to an English agent (agent2); busy agents make tickets overflow by the steps.

`demo_routing_ensure()` runs at the end of the demo seed. Idempotent: rules and steps are
created once and left as an administrator may have changed them afterwards."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Skill
from routing.models import QueueRouting, RoutingStep, TicketRouting
from ticketing.models import Queue, Ticket

# queue name → (rule fields, [(after seconds, step target)])
RULES = {
    "VIP 专线 VIP line": (
        {
            "priority": 20,
            "customer_tags": ["VIP"],
            "target": "vip >= 2",
            "skill": "vip",
            "offer_timeout_seconds": 20,
        },
        [(60, "billing >= 3 or technical >= 3")],
    ),
    "退换货 Returns": (
        {"priority": 15, "customer_tags": ["退货", "returns"], "target": "returns >= 2", "skill": "returns"},
        [(120, "returns >= 1 or billing >= 3")],
    ),
    "账务 Billing": (
        {
            "priority": 10,
            "languages": ["zh"],
            "target": 'billing >= 3 and "zh" in languages',
            "skill": "billing",
        },
        [(120, "billing >= 1"), (300, "billing >= 1 or technical >= 1 or returns >= 1")],
    ),
    "技术支持 Technical": (
        {
            "priority": 5,
            "languages": ["en"],
            "target": '"en" in languages',
            "skill": "technical",
            "ring_count": 1,
            "offer_timeout_seconds": 20,
            "return_chats_on_offline": True,
        },
        [(60, "technical >= 1"), (180, '"en" in languages or billing >= 1')],
    ),
}


@transaction.atomic
def demo_routing_ensure() -> int:
    """Create the demo's routing rules that are missing; returns how many were created."""
    created = 0
    skills = {s.code: s for s in Skill.objects.all()}
    for name, (fields, steps) in RULES.items():
        queue = Queue.objects.filter(name=name).first()
        if queue is None:
            continue
        values = dict(fields)
        values["skill"] = skills.get(values.get("skill"))
        rule, made = QueueRouting.objects.get_or_create(queue=queue, defaults=values)
        if made:
            created += 1
            RoutingStep.objects.bulk_create(
                [
                    RoutingStep(rule=rule, position=n, after_seconds=after, target=target)
                    for n, (after, target) in enumerate(steps, start=1)
                ]
            )
    # The seeded history is not routed afresh: mark every existing ticket as seen by routing.
    seen = TicketRouting.objects.values("pk")
    TicketRouting.objects.bulk_create(
        [TicketRouting(ticket_id=pk) for pk in Ticket.objects.exclude(pk__in=seen).values_list("pk", flat=True)],
        batch_size=500,
    )
    return created
