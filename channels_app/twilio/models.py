"""Phone and SMS through Twilio: lines with their IVR, calls, the SMS outbox, agents' phones,
and the receipts that make every webhook idempotent."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contact_center.crypto import EncryptedTextField

e164 = RegexValidator(r"^\+[1-9]\d{6,14}$", _("Enter a number in E.164 form, e.g. +8613800138000."))
HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"


class PhoneLine(models.Model):
    """One Twilio number with its account credentials, greeting, IVR and hours."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    active = models.BooleanField(_("active"), default=True)
    phone_number = models.CharField(_("phone number"), max_length=20, unique=True, validators=[e164])
    account_sid = models.CharField(_("account SID"), max_length=64)
    auth_token = EncryptedTextField(_("auth token"), blank=True)
    # Optional, only for browser calls (Voice SDK access tokens).
    api_key_sid = models.CharField(_("API key SID"), max_length=64, blank=True)
    api_key_secret = EncryptedTextField(_("API key secret"), blank=True)
    twiml_app_sid = models.CharField(_("TwiML app SID"), max_length=64, blank=True)
    public_base_url = models.URLField(
        _("public base URL"),
        blank=True,
        help_text=_(
            "The address Twilio calls, e.g. https://support.example.com (behind a proxy). Empty: the server "
            "setting TWILIO_PUBLIC_BASE_URL."
        ),
    )
    calendar = models.ForeignKey(
        "ticketing.BusinessCalendar",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business hours"),
        help_text=_("Outside these hours callers leave a voicemail. Empty: always open."),
    )
    default_queue = models.ForeignKey(
        "ticketing.Queue",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default queue"),
        help_text=_("For SMS, voicemail after hours and callers who choose nothing."),
    )
    greeting_zh = models.CharField(_("greeting (Chinese)"), max_length=300, blank=True)
    greeting_en = models.CharField(_("greeting (English)"), max_length=300, blank=True)
    greeting_audio_url = models.URLField(
        _("greeting audio URL"), blank=True, help_text=_("An uploaded recording played instead of the spoken greeting.")
    )
    voice_zh = models.CharField(_("voice (Chinese)"), max_length=40, default="alice")
    voice_en = models.CharField(_("voice (English)"), max_length=40, default="Polly.Joanna")
    hold_music_url = models.URLField(_("hold music URL"), blank=True, default=HOLD_MUSIC)
    ring_agent_seconds = models.PositiveSmallIntegerField(
        _("ring the agent for (seconds)"), default=20, help_text=_("Then the caller may leave a voicemail.")
    )
    sms_thread_hours = models.PositiveIntegerField(
        _("SMS thread window (hours)"),
        default=72,
        help_text=_("An SMS joins the sender's open SMS ticket with a message in this many hours."),
    )
    record_calls = models.BooleanField(_("record answered calls"), default=True)

    class Meta:
        verbose_name = _("phone line")
        verbose_name_plural = _("phone lines")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone_number})"


# What a person sets on a line (admin and API alike).
LINE_SETTINGS = (
    "name",
    "active",
    "phone_number",
    "account_sid",
    "auth_token",
    "api_key_sid",
    "api_key_secret",
    "twiml_app_sid",
    "public_base_url",
    "calendar",
    "default_queue",
    "greeting_zh",
    "greeting_en",
    "greeting_audio_url",
    "voice_zh",
    "voice_en",
    "hold_music_url",
    "ring_agent_seconds",
    "sms_thread_hours",
    "record_calls",
)


class IvrOption(models.Model):
    """“Press 1 for sales”: a digit of the line's menu and where it leads."""

    line = models.ForeignKey(PhoneLine, on_delete=models.CASCADE, related_name="options", verbose_name=_("line"))
    digit = models.CharField(_("digit"), max_length=1, validators=[RegexValidator(r"^[1-9]$")])
    label_zh = models.CharField(_("label (Chinese)"), max_length=50)
    label_en = models.CharField(_("label (English)"), max_length=50)
    queue = models.ForeignKey("ticketing.Queue", on_delete=models.PROTECT, related_name="+", verbose_name=_("queue"))
    skill = models.ForeignKey(
        "accounts.Skill",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("skill"),
        help_text=_("Tagged on the ticket, so queue routing rules can use it."),
    )
    max_wait_seconds = models.PositiveIntegerField(
        _("longest wait (seconds)"), default=120, help_text=_("Then the caller is offered voicemail.")
    )

    class Meta:
        verbose_name = _("menu option")
        verbose_name_plural = _("menu options")
        ordering = ["line", "digit"]
        constraints = [models.UniqueConstraint(fields=["line", "digit"], name="ivr_option_digit_once")]

    def __str__(self) -> str:
        return f"{self.digit}: {self.label_en}"

    def label(self, language: str) -> str:
        return self.label_zh if language == "zh" else self.label_en


class CallDirection(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Call(models.Model):
    """One Twilio call (CallSid) and what happened to it."""

    sid = models.CharField(_("CallSid"), max_length=64, unique=True)
    line = models.ForeignKey(PhoneLine, on_delete=models.SET_NULL, null=True, related_name="calls")
    ticket = models.ForeignKey(
        "ticketing.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="calls"
    )
    direction = models.CharField(_("direction"), max_length=10, choices=CallDirection.choices)
    from_number = models.CharField(_("from"), max_length=40, blank=True)
    to_number = models.CharField(_("to"), max_length=40, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    option = models.ForeignKey(IvrOption, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(_("status"), max_length=20, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    enqueued_at = models.DateTimeField(_("waiting since"), null=True, blank=True)
    bridged_at = models.DateTimeField(_("bridged at"), null=True, blank=True)
    bridge_target = models.CharField(_("bridged to"), max_length=100, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    duration = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    voicemail = models.BooleanField(_("voicemail"), default=False)
    recording_url = models.URLField(_("recording"), max_length=500, blank=True)
    recording_duration = models.PositiveIntegerField(_("recording length (seconds)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.sid

    @property
    def waiting(self) -> bool:
        """In the hold queue: neither bridged nor over."""
        return self.enqueued_at is not None and self.bridged_at is None and self.ended_at is None


class SmsStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboundSms(models.Model):
    """The SMS outbox: one row per outbound ticket message on the SMS channel."""

    message = models.OneToOneField("ticketing.Message", on_delete=models.CASCADE, related_name="outbound_sms")
    line = models.ForeignKey(PhoneLine, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    to_number = models.CharField(_("to"), max_length=40, blank=True)
    sid = models.CharField(_("MessageSid"), max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(max_length=10, choices=SmsStatus.choices, default=SmsStatus.QUEUED)
    twilio_status = models.CharField(_("Twilio status"), max_length=20, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("outbound SMS")
        verbose_name_plural = _("outbound SMS")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="sms_outbox_due")]

    def __str__(self) -> str:
        return f"{self.sid or self.message_id} ({self.status})"


class AgentPhone(models.Model):
    """Where an agent takes calls: a phone number, or a browser client identity."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phone")
    number = models.CharField(_("phone number"), max_length=20, blank=True, validators=[e164])
    client_identity = models.CharField(_("browser identity"), max_length=100, unique=True)
    use_browser = models.BooleanField(
        _("answer in the browser"), default=False, help_text=_("Ring the console (Voice SDK) instead of the number.")
    )

    class Meta:
        verbose_name = _("agent phone")
        verbose_name_plural = _("agent phones")

    def __str__(self) -> str:
        return f"{self.user} {self.number or self.client_identity}"


class WebhookReceipt(models.Model):
    """One row per handled callback (e.g. "call-status:CA…:completed"): replays change nothing."""

    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("webhook receipt")
        verbose_name_plural = _("webhook receipts")

    def __str__(self) -> str:
        return self.key


# Bridge a waiting call when its ticket is assigned (every process: web and worker).
from channels_app.twilio import receivers  # noqa: E402, F401
