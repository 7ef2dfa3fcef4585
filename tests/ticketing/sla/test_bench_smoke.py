"""bench.sla on tiny data, so the harness cannot rot between full runs (figures come from the full run)."""

import random

from bench import sla as bench
from ticketing.models import SlaPolicy, SlaTimer, Ticket, TicketEvent
from ticketing.sla.services import sla_recompute, sla_tick


def test_grow_tick_recompute_and_the_report(db):
    bench.setup_policies()
    loaded = bench.grow(to=60)
    assert loaded["tickets"] == Ticket.objects.count() == 60
    assert loaded["timers"] == SlaTimer.objects.filter(fire_at__isnull=False).count() == 120
    assert bench.grow(to=80)["tickets"] == 80
    assert Ticket.objects.filter(number__isnull=True).count() == 0

    # The bulk-made timers are what sla_recompute computes: recomputing a ticket changes nothing.
    ticket = Ticket.objects.filter(priority="normal").first()
    before = list(SlaTimer.objects.filter(ticket=ticket).values_list("due_at", "warn_at", "fire_at"))
    sla_recompute(ticket=ticket)
    assert list(SlaTimer.objects.filter(ticket=ticket).values_list("due_at", "warn_at", "fire_at")) == before

    idle = bench.ticks(samples=2, due=0)
    assert idle["samples"] == 2 and idle["fired"] == 0
    due = bench.ticks(samples=2, due=4)
    assert due["fired"] == 2 * 4
    assert TicketEvent.objects.filter(kind="sla.warning").count() == (bench.WARMUP + 2) * 2
    assert TicketEvent.objects.filter(kind="sla.breached").count() == (bench.WARMUP + 2) * 2

    plan = bench.tick_plan()
    # The tick's own query; on a table this small PostgreSQL may rightly prefer a sequential scan.
    assert '"fire_at" <=' in plan["sql"] and "ticketing_slatimer" in plan["plan"]

    rec = bench.recompute()
    urgent = Ticket.objects.filter(sla_policy__name="Urgent")
    assert rec["tickets"] == urgent.count() == 80 // bench.URGENT_EVERY
    assert rec["timers_updated"] == rec["tickets"]
    assert SlaPolicy.objects.get(name="Urgent").targets == bench.URGENT_CHANGED

    step = {**loaded, "idle": idle, "due": due, "plan": plan}
    result = {"database": "sqlite", "steps": [step, step], "recompute": rec, "channel_layer": "InMemoryChannelLayer"}
    cfg = bench.Config(
        quick=True, databases=["sqlite"], sizes=[60, 80], ticks=2, postgres_url="", redis_url="", write=False
    )
    machine = {"nproc": "2", "cpu": "x", "ram": "1 GiB", "os": "Linux", "python": "3", "django": "5", "sqlite": "3"}
    machine["load"] = "0"
    body = bench.render(cfg, [result], machine)
    assert "## SLA" in body and "sla_policy_recompute_tickets" in body and "×1.00 with nothing due" in body


def test_make_due_fires_warnings_and_breaches(db):
    bench.setup_policies()
    bench.grow(to=40)
    picked = bench.make_due(6, rng=random.Random(1))
    assert len(set(picked)) == 6
    assert sla_tick() == 6
    timers = SlaTimer.objects.filter(pk__in=picked)
    assert timers.filter(breached_at__isnull=False).count() == 3
    assert timers.filter(warned_at__isnull=False, breached_at__isnull=True).count() == 3


def test_percentile_is_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert bench._percentile(values, 0.95) == 95.0 and bench._percentile(values, 0.5) == 50.0
