"""Admin for phone lines (with their IVR menu), calls, the SMS outbox and agents' phones."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from channels_app.twilio.models import (
    LINE_SETTINGS,
    AgentPhone,
    Call,
    IvrOption,
    OutboundSms,
    PhoneLine,
    WebhookReceipt,
)
from contact_center.admin import ReadOnlyAdmin


class PhoneLineForm(forms.ModelForm):
    # Secrets are never shown back; an empty field keeps the stored one.
    auth_token = forms.CharField(label=_("auth token"), widget=forms.PasswordInput, required=False)
    api_key_secret = forms.CharField(label=_("API key secret"), widget=forms.PasswordInput, required=False)
    public_base_url = forms.URLField(
        label=_("public base URL"),
        required=False,
        assume_scheme="https",
        help_text=PhoneLine._meta.get_field("public_base_url").help_text,
    )
    greeting_audio_url = forms.URLField(label=_("greeting audio URL"), required=False, assume_scheme="https")
    hold_music_url = forms.URLField(label=_("hold music URL"), required=False, assume_scheme="https")

    class Meta:
        model = PhoneLine
        fields = list(LINE_SETTINGS)

    def clean_auth_token(self):
        token = self.cleaned_data.get("auth_token") or self.instance.auth_token or ""
        if not token:
            raise forms.ValidationError(_("An auth token is required."))
        return token

    def clean_api_key_secret(self):
        return self.cleaned_data.get("api_key_secret") or self.instance.api_key_secret or ""


class IvrOptionInline(admin.TabularInline):
    model = IvrOption
    extra = 1


@admin.register(PhoneLine)
class PhoneLineAdmin(admin.ModelAdmin):
    form = PhoneLineForm
    inlines = [IvrOptionInline]
    list_display = ["name", "phone_number", "default_queue", "calendar", "active"]
    list_filter = ["active"]
    search_fields = ["name", "phone_number"]
    fieldsets = [
        (None, {"fields": ["name", "active", "phone_number", "default_queue", "calendar"]}),
        (_("Twilio account"), {"fields": ["account_sid", "auth_token", "public_base_url"]}),
        (_("Browser calls (optional)"), {"fields": ["api_key_sid", "api_key_secret", "twiml_app_sid"]}),
        (
            _("Greeting and hold"),
            {"fields": ["greeting_zh", "greeting_en", "greeting_audio_url", "voice_zh", "voice_en", "hold_music_url"]},
        ),
        (_("Calls and SMS"), {"fields": ["ring_agent_seconds", "record_calls", "sms_thread_hours"]}),
    ]


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = [
        "sid",
        "direction",
        "from_number",
        "to_number",
        "status",
        "ticket",
        "agent",
        "duration",
        "created_at",
    ]
    list_filter = ["direction", "status", "voicemail"]
    search_fields = ["sid", "from_number", "to_number"]
    list_select_related = ["ticket", "agent"]


@admin.register(OutboundSms)
class OutboundSmsAdmin(ReadOnlyAdmin):
    list_display = ["sid", "to_number", "status", "twilio_status", "attempts", "sent_at", "last_error"]
    list_filter = ["status"]
    search_fields = ["sid", "to_number"]


@admin.register(AgentPhone)
class AgentPhoneAdmin(admin.ModelAdmin):
    list_display = ["user", "number", "client_identity", "use_browser"]
    search_fields = ["user__username", "number", "client_identity"]


@admin.register(IvrOption)
class IvrOptionAdmin(admin.ModelAdmin):
    """Edited inline on their line; listed here to find which line sends a choice where."""

    list_display = ["line", "digit", "queue"]
    list_filter = ["line"]
    list_select_related = ["line", "queue"]


@admin.register(WebhookReceipt)
class WebhookReceiptAdmin(ReadOnlyAdmin):
    list_display = ["key", "created_at"]
    search_fields = ["key"]
