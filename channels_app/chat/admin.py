"""Admin for the chat widget: widgets (settings per key) and a read-only list of visitors."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from channels_app.chat.models import ChatUpload, ChatVisitor, ChatWidget
from contact_center.admin import ReadOnlyAdmin


@admin.register(ChatWidget)
class ChatWidgetAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "queue", "calendar", "active", "snippet"]
    list_filter = ["active"]
    search_fields = ["key", "name"]
    fieldsets = [
        (None, {"fields": ["key", "name", "active", "queue", "calendar"]}),
        (_("Where it runs"), {"fields": ["allowed_origins"]}),
        (_("Look and words"), {"fields": ["colour", "title_zh", "title_en", "greeting_zh", "greeting_en"]}),
        (_("Pre-chat form"), {"fields": ["prechat_fields"]}),
    ]

    @admin.display(description=_("snippet"))
    def snippet(self, widget):
        return format_html('<code>&lt;script src="/widget/{}.js" async&gt;&lt;/script&gt;</code>', widget.key)


@admin.register(ChatVisitor)
class ChatVisitorAdmin(ReadOnlyAdmin):
    list_display = ["visitor_id", "widget", "name", "email", "phone", "ticket", "last_seen_at"]
    list_filter = ["widget"]
    search_fields = ["visitor_id", "name", "email", "phone"]
    list_select_related = ["widget", "ticket"]


@admin.register(ChatUpload)
class ChatUploadAdmin(ReadOnlyAdmin):
    """Files visitors uploaded; the ones never sent in a message are removed after a day."""

    list_display = ["filename", "content_type", "size", "visitor", "used", "created_at"]
    list_filter = ["used"]
    search_fields = ["filename", "sha256"]
    list_select_related = ["visitor"]
