from django.contrib import admin

from routing.models import Offer, QueueRouting, RoutingDecision, RoutingStep, TicketRouting


class RoutingStepInline(admin.TabularInline):
    model = RoutingStep
    extra = 0


@admin.register(QueueRouting)
class QueueRoutingAdmin(admin.ModelAdmin):
    list_display = ["queue", "is_active", "priority", "target", "strategy", "offer_timeout_seconds", "ring_count"]
    list_filter = ["is_active", "strategy"]
    filter_horizontal = ["companies"]
    inlines = [RoutingStepInline]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ["id", "ticket", "agent", "queue", "status", "created_at", "expires_at", "decided_at"]
    list_filter = ["status"]
    raw_id_fields = ["ticket", "agent"]

    def has_add_permission(self, request):
        return False  # offers are made by the router

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(admin.ModelAdmin):
    list_display = ["ticket", "at", "queue", "step"]
    raw_id_fields = ["ticket"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RoutingStep)
class RoutingStepAdmin(admin.ModelAdmin):
    list_display = ["rule", "position", "after_seconds", "target"]
    list_filter = ["rule"]


@admin.register(TicketRouting)
class TicketRoutingAdmin(admin.ModelAdmin):
    list_display = ["ticket", "rule", "waiting_since", "answered_at"]
    list_filter = ["rule"]
    raw_id_fields = ["ticket"]
    exclude = ["last_signature"]

    def has_add_permission(self, request):
        return False  # routing keeps this row

    def has_change_permission(self, request, obj=None):
        return False
