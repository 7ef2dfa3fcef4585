"""Admin for tickets. Edits go through the ticket services (events, history,
live updates); what the channels wrote — messages, attachments, events — is read-only."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from contact_center.admin import ReadOnlyAdmin, ReadOnlyInline
from ticketing import services, transitions
from ticketing.models import (
    Attachment,
    BusinessCalendar,
    Message,
    Queue,
    SlaPolicy,
    SlaTimer,
    Status,
    Ticket,
    TicketEvent,
)
from ticketing.sla import services as sla


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "is_default", "calendar"]
    list_filter = ["team", "is_default"]
    search_fields = ["name"]
    autocomplete_fields = ["team"]
    list_select_related = ["team", "calendar"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "calendar" in form.changed_data:
            sla.sla_queue_recompute_tickets(queue_id=obj.pk)


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["created_at", "direction", "channel", "author", "sender", "body_text", "delivery_status"]
    readonly_fields = fields
    ordering = ["created_at", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author", "sender")


class TicketForm(forms.ModelForm):
    class Meta:
        model = Ticket
        fields = ["subject", "status", "priority", "assignee", "queue", "tags"]

    def clean(self):
        data = super().clean()
        old = self.instance.status
        new = data.get("status")
        if new and new != old and not transitions.can_transition(old, new):
            self.add_error(
                "status",
                _("A ticket cannot go from %(old)s to %(new)s.") % {"old": Status(old).label, "new": Status(new).label},
            )
        if old == Status.CLOSED and {"assignee", "queue"} & set(self.changed_data):
            self.add_error(None, _("A closed ticket cannot be reassigned."))
        return data


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    form = TicketForm
    list_display = ["number", "subject", "status", "priority", "channel", "customer", "assignee", "queue", "updated_at"]
    list_filter = ["status", "priority", "channel", "queue", "team"]
    search_fields = ["=number", "subject", "customer__name"]
    autocomplete_fields = ["assignee", "queue", "tags"]
    list_select_related = ["customer", "assignee", "queue"]
    readonly_fields = [
        "number",
        "channel",
        "customer",
        "company",
        "team",
        "language",
        "merged_into",
        "created_at",
        "updated_at",
        "first_response_at",
        "solved_at",
        "closed_at",
        "sla_policy",
        "first_response_due_at",
        "next_response_due_at",
        "resolution_due_at",
    ]
    fieldsets = [
        (None, {"fields": ["number", "subject", "status", "priority", "channel", "customer", "company", "tags"]}),
        (_("Assignment"), {"fields": ["assignee", "queue", "team"]}),
        (
            _("Times"),
            {"fields": ["created_at", "updated_at", "first_response_at", "solved_at", "closed_at", "merged_into"]},
        ),
        (
            _("SLA"),
            {"fields": ["sla_policy", "first_response_due_at", "next_response_due_at", "resolution_due_at"]},
        ),
    ]
    inlines = [MessageInline]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False  # tickets come from channels, the console and the API

    def save_model(self, request, obj, form, change):
        ticket = Ticket.objects.get(pk=obj.pk)
        data, changed = form.cleaned_data, set(form.changed_data)
        if changed & {"subject", "priority"}:
            ticket = services.ticket_update(
                ticket=ticket, by=request.user, subject=data["subject"], priority=data["priority"]
            )
        if changed & {"assignee", "queue"}:
            ticket = services.ticket_assign(
                ticket=ticket,
                agent=data["assignee"],
                by=request.user,
                queue=data["queue"] if "queue" in changed else None,
            )
        if "status" in changed:
            services.ticket_change_status(ticket=ticket, status=data["status"], by=request.user)

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # read-only messages: saves nothing, but the admin's log expects it
            self.save_formset(request, form, formset, change=change)
        if "tags" in form.changed_data:
            services.ticket_update(
                ticket=form.instance, by=request.user, tags=[tag.name for tag in form.cleaned_data["tags"]]
            )


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "ticket", "direction", "channel", "author", "sender", "delivery_status", "flagged"]
    list_filter = ["direction", "channel", "delivery_status", "flagged"]
    search_fields = ["=ticket__number", "external_id", "body_text"]
    list_select_related = ["ticket", "author", "sender"]
    date_hierarchy = "created_at"


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["filename", "content_type", "size", "stored", "ticket", "download"]
    list_filter = ["stored", "content_type"]
    search_fields = ["filename", "sha256", "=message__ticket__number"]
    list_select_related = ["message__ticket"]
    exclude = ["file"]

    @admin.display(description=_("ticket"))
    def ticket(self, obj: Attachment):
        return obj.message.ticket

    @admin.display(description=_("download"))
    def download(self, obj: Attachment):
        if not obj.stored:
            return obj.note
        return format_html('<a href="{}">{}</a>', reverse("attachment-download", args=[obj.pk]), _("download"))


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "ticket", "kind", "actor", "data"]
    list_filter = ["kind"]
    search_fields = ["=ticket__number", "kind"]
    list_select_related = ["ticket", "actor"]
    date_hierarchy = "at"


class BusinessCalendarForm(forms.ModelForm):
    class Meta:
        model = BusinessCalendar
        fields = ["name", "time_zone", "weekly_hours", "country", "subdivision", "holidays", "extra_workdays"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            sla.calendar_from_model(BusinessCalendar(**{name: data.get(name) for name in self.Meta.fields}))
        return data


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    form = BusinessCalendarForm
    list_display = ["name", "time_zone", "country", "subdivision"]
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:
            sla.sla_calendar_recompute_tickets(calendar=obj)


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "position",
            "is_active",
            "priorities",
            "channels",
            "queues",
            "service_levels",
            "customer_tags",
            "targets",
            "calendar",
            "pause_when_pending",
            "next_response_mode",
            "warn_percent",
            "warn_minutes_before",
            "escalate_priority",
            "escalate_queue",
        ]

    def clean(self):
        data = super().clean()
        if not self.errors:
            policy = SlaPolicy(
                **{
                    name: data.get(name)
                    for name in ("targets", "priorities", "channels", "service_levels", "warn_percent")
                }
            )
            sla.sla_policy_validate(policy=policy)
        return data


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = ["name", "position", "is_active", "calendar", "next_response_mode", "pause_when_pending"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    filter_horizontal = ["queues", "customer_tags"]
    list_select_related = ["calendar"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        sla.sla_policy_recompute_tickets(policy=form.instance)  # conditions are saved only now

    def delete_model(self, request, obj):
        sla.sla_policy_delete(policy=obj)

    def delete_queryset(self, request, queryset):
        for policy in queryset:
            sla.sla_policy_delete(policy=policy)


@admin.register(SlaTimer)
class SlaTimerAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "target", "started_at", "due_at", "warned_at", "breached_at", "met_at", "outcome"]
    list_filter = ["target", "outcome"]
    search_fields = ["=ticket__number"]
    list_select_related = ["ticket"]
    date_hierarchy = "started_at"
