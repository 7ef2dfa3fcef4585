"""Email notices to staff about SLA escalations, through the outbox (the worker sends them).

On `sla.escalated` each supervisor with an email address and the CRM owner of the customer
get one automated notice (kind NOTICE: Auto-Submitted: auto-generated, no auto-replies)."""

from __future__ import annotations

import logging
from email.utils import make_msgid

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.roles import SUPERVISOR
from channels_app.email.outbound import mailbox_for_ticket
from channels_app.models import OutboundEmail, OutboundKind

logger = logging.getLogger(__name__)


def _recipients(ticket) -> list:
    from accounts.models import User

    supervisors = Q(groups__role__code=SUPERVISOR)
    owner_id = ticket.customer.owner_id
    users = User.objects.filter(is_active=True).filter(supervisors | Q(pk=owner_id or 0)).exclude(email="")
    result = []
    for user in users.distinct().order_by("pk"):
        try:
            validate_email(user.email)
        except ValidationError:
            continue
        result.append(user)
    return result


def _notice_text(ticket, data: dict) -> tuple[str, str]:
    actions = data.get("actions") or {}
    lines = [
        _("Ticket #%(number)s “%(subject)s” breached its SLA target “%(target)s” (policy %(policy)s).")
        % {
            "number": ticket.number,
            "subject": ticket.subject,
            "target": data.get("target", ""),
            "policy": data.get("policy", ""),
        }
    ]
    if actions.get("priority"):
        lines.append(_("The priority was raised to %(priority)s.") % {"priority": actions["priority"]})
    if actions.get("queue"):
        lines.append(_("The ticket was moved to another queue."))
    lines.append(_("Customer: %(customer)s") % {"customer": ticket.customer})
    lines.append("")
    lines.append(_("This is an automated notice; please do not reply."))
    subject = _("SLA escalation: ticket #%(number)s") % {"number": ticket.number}
    return subject, "\n".join(lines)


def sla_escalation_notice_queue(*, ticket, data: dict) -> list[OutboundEmail]:
    """Queue one notice per recipient of the escalation; none when no mailbox can send them (they would
    only fail: the escalation itself stays on the ticket and the SLA board)."""
    mailbox = mailbox_for_ticket(ticket)
    if mailbox is None:
        logger.debug("No active mailbox: no email notice for the SLA escalation of ticket %s", ticket.pk)
        return []
    domain = mailbox.from_address.rsplit("@", 1)[-1] or "localhost"
    queued = []
    for user in _recipients(ticket):
        with translation.override(getattr(user, "language", "") or None):
            subject, body = _notice_text(ticket, data)
        queued.append(
            OutboundEmail.objects.create(
                ticket=ticket,
                kind=OutboundKind.NOTICE,
                to_address=user.email,
                subject=subject[:300],
                body_text=body,
                mailbox=mailbox,
                email_id=make_msgid(idstring=f"ticket{ticket.number}.sla", domain=domain),
            )
        )
    return queued


def on_ticket_event(sender, event, ticket, **kwargs) -> None:
    if event.kind != "sla.escalated":
        return
    try:
        sla_escalation_notice_queue(ticket=ticket, data=event.data or {})
    except Exception:  # the escalation itself must stand even if no notice can be queued
        logger.exception("SLA escalation notice for ticket %s could not be queued", ticket.pk)


def connect() -> None:
    from ticketing.events import ticket_event_recorded

    ticket_event_recorded.connect(on_ticket_event, dispatch_uid="email_sla_escalation_notice")
