"""Chat widget state: the widget's settings per key, and each visitor with their current conversation."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PRECHAT_FIELDS = ("name", "email", "phone", "question")


def default_prechat_fields() -> list[str]:
    return list(PRECHAT_FIELDS)


class ChatWidget(models.Model):
    """One embeddable widget (`/widget/<key>.js`): where it may run, how it looks, where chats go."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    allowed_origins = models.JSONField(
        _("allowed origins"),
        default=list,
        blank=True,
        help_text=_('Sites that may embed the widget, e.g. ["https://www.example.com", "http://127.0.0.1:*"].'),
    )
    colour = models.CharField(_("colour"), max_length=7, default="#2563eb", help_text=_("A hex colour, #rrggbb."))
    title_zh = models.CharField(_("title (Chinese)"), max_length=100, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=100, blank=True)
    greeting_zh = models.CharField(_("greeting (Chinese)"), max_length=300, blank=True)
    greeting_en = models.CharField(_("greeting (English)"), max_length=300, blank=True)
    prechat_fields = models.JSONField(
        _("pre-chat fields"),
        default=default_prechat_fields,
        blank=True,
        help_text=_("Any of name, email, phone, question."),
    )
    queue = models.ForeignKey(
        "ticketing.Queue", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("queue")
    )
    calendar = models.ForeignKey(
        "ticketing.BusinessCalendar",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business hours"),
        help_text=_("Empty: the queue's calendar; without one, always open."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("chat widget")
        verbose_name_plural = _("chat widgets")
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class ChatVisitor(models.Model):
    """A browser that opened a widget; its signed token (kept in localStorage) names it."""

    widget = models.ForeignKey(ChatWidget, on_delete=models.CASCADE, related_name="visitors", verbose_name=_("widget"))
    visitor_id = models.CharField(_("visitor id"), max_length=40)
    name = models.CharField(_("name"), max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    ticket = models.ForeignKey(
        "ticketing.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chat_visitors",
        verbose_name=_("current conversation"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now)

    class Meta:
        verbose_name = _("chat visitor")
        verbose_name_plural = _("chat visitors")
        constraints = [models.UniqueConstraint(fields=["widget", "visitor_id"], name="chat_visitor_once")]

    def __str__(self) -> str:
        return self.name or self.visitor_id

    @property
    def address(self) -> str:
        """The chat identity of this visitor in the CRM."""
        return f"{self.widget.key}:{self.visitor_id}"


def upload_path(instance: "ChatUpload", filename: str) -> str:
    return f"chat-uploads/{instance.visitor_id}/{instance.sha256[:16]}"


class ChatUpload(models.Model):
    """A file a visitor uploaded over HTTP, waiting to be referenced by a message frame."""

    visitor = models.ForeignKey(ChatVisitor, on_delete=models.CASCADE, related_name="uploads")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=150)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=upload_path, max_length=200)
    used = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("chat upload")
        verbose_name_plural = _("chat uploads")

    def __str__(self) -> str:
        return self.filename


# Deliver agent replies, assignments and queue changes to the visitors' sockets (every process).
from channels_app.chat import receivers  # noqa: E402, F401
