"""Query-string filters for customers and companies. A bad value is a 400 naming the filter."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from accounts.api.filters import DateTimeFilter, IdFilter
from crm.models import Company, CompanySize, CompanyStatus, LifecycleStage, Person, ServiceLevel, Source
from crm.selectors import persons_matching


class PersonFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Name, email or phone contains")
    lifecycle_stage = django_filters.MultipleChoiceFilter(choices=LifecycleStage.choices)
    source = django_filters.MultipleChoiceFilter(choices=Source.choices)
    service_level = django_filters.MultipleChoiceFilter(choices=ServiceLevel.choices)
    owner = IdFilter(field_name="owner_id", label="Owner (user id)")
    tag = django_filters.CharFilter(field_name="tags__name", label="Has this tag (name)")
    company = IdFilter(field_name="company_links__company_id", label="Works at this company (id)")
    updated_after = DateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = DateTimeFilter(field_name="updated_at", lookup_expr="lt")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Person
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return persons_matching(queryset, value)


class CompanyFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Name, credit code or email domain contains")
    status = django_filters.MultipleChoiceFilter(choices=CompanyStatus.choices)
    size = django_filters.MultipleChoiceFilter(choices=CompanySize.choices)
    service_level = django_filters.MultipleChoiceFilter(choices=ServiceLevel.choices)
    owner = IdFilter(field_name="owner_id", label="Owner (user id)")
    tag = django_filters.CharFilter(field_name="tags__name", label="Has this tag (name)")
    region = django_filters.CharFilter(lookup_expr="icontains")
    industry = django_filters.CharFilter(lookup_expr="icontains")
    updated_after = DateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = DateTimeFilter(field_name="updated_at", lookup_expr="lt")

    class Meta:
        model = Company
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        term = value.strip()[:100]
        if not term:
            return queryset
        return queryset.filter(
            Q(name__icontains=term) | Q(credit_code__icontains=term) | Q(email_domain__icontains=term)
        )
