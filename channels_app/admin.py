"""Admin for the email channel: mailboxes (with "test connection"), and read-only views
of the raw mail and the outbox."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from channels_app.email.connection import mailbox_test_connection
from channels_app.models import MAILBOX_SETTINGS, Mailbox, OutboundEmail, RawEmail
from contact_center.admin import ReadOnlyAdmin


class MailboxForm(forms.ModelForm):
    # Secrets are never shown back; an empty field keeps the stored password.
    imap_password = forms.CharField(label=_("IMAP password"), widget=forms.PasswordInput, required=False)
    smtp_password = forms.CharField(label=_("SMTP password"), widget=forms.PasswordInput, required=False)

    class Meta:
        model = Mailbox
        fields = list(MAILBOX_SETTINGS)

    def clean_imap_password(self):
        return self.cleaned_data.get("imap_password") or self.instance.imap_password or ""

    def clean_smtp_password(self):
        return self.cleaned_data.get("smtp_password") or self.instance.smtp_password or ""


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ["name", "from_address", "imap_host", "folder", "default_queue", "active", "last_polled_at"]
    list_filter = ["active"]
    search_fields = ["name", "from_address", "imap_host", "imap_user"]
    readonly_fields = ["uidvalidity", "last_uid", "last_polled_at", "last_error"]
    actions = ["test_connection"]
    fieldsets = [
        (None, {"fields": ["name", "active", "from_address", "from_name", "default_queue"]}),
        (
            _("Incoming (IMAP)"),
            {"fields": ["imap_host", "imap_port", "imap_security", "imap_user", "imap_password", "folder"]},
        ),
        (_("After fetching"), {"fields": ["processed_folder"]}),
        (_("Outgoing (SMTP)"), {"fields": ["smtp_host", "smtp_port", "smtp_security", "smtp_user", "smtp_password"]}),
        (_("Automatic acknowledgement"), {"fields": ["auto_acknowledge", "acknowledgement_text"]}),
        (_("Status"), {"fields": ["uidvalidity", "last_uid", "last_polled_at", "last_error"]}),
    ]

    @admin.action(description=_("Test connection"))
    def test_connection(self, request, queryset):
        for mailbox in queryset:
            for check in mailbox_test_connection(mailbox=mailbox):
                level = messages.SUCCESS if check.ok else messages.ERROR
                self.message_user(request, f"{mailbox.name} · {check.part.upper()}: {check.message}", level)


@admin.register(RawEmail)
class RawEmailAdmin(ReadOnlyAdmin):
    list_display = ["email_id", "direction", "mailbox", "size", "created_at"]
    list_filter = ["direction", "mailbox"]
    search_fields = ["email_id"]
    exclude = ["compressed"]
    list_select_related = ["mailbox"]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    list_display = ["email_id", "status", "attempts", "next_attempt_at", "sent_at", "last_error"]
    list_filter = ["status"]
    search_fields = ["email_id"]


from channels_app.chat.admin import ChatVisitorAdmin, ChatWidgetAdmin  # noqa: E402, F401  (registers the chat models)
from channels_app.twilio.admin import PhoneLineAdmin  # noqa: E402, F401  (registers the phone models)
