"""Real worker processes: breaches missed while no worker ran fire once at start, a killed
worker's restart fires nothing twice, and two workers never fire the same breach twice."""

import signal
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests import factories
from tests.processes import manage, wait_for
from ticketing.models import SlaPolicy, SlaTimer, TicketEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TARGETS = {"normal": {"first_response": 60, "resolution": 480}}


def overdue_tickets(count: int) -> list:
    customer = factories.person()
    past = timezone.now() - timedelta(days=2)
    return [factories.ticket(customer=customer, created_at=past) for _ in range(count)]


def fired_per_timer() -> Counter:
    return Counter(
        (event.ticket_id, event.kind, event.data["target"])
        for event in TicketEvent.objects.filter(kind__in=["sla.warning", "sla.breached"])
    )


def all_breached() -> bool:
    return not SlaTimer.objects.filter(breached_at__isnull=True).exists()


def stop(process) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except Exception:
            process.kill()


def test_killed_worker_restarts_and_fires_what_it_missed_once():
    SlaPolicy.objects.create(name="Standard", targets=TARGETS, warn_percent=75)
    overdue_tickets(3)
    first = manage("run_worker", "--only", "sla_tick")
    try:
        wait_for(all_breached, what="the first worker to fire the breaches due at its start")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        stop(first)
    overdue_tickets(3)  # came due while no worker ran
    second = manage("run_worker", "--only", "sla_tick")
    try:
        wait_for(all_breached, what="the restarted worker to fire the missed breaches")
    finally:
        stop(second)
    fired = fired_per_timer()
    assert len(fired) == 6 * 2 * 2  # 6 tickets × (first response, resolution) × (warning, breach)
    assert set(fired.values()) == {1}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent workers: PostgreSQL")
def test_two_workers_never_fire_the_same_breach_twice(tmp_path):
    SlaPolicy.objects.create(name="Standard", targets=TARGETS, warn_percent=75)
    logs = [tmp_path / f"worker{n}.log" for n in range(2)]
    workers = [manage("sla_tick", "--every", "0.02", stdout=log.open("w")) for log in logs]
    try:
        # Both sweep before anything is due, then race for each timer as the tickets arrive.
        wait_for(lambda: all("sweeping" in log.read_text() for log in logs), what="both workers to sweep")
        overdue_tickets(40)
        wait_for(all_breached, timeout=60, what="the two workers to fire every breach")
    finally:
        for worker in workers:
            stop(worker)
    fired = fired_per_timer()
    assert len(fired) == 40 * 2 * 2
    assert set(fired.values()) == {1}
    claimed = [
        sum(int(line.split()[1]) for line in log.read_text().splitlines() if line.startswith("fired")) for log in logs
    ]
    assert sum(claimed) == 40 * 2 * 2, claimed
