"""Shapes of customers and companies in the API. Shape only: the rules live in crm.services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.fields import NamedChoiceField, ReferenceField, ScopedPrimaryKeyRelatedField
from accounts.api.serializers import UserRefSerializer
from accounts.models import User
from crm.identifiers import mask_id_number
from crm.models import (
    ChangeRecord,
    Company,
    CompanySize,
    CompanyStatus,
    CustomerShare,
    Identity,
    IdentityKind,
    LifecycleStage,
    Person,
    PersonCompany,
    ServiceLevel,
    Source,
    TimelineEntry,
)
from crm.selectors import timeline_for

RECENT_TIMELINE = 10
MAX_LIST = 20  # identities or tags in one request; more is a mistake, not a customer


def _string_list(max_length: int, **kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=max_length, allow_blank=True),
        max_length=MAX_LIST,
        required=False,
        **kwargs,
    )


def _active_user(**kwargs) -> ReferenceField:
    return ReferenceField(queryset=User.objects.filter(is_active=True), **kwargs)


class CompanyLinkSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="company.id", read_only=True)
    name = serializers.CharField(source="company.name", read_only=True)

    class Meta:
        model = PersonCompany
        fields = ["id", "name", "title", "is_primary"]
        read_only_fields = fields


class TimelineEntrySerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = TimelineEntry
        fields = ["id", "kind", "summary", "ref_type", "ref_id", "actor", "at"]
        read_only_fields = fields


class ChangeRecordSerializer(serializers.ModelSerializer):
    changed_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ChangeRecord
        fields = ["id", "field", "old_value", "new_value", "changed_by", "changed_at"]
        read_only_fields = fields


class CustomerSerializer(serializers.ModelSerializer):
    """A customer in lists and details. The ID number is always masked here."""

    emails = serializers.SerializerMethodField()
    phones = serializers.SerializerMethodField()
    id_number = serializers.SerializerMethodField(help_text="Masked, e.g. 110***********1234; see reveal-id-number.")
    owner = UserRefSerializer(read_only=True, allow_null=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    companies = CompanyLinkSerializer(source="company_links", many=True, read_only=True)

    class Meta:
        model = Person
        fields = [
            "id",
            "name",
            "emails",
            "phones",
            "id_number",
            "owner",
            "lifecycle_stage",
            "source",
            "service_level",
            "tags",
            "companies",
            "address",
            "language",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    # identities are prefetched (crm.selectors.person_with_details): filtered in Python, no query per row.
    def get_emails(self, person: Person) -> list[str]:
        return [i.value for i in person.identities.all() if i.kind == IdentityKind.EMAIL]

    def get_phones(self, person: Person) -> list[str]:
        return [i.value for i in person.identities.all() if i.kind == IdentityKind.PHONE]

    def get_id_number(self, person: Person) -> str:
        return mask_id_number(person.id_number)


class CustomerDetailSerializer(CustomerSerializer):
    recent_timeline = serializers.SerializerMethodField()

    class Meta(CustomerSerializer.Meta):
        fields = [*CustomerSerializer.Meta.fields, "recent_timeline"]
        read_only_fields = fields

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_recent_timeline(self, person: Person) -> list[dict]:
        request = self.context.get("request")
        if request is None:
            return []
        # Entries about tickets the caller may not see are left out (crm.selectors.timeline_for).
        entries = timeline_for(user=request.user, person=person).order_by("-at", "-id")[:RECENT_TIMELINE]
        return TimelineEntrySerializer(entries, many=True).data


class CustomerCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    emails = _string_list(254)
    phones = _string_list(40)
    id_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    language = serializers.CharField(max_length=10, required=False, allow_blank=True)
    owner = _active_user(required=False, allow_null=True, help_text="User id; defaults to the caller.")
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    lifecycle_stage = serializers.ChoiceField(choices=LifecycleStage.choices, required=False)
    service_level = serializers.ChoiceField(choices=ServiceLevel.choices, required=False)
    tags = _string_list(50)
    company = ScopedPrimaryKeyRelatedField(Company, required=False, allow_null=True)
    title = serializers.CharField(max_length=100, required=False, allow_blank=True)


class CustomerUpdateSerializer(serializers.Serializer):
    """PATCH: only the fields sent are changed; each change lands in the history."""

    name = serializers.CharField(max_length=100, required=False)
    id_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    language = serializers.CharField(max_length=10, required=False, allow_blank=True)
    owner = _active_user(required=False, allow_null=True)
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    lifecycle_stage = serializers.ChoiceField(choices=LifecycleStage.choices, required=False)
    service_level = serializers.ChoiceField(choices=ServiceLevel.choices, required=False)
    tags = _string_list(50)


class IdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Identity
        fields = ["id", "kind", "value", "created_at"]
        read_only_fields = fields


class IdentityAddSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=IdentityKind.choices)
    value = serializers.CharField(max_length=254)


class RevealedIdNumberSerializer(serializers.Serializer):
    id_number = serializers.CharField(read_only=True)


class ShareRequestSerializer(serializers.Serializer):
    user = _active_user(help_text="The colleague (user id) who will see this customer.")


class ShareSerializer(serializers.ModelSerializer):
    user = UserRefSerializer(read_only=True)
    shared_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = CustomerShare
        fields = ["id", "person", "user", "shared_by", "created_at"]
        read_only_fields = fields


class CompanySerializer(serializers.ModelSerializer):
    status = NamedChoiceField(enum_name="CompanyStatusEnum", choices=CompanyStatus.choices, read_only=True)
    owner = UserRefSerializer(read_only=True, allow_null=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Company
        fields = [
            "id",
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
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CompanyWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    credit_code = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True)
    industry = serializers.CharField(max_length=100, required=False, allow_blank=True)
    size = serializers.ChoiceField(choices=CompanySize.choices, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    status = NamedChoiceField(enum_name="CompanyStatusEnum", choices=CompanyStatus.choices, required=False)
    email_domain = serializers.CharField(max_length=200, required=False, allow_blank=True)
    service_level = serializers.ChoiceField(choices=ServiceLevel.choices, required=False)
    owner = _active_user(required=False, allow_null=True, help_text="User id; defaults to the caller.")
    tags = _string_list(50)


class CompanyUpdateSerializer(CompanyWriteSerializer):
    name = serializers.CharField(max_length=200, required=False)
