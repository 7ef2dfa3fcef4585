"""Email channel state: mailboxes, the raw mail behind each message, the outbox."""

import zlib

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contact_center.crypto import EncryptedTextField


class Security(models.TextChoices):
    TLS = "tls", _("TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (plain text)")


class Mailbox(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    active = models.BooleanField(_("active"), default=True)
    imap_host = models.CharField(_("IMAP host"), max_length=255)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(_("IMAP security"), max_length=10, choices=Security.choices, default=Security.TLS)
    imap_user = models.CharField(_("IMAP user"), max_length=255)
    imap_password = EncryptedTextField(_("IMAP password"), blank=True)
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    processed_folder = models.CharField(
        _("processed folder"), max_length=255, blank=True, help_text=_("Move fetched messages here (optional).")
    )
    smtp_host = models.CharField(_("SMTP host"), max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=465)
    smtp_security = models.CharField(_("SMTP security"), max_length=10, choices=Security.choices, default=Security.TLS)
    smtp_user = models.CharField(_("SMTP user"), max_length=255, blank=True)
    smtp_password = EncryptedTextField(_("SMTP password"), blank=True)
    from_address = models.EmailField(_("from address"))
    from_name = models.CharField(_("display name"), max_length=100, blank=True)
    default_queue = models.ForeignKey(
        "ticketing.Queue",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default queue"),
    )
    auto_acknowledge = models.BooleanField(
        _("acknowledge new tickets"),
        default=False,
        help_text=_("Answer the first email of a new ticket automatically (never to auto-replies or lists)."),
    )
    acknowledgement_text = models.TextField(
        _("acknowledgement text"),
        blank=True,
        help_text=_("{number} is replaced by the ticket number. Empty: a bilingual default."),
    )
    reopen_closed = models.BooleanField(
        _("reopen closed tickets"),
        default=False,
        help_text=_("A reply to a closed ticket reopens it instead of opening a linked follow-up ticket."),
    )
    # IMAP bookkeeping: advanced only after a message is committed.
    uidvalidity = models.BigIntegerField(_("UIDVALIDITY"), null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(_("last UID"), default=0, editable=False)
    last_polled_at = models.DateTimeField(_("last polled at"), null=True, blank=True, editable=False)
    last_error = models.CharField(_("last error"), max_length=500, blank=True, editable=False)
    # Only one worker fetches a mailbox at a time: the holder renews the lease while it works.
    lease_owner = models.CharField(max_length=100, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} <{self.from_address}>"


# What a person sets on a mailbox (admin and API alike); the rest is the poller's bookkeeping.
MAILBOX_SETTINGS = (
    "name",
    "active",
    "from_address",
    "from_name",
    "default_queue",
    "auto_acknowledge",
    "acknowledgement_text",
    "reopen_closed",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_user",
    "imap_password",
    "folder",
    "processed_folder",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_user",
    "smtp_password",
)


class RawEmail(models.Model):
    """The original RFC 822 bytes of a message (compressed), and its Message-ID for threading."""

    class Direction(models.TextChoices):
        INBOUND = "in", _("Received")
        OUTBOUND = "out", _("Sent")

    message = models.OneToOneField(
        "ticketing.Message", on_delete=models.CASCADE, related_name="raw_email", verbose_name=_("message")
    )
    mailbox = models.ForeignKey(Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="raw_emails")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    email_id = models.CharField(_("Message-ID"), max_length=300, blank=True, db_index=True)
    references = models.TextField(_("References"), blank=True)  # space-separated, oldest first
    compressed = models.BinaryField(_("raw message (zlib)"))
    size = models.PositiveBigIntegerField(_("size"), default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("raw email")
        verbose_name_plural = _("raw emails")

    def __str__(self) -> str:
        return self.email_id or f"raw email {self.pk}"

    @staticmethod
    def compress(raw: bytes) -> bytes:
        return zlib.compress(raw, 6)

    @property
    def raw(self) -> bytes:
        return zlib.decompress(bytes(self.compressed))


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboundKind(models.TextChoices):
    REPLY = "reply", _("Reply")
    ACKNOWLEDGEMENT = "ack", _("Automatic acknowledgement")
    TRANSCRIPT = "trans", _("Chat transcript")
    NOTICE = "note", _("Notice to staff")  # e.g. an SLA escalation


class OutboundEmail(models.Model):
    """One outbound email to deliver; claimed with a conditional UPDATE. A reply has its ticket
    message; an automatic acknowledgement carries its own address, subject and text."""

    message = models.OneToOneField(
        "ticketing.Message",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="outbound_email",
        verbose_name=_("message"),
    )
    ticket = models.ForeignKey(
        "ticketing.Ticket", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("ticket")
    )
    kind = models.CharField(max_length=5, choices=OutboundKind.choices, default=OutboundKind.REPLY)
    to_address = models.CharField(max_length=254, blank=True, db_index=True)
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    in_reply_to = models.CharField(max_length=300, blank=True)
    mailbox = models.ForeignKey(Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="outbox")
    email_id = models.CharField(_("Message-ID"), max_length=300, unique=True)
    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.email_id} ({self.status})"


from channels_app.chat.models import ChatUpload, ChatVisitor, ChatWidget  # noqa: E402, F401  (chat widget models)
from channels_app.twilio.models import AgentPhone, Call, OutboundSms, PhoneLine  # noqa: E402, F401  (phone and SMS)
