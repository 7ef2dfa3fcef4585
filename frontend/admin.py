"""Admin for what the console keeps: canned responses (edited here) and agents' read markers
(read-only). Kept beside the console that uses them; the models live in ticketing."""

from django.contrib import admin

from contact_center.admin import ReadOnlyAdmin
from ticketing.models import CannedResponse, TicketReadMarker


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["title", "shortcut", "team", "language", "created_at"]
    list_filter = ["team", "language"]
    search_fields = ["title", "shortcut", "body"]


@admin.register(TicketReadMarker)
class TicketReadMarkerAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "user", "last_read_message_id", "read_at"]
    search_fields = ["ticket__number", "user__username"]
    list_select_related = ["ticket", "user"]
