"""Admin for the CRM. Changes to customers and companies go through the services,
so they land in the change history like any other edit; ID numbers are never
shown in clear here (the audited reveal is on the customer page)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from contact_center.admin import ReadOnlyAdmin
from crm import identifiers, services
from crm.models import (
    ChangeRecord,
    Company,
    CustomerShare,
    Identity,
    IdentityKind,
    Person,
    PersonCompany,
    Tag,
    TimelineEntry,
)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color"]
    search_fields = ["name"]


class IdentityForm(forms.ModelForm):
    class Meta:
        model = Identity
        fields = ["kind", "value"]

    def clean(self):
        data = super().clean()
        normalize = {
            IdentityKind.EMAIL: identifiers.normalize_email,
            IdentityKind.PHONE: identifiers.normalize_phone,
        }.get(data.get("kind"))
        if normalize and data.get("value"):
            try:
                data["value"] = normalize(data["value"])
            except ValueError as exc:
                raise ValidationError({"value": str(exc)}) from None
            self.instance.value = data["value"]
        return data


class IdentityInline(admin.TabularInline):
    model = Identity
    form = IdentityForm
    extra = 1
    fields = ["kind", "value", "created_at"]
    readonly_fields = ["created_at"]


class PersonCompanyInline(admin.TabularInline):
    model = PersonCompany
    extra = 1
    autocomplete_fields = ["company"]
    fields = ["company", "title", "is_primary"]


class CompanyPeopleInline(admin.TabularInline):
    model = PersonCompany
    extra = 0
    autocomplete_fields = ["person"]
    fields = ["person", "title", "is_primary"]
    verbose_name = _("person")
    verbose_name_plural = _("people")


def _changed(form, allowed: set[str]) -> dict:
    return {name: form.cleaned_data[name] for name in form.changed_data if name in allowed}


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["name", "masked_id_number", "email", "lifecycle_stage", "service_level", "owner", "updated_at"]
    list_filter = ["lifecycle_stage", "service_level", "source", "tags"]
    search_fields = ["name", "identities__value"]
    autocomplete_fields = ["owner", "tags"]
    list_select_related = ["owner"]
    exclude = ["id_number"]
    readonly_fields = ["masked_id_number", "created_at", "updated_at"]
    inlines = [IdentityInline, PersonCompanyInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("identities")

    @admin.display(description=_("resident ID number"))
    def masked_id_number(self, obj: Person) -> str:
        return identifiers.mask_id_number(obj.id_number) or "—"

    @admin.display(description=_("email"))
    def email(self, obj: Person) -> str:
        return obj.primary_email

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        fresh = Person.objects.get(pk=obj.pk)
        services.person_update(person=fresh, by=request.user, **_changed(form, services.PERSON_FIELDS))


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = [
            "name",
            "credit_code",
            "industry",
            "size",
            "region",
            "status",
            "email_domain",
            "service_level",
            "owner",
            "tags",
        ]

    def clean_credit_code(self):
        code = self.cleaned_data.get("credit_code")
        if not code:
            return None
        try:
            return identifiers.normalize_uscc(code)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    form = CompanyForm
    list_display = ["name", "credit_code", "industry", "region", "status", "service_level", "owner", "updated_at"]
    list_filter = ["status", "service_level", "size", "tags"]
    search_fields = ["name", "credit_code", "email_domain", "industry"]
    autocomplete_fields = ["owner", "tags"]
    list_select_related = ["owner"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [CompanyPeopleInline]

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        fresh = Company.objects.get(pk=obj.pk)
        services.company_update(company=fresh, by=request.user, **_changed(form, services.COMPANY_FIELDS))


@admin.register(CustomerShare)
class CustomerShareAdmin(admin.ModelAdmin):
    """A share is made or removed, never edited; making one goes through the service."""

    list_display = ["person", "user", "shared_by", "created_at"]
    search_fields = ["person__name", "user__username"]
    autocomplete_fields = ["person", "user"]
    list_select_related = ["person", "user", "shared_by"]
    fields = ["person", "user"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        share = services.customer_share(person=obj.person, user=obj.user, by=request.user)
        obj.pk, obj.shared_by, obj.created_at = share.pk, share.shared_by, share.created_at


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "content_type", "object_id", "field", "old_value", "new_value", "changed_by"]
    list_filter = ["content_type", "field"]
    search_fields = ["=object_id", "field", "new_value"]
    list_select_related = ["content_type", "changed_by"]
    date_hierarchy = "changed_at"


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "person", "company", "kind", "summary", "actor"]
    list_filter = ["kind"]
    search_fields = ["summary", "person__name", "company__name"]
    list_select_related = ["person", "company", "actor"]
    date_hierarchy = "at"
