"""Routing configuration (per queue rules and overflow steps) and per-ticket routing state.

Ticketing and accounts own tickets, queues and agents; routing keeps everything it
adds in its own tables, linked one-to-one (QueueRouting, TicketRouting).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from routing.expressions import expression_parse


def _validate_expression(value: str) -> None:
    expression_parse(value)  # raises ValidationError naming the position


class Strategy(models.TextChoices):
    LONGEST_IDLE = "longest_idle", _("Skill level, then longest idle")
    LEAST_BUSY = "least_busy", _("Skill level, then least busy")
    ROUND_ROBIN = "round_robin", _("Round robin")


class QueueRouting(models.Model):
    """How a queue picks its tickets and the agents it offers them to."""

    queue = models.OneToOneField(
        "ticketing.Queue", on_delete=models.CASCADE, related_name="routing", verbose_name=_("queue")
    )
    is_active = models.BooleanField(_("active"), default=True)
    priority = models.IntegerField(
        _("queue priority"), default=0, help_text=_("Higher first: when matching tickets and when serving them.")
    )
    # Ticket selection: an empty list matches anything.
    channels = models.JSONField(_("channels"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True, help_text=_('e.g. ["zh"]'))
    priorities = models.JSONField(_("ticket priorities"), default=list, blank=True)
    customer_tags = models.JSONField(_("customer or ticket tags"), default=list, blank=True)
    companies = models.ManyToManyField("crm.Company", blank=True, related_name="+", verbose_name=_("companies"))
    # Agent target.
    target = models.CharField(
        _("target"),
        max_length=500,
        blank=True,
        validators=[_validate_expression],
        help_text=_('e.g. billing >= 3 and "zh" in languages; empty: members of the queue\'s team'),
    )
    skill = models.ForeignKey(
        "accounts.Skill",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ranking skill"),
        help_text=_("Agents with a higher level of this skill are offered first."),
    )
    strategy = models.CharField(_("strategy"), max_length=20, choices=Strategy.choices, default=Strategy.LONGEST_IDLE)
    offer_timeout_seconds = models.PositiveIntegerField(_("offer timeout (seconds)"), default=30)
    ring_count = models.PositiveSmallIntegerField(
        _("agents offered at once"), default=1, help_text=_("More than one for chat: the first to accept wins.")
    )
    max_missed_offers = models.PositiveSmallIntegerField(
        _("missed offers before away"),
        default=3,
        help_text=_("An agent who declines or lets this many offers in a row expire is set to away (0: never)."),
    )
    return_chats_on_offline = models.BooleanField(_("return open chats when the agent goes offline"), default=False)

    class Meta:
        verbose_name = _("queue routing rule")
        verbose_name_plural = _("queue routing rules")
        ordering = ["-priority", "queue__name"]

    def __str__(self) -> str:
        return str(self.queue)


class RoutingStep(models.Model):
    """Overflow: once a ticket waited `after_seconds`, agents matching `target` are eligible too."""

    rule = models.ForeignKey(QueueRouting, on_delete=models.CASCADE, related_name="steps", verbose_name=_("rule"))
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    after_seconds = models.PositiveIntegerField(_("after waiting (seconds)"))
    target = models.CharField(_("target"), max_length=500, validators=[_validate_expression])

    class Meta:
        verbose_name = _("routing step")
        verbose_name_plural = _("routing steps")
        ordering = ["rule", "after_seconds", "position"]

    def __str__(self) -> str:
        return f"{self.rule} +{self.after_seconds}s: {self.target}"

    def clean(self):
        if not (self.target or "").strip():
            raise ValidationError({"target": [_("A step needs a target.")]})


class TicketRouting(models.Model):
    """The routing state of one ticket: its queue rule and since when it waits (None: not waiting)."""

    ticket = models.OneToOneField(
        "ticketing.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="routing"
    )
    rule = models.ForeignKey(QueueRouting, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    waiting_since = models.DateTimeField(null=True, blank=True, db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    last_signature = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("ticket routing")
        verbose_name_plural = _("ticket routing")

    def __str__(self) -> str:
        return str(self.ticket_id)


class OfferStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Offer(models.Model):
    ticket = models.ForeignKey("ticketing.Ticket", on_delete=models.CASCADE, related_name="offers")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="offers")
    queue = models.ForeignKey("ticketing.Queue", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    channel = models.CharField(max_length=10)
    status = models.CharField(
        _("status"), max_length=10, choices=OfferStatus.choices, default=OfferStatus.PENDING, db_index=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "agent"], condition=models.Q(status="pending"), name="offer_one_pending_per_agent"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="offer_pending_expiry"),
            models.Index(fields=["agent", "status"], name="offer_agent_status"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} → {self.agent_id} ({self.status})"


class RoutingDecision(models.Model):
    """One look at the candidates for a ticket: kept for explain."""

    ticket = models.ForeignKey("ticketing.Ticket", on_delete=models.CASCADE, related_name="routing_decisions")
    at = models.DateTimeField(default=timezone.now)
    queue = models.ForeignKey("ticketing.Queue", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    step = models.CharField(max_length=200, blank=True)
    candidates = models.JSONField(default=list)

    class Meta:
        verbose_name = _("routing decision")
        verbose_name_plural = _("routing decisions")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.at:%H:%M:%S} {self.step}"
