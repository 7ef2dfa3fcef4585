import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Chat")
    VOICE = "voice", _("Phone")
    SMS = "sms", _("SMS")
    WEB = "web", _("Web form")
    API = "api", _("API")


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    ON_HOLD = "on_hold", _("On hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Queue(models.Model):
    """Where waiting tickets line up; belongs to a team, whose members may see them.
    The routing app adds selection rules and routing steps on top."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="queues", verbose_name=_("team"))
    is_default = models.BooleanField(_("default queue"), default=False)
    calendar = models.ForeignKey(
        "BusinessCalendar",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="queues",
        verbose_name=_("business calendar"),
        help_text=_("SLA deadlines of this queue's tickets count in these hours, unless the policy has its own."),
    )

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    number = models.PositiveBigIntegerField(_("number"), unique=True, null=True, editable=False)
    subject = models.CharField(_("subject"), max_length=300)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW, db_index=True)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=10, blank=True)
    customer = models.ForeignKey(
        "crm.Person", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("customer")
    )
    company = models.ForeignKey(
        "crm.Company",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("company"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets", verbose_name=_("queue")
    )
    # The queue's team, kept on the ticket so record scope filters without a join.
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("team"),
    )
    tags = models.ManyToManyField("crm.Tag", blank=True, related_name="tickets", verbose_name=_("tags"))
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_from",
        verbose_name=_("merged into"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    solved_at = models.DateTimeField(_("solved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # SLA: the policy that applies and the running deadlines (None when met, paused or not set),
    # kept by ticketing.sla.services.sla_recompute; the timers themselves are SlaTimer rows.
    sla_policy = models.ForeignKey(
        "SlaPolicy",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("SLA policy"),
    )
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    next_response_due_at = models.DateTimeField(_("next response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-updated_at", "-id"]
        permissions = [
            ("assign_any_ticket", _("Can assign or transfer any ticket")),
            ("merge_ticket", _("Can merge tickets")),
            ("export_ticket", _("Can export tickets")),
        ]
        indexes = [
            models.Index(fields=["-updated_at", "-id"], name="ticket_recent"),
            models.Index(fields=["team", "-updated_at", "-id"], name="ticket_team_recent"),
            models.Index(fields=["assignee", "-updated_at", "-id"], name="ticket_assignee_recent"),
            models.Index(fields=["customer", "-updated_at"], name="ticket_customer_recent"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status not in {Status.SOLVED, Status.CLOSED}


class Direction(models.TextChoices):
    INBOUND = "in", _("From the customer")
    OUTBOUND = "out", _("To the customer")
    INTERNAL = "note", _("Internal note")


class DeliveryStatus(models.TextChoices):
    NONE = "", _("Not applicable")
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket"))
    direction = models.CharField(_("direction"), max_length=4, choices=Direction.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    sender = models.ForeignKey(
        "crm.Identity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("sender"),
    )
    # Id given by the channel (Message-ID, MessageSid, chat client id): ingestion is idempotent on it.
    external_id = models.CharField(_("external id"), max_length=300, null=True, blank=True)
    body_text = models.TextField(_("text"), blank=True)
    body_html = models.TextField(_("HTML (sanitized)"), blank=True)
    delivery_status = models.CharField(
        _("delivery status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.NONE, blank=True
    )
    delivery_error = models.CharField(_("delivery error"), max_length=500, blank=True)
    flagged = models.BooleanField(_("needs attention"), default=False, help_text=_("Could not be read completely."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="message_external_id_once_per_channel",
            )
        ]
        indexes = [models.Index(fields=["ticket", "created_at"], name="message_ticket_time")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} #{self.ticket_id}"

    @property
    def is_public(self) -> bool:
        return self.direction != Direction.INTERNAL


def attachment_path(instance: "Attachment", filename: str) -> str:
    return f"attachments/{instance.sha256[:2]}/{instance.sha256[2:4]}/{instance.sha256}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=150, default="application/octet-stream")
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64, db_index=True)
    file = models.FileField(upload_to=attachment_path, max_length=200, blank=True)
    stored = models.BooleanField(_("stored"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    content_id = models.CharField(max_length=255, blank=True, help_text="MIME Content-ID for inline images")

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename

    @staticmethod
    def digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()


class TicketEvent(models.Model):
    """Every change to a ticket, for its timeline, the audit and live updates."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="ticket_event_time")]

    def __str__(self) -> str:
        return self.kind


class BusinessCalendar(models.Model):
    """Working hours, holidays and make-up working days in which SLA targets are counted."""

    class Country(models.TextChoices):
        NONE = "", _("No public holidays")
        CHINA = "CN", _("Mainland China (statutory holidays and make-up working days)")

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    weekly_hours = models.JSONField(
        _("weekly hours"),
        default=dict,
        help_text=_('For example {"mon": [["09:00", "12:00"], ["13:30", "18:00"]], …}; a day left out is closed.'),
    )
    country = models.CharField(
        _("public holidays of"),
        max_length=10,
        blank=True,
        help_text=_("CN for mainland China with make-up working days; another ISO country code (US, DE, JP…)."),
    )
    subdivision = models.CharField(_("region"), max_length=10, blank=True, help_text=_("For example a US state."))
    holidays = models.JSONField(_("own holidays"), default=list, blank=True, help_text=_("Dates, YYYY-MM-DD."))
    extra_workdays = models.JSONField(
        _("own extra working days"), default=list, blank=True, help_text=_("Dates, YYYY-MM-DD.")
    )

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NextResponseMode(models.TextChoices):
    CUSTOMER_REPLY = "customer_reply", _("After each customer message")
    PERIODIC = "periodic", _("Between agent updates")


class SlaTarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


class SlaPolicy(models.Model):
    """The first active policy (by position) whose conditions a ticket meets sets its targets.
    An empty condition matches everything."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0, help_text=_("Lower positions are tried first."))
    is_active = models.BooleanField(_("active"), default=True)
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    service_levels = models.JSONField(
        _("customer service levels"),
        default=list,
        blank=True,
        help_text=_("Matches the service level of the customer or of their company in the CRM."),
    )
    queues = models.ManyToManyField(Queue, blank=True, related_name="sla_policies", verbose_name=_("queues"))
    customer_tags = models.ManyToManyField(
        "crm.Tag", blank=True, related_name="sla_policies", verbose_name=_("customer tags")
    )
    companies = models.ManyToManyField(
        "crm.Company",
        blank=True,
        related_name="sla_policies",
        verbose_name=_("companies"),
        help_text=_("Matches tickets of these companies."),
    )
    targets = models.JSONField(
        _("targets"),
        default=dict,
        help_text=_(
            'Business minutes per priority and target, for example {"urgent": {"first_response": 30, '
            '"next_response": 60, "resolution": 480}}.'
        ),
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="policies",
        verbose_name=_("business calendar"),
        help_text=_("Empty: the queue's calendar, else its team's, else around the clock."),
    )
    pause_when_pending = models.BooleanField(
        _("pause while pending or on hold"), default=True, help_text=_("The clocks stop while waiting on others.")
    )
    next_response_mode = models.CharField(
        _("next response measured"),
        max_length=20,
        choices=NextResponseMode.choices,
        default=NextResponseMode.CUSTOMER_REPLY,
    )
    warn_percent = models.PositiveSmallIntegerField(_("warn at percent of target"), null=True, blank=True, default=75)
    warn_minutes_before = models.PositiveIntegerField(_("warn minutes before breach"), null=True, blank=True)
    escalate_priority = models.CharField(
        _("on breach raise priority to"), max_length=10, choices=Priority.choices, blank=True
    )
    escalate_queue = models.ForeignKey(
        Queue,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("on breach move to queue"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class SlaOutcome(models.TextChoices):
    RUNNING = "", _("Running")
    MET = "met", _("Met")
    MISSED = "missed", _("Missed")


class SlaTimer(models.Model):
    """One clock of one ticket: first response, resolution, or one next-response cycle.

    `fire_at` is the next instant the worker must act on (the warning, then the breach), or
    None; the sweeper reads only rows with fire_at <= now and claims each with a conditional
    UPDATE, so a warning or breach fires once however many workers run."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_timers")
    policy = models.ForeignKey(SlaPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    target = models.CharField(_("target"), max_length=20, choices=SlaTarget.choices)
    target_minutes = models.PositiveIntegerField(_("target (business minutes)"))
    started_at = models.DateTimeField(_("started at"))
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    warn_at = models.DateTimeField(_("warn at"), null=True, blank=True)
    fire_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    paused_seconds = models.FloatField(_("business seconds paused"), default=0)
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=SlaOutcome.choices, default="", blank=True)

    class Meta:
        verbose_name = _("SLA timer")
        verbose_name_plural = _("SLA timers")
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "target", "started_at"], name="sla_timer_once_per_start")
        ]
        indexes = [
            models.Index(fields=["fire_at"], condition=models.Q(fire_at__isnull=False), name="sla_timer_due"),
            models.Index(fields=["outcome", "started_at"], name="sla_timer_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.get_target_display()} #{self.ticket_id}"


class TicketReadMarker(models.Model):
    """How far an agent has read a ticket: the console counts newer customer messages as unread."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="read_markers")
    last_read_message_id = models.PositiveBigIntegerField(_("last message read"), default=0)
    read_at = models.DateTimeField(_("read at"), default=timezone.now)

    class Meta:
        verbose_name = _("read marker")
        verbose_name_plural = _("read markers")
        constraints = [models.UniqueConstraint(fields=["user", "ticket"], name="ticket_read_marker_once")]

    def __str__(self) -> str:
        return f"{self.user_id} read #{self.ticket_id} to {self.last_read_message_id}"


class CannedResponse(models.Model):
    """A prepared answer the console inserts into the reply box. No team: shared with everyone."""

    title = models.CharField(_("title"), max_length=100)
    shortcut = models.SlugField(
        _("shortcut"), max_length=30, blank=True, help_text=_("Typed after “/” in the reply box.")
    )
    body = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=10, blank=True)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title
