"""Admin for the chat widget: widgets (settings per key) and a read-only list of visitors."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from channels_app.chat.models import ChatUpload, ChatVisitor, ChatWidget
from contact_center.admin import ReadOnlyAdmin


@admin.register(ChatWidget)
class ChatWidgetAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "queue", "calendar", "active"]
    list_filter = ["active"]
    search_fields = ["key", "name"]
    fieldsets = [
        (None, {"fields": ["key", "name", "active", "queue", "calendar"]}),
        (_("Where it runs"), {"fields": ["allowed_origins"]}),
        (_("Look and words"), {"fields": ["colour", "title_zh", "title_en", "greeting_zh", "greeting_en"]}),
        (_("Pre-chat form"), {"fields": ["prechat_fields"]}),
    ]

    change_form_template = "admin/chat/widget_change_form.html"

    def get_list_display(self, request):
        @admin.display(description=_("snippet"))
        def snippet(widget):
            return format_html("<code>{}</code>", widget_snippet(request, widget))

        return [*self.list_display, snippet]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["widget_snippet"] = widget_snippet(request, obj) if obj is not None else ""
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


def widget_snippet(request, widget: ChatWidget) -> str:
    """The tag a site pastes, with this server's own address (a relative src would load from the site)."""
    src = request.build_absolute_uri(reverse("chat-widget-script", args=[widget.key]))
    return f'<script src="{src}" async></script>'


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
