"""Duties of the worker for routing: offer expiry and the routing sweep, every second.

Run one alone with `manage.py run_worker --only offers_expire --once` (or routing_sweep)."""

from contact_center.worker import duty
from routing.services import offers_expire, routing_sweep


@duty("offers_expire", every=1)
def offers_expire_duty() -> int:
    return offers_expire()


@duty("routing_sweep", every=1)
def routing_sweep_duty() -> int:
    """Serve waiting tickets whose trigger was missed, and apply overflow steps as waits grow."""
    return routing_sweep()
