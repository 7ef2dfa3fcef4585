"""The admin site's name, a read-only base for append-only records, and the workers."""

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contact_center.models import WorkerHeartbeat

admin.site.site_header = _("Contact Center administration")
admin.site.site_title = _("Contact Center")
admin.site.index_title = _("Administration")


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records the system writes and nobody edits (audit log, history, events)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["worker_id", "hostname", "pid", "started_at", "last_seen", "alive"]
    search_fields = ["worker_id", "hostname"]
    ordering = ["-last_seen"]

    @admin.display(boolean=True, description=_("alive"))
    def alive(self, obj: WorkerHeartbeat) -> bool:
        stale_after = timedelta(seconds=getattr(settings, "WORKER_STALE_AFTER_SECONDS", 60))
        return obj.last_seen >= timezone.now() - stale_after
