"""Recompute SLA deadlines when the CRM changes what a customer is entitled to.

The CRM services write one timeline entry ("customer_changed" / "company_changed") per saved
change of a person or company (service level, tags, …); the open tickets of that customer or
company are recomputed after the commit. Ticketing listens to CRM, never the other way round."""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)

CRM_CHANGE_KINDS = {"customer_changed", "company_changed"}


def crm_record_changed(sender, instance, created, **kwargs) -> None:
    if not created or instance.kind not in CRM_CHANGE_KINDS:
        return
    person_id, company_id = instance.person_id, instance.company_id
    if instance.kind == "company_changed":
        person_id = None
    transaction.on_commit(lambda: _recompute(person_id=person_id, company_id=company_id))


def _recompute(*, person_id: int | None, company_id: int | None) -> None:
    from django.db.models import Q

    from ticketing.models import Ticket
    from ticketing.sla.services import sla_recompute_open_tickets

    whose = Q(pk__in=[])
    if person_id:
        whose |= Q(customer_id=person_id)
    if company_id:
        whose |= Q(company_id=company_id)
    try:
        sla_recompute_open_tickets(tickets=Ticket.objects.filter(whose).distinct())
    except Exception:  # a CRM save must not fail on the SLA side; the next ticket event recomputes
        logger.exception("SLA recompute after a CRM change failed")


def connect() -> None:
    from django.db.models.signals import post_save

    from crm.models import TimelineEntry

    post_save.connect(crm_record_changed, sender=TimelineEntry, dispatch_uid="sla_crm_record_changed")
