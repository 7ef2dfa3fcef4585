import zoneinfo

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from accounts.models import AgentProfile, AgentSkill, AuditLog, Department, Role, Skill, Team, User
from contact_center.admin import ReadOnlyAdmin

TIME_ZONES = sorted(zoneinfo.available_timezones())


class UserForm(UserChangeForm):
    time_zone = forms.ChoiceField(label=_("time zone"), choices=[(tz, tz) for tz in TIME_ZONES])

    class Meta(UserChangeForm.Meta):
        model = User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserForm
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Organisation"), {"fields": ("display_name", "department", "manager", "language", "time_zone")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (_("Organisation"), {"fields": ("display_name", "email", "department", "manager", "language")}),
    )
    list_display = [
        "username",
        "display_name",
        "email",
        "department",
        "manager",
        "role_list",
        "is_active",
        "last_login",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "groups", "department", "language"]
    search_fields = ["username", "display_name", "first_name", "last_name", "email"]
    autocomplete_fields = ["department", "manager"]
    list_select_related = ["department", "manager"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def role_list(self, obj: User) -> str:
        return ", ".join(group.name for group in obj.groups.all())


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "member_count"]
    search_fields = ["name"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("members"))

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, obj) -> int:
        return obj.member_total


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "department", "member_count"]
    list_filter = ["department"]
    search_fields = ["name"]
    autocomplete_fields = ["department", "members"]
    list_select_related = ["department"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("members"))

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, obj) -> int:
        return obj.member_total


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "code", "data_scope"]
    list_filter = ["data_scope"]
    search_fields = ["code", "group__name"]
    autocomplete_fields = ["group"]
    list_select_related = ["group"]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class AgentSkillInline(admin.TabularInline):
    model = AgentSkill
    extra = 1
    autocomplete_fields = ["skill"]


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "presence",
        "languages",
        "capacity_voice",
        "capacity_chat",
        "capacity_email",
        "capacity_sms",
        "last_assigned_at",
    ]
    list_filter = ["presence"]
    search_fields = ["user__username", "user__display_name"]
    autocomplete_fields = ["user"]
    list_select_related = ["user"]
    inlines = [AgentSkillInline]


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_name", "action", "target_type", "target_id", "ip"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_name", "target_id", "ip"]
    date_hierarchy = "at"
