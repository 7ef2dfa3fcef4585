"""Duties of the worker for tickets."""

from contact_center.worker import duty
from ticketing.sla.services import sla_tick


@duty("sla_tick", every=1)
def sla_tick_duty() -> int:
    """Fire the SLA warnings and breaches that have come; each once, in whichever worker claims it."""
    return sla_tick()
