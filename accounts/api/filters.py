"""Filters shared by the API's filter sets, and the users filter set."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from accounts.models import User

MAX_ID = 2**63 - 1


class IdField(forms.IntegerField):
    """An id in a query string: a positive 64-bit integer, else a field error (never an overflow)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.Filter):
    field_class = IdField


class BoundedIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time the database can compare with: years 1–9999 once in UTC."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is not None:
            try:
                parsed.astimezone(dt.UTC)
            except (OverflowError, ValueError):
                raise forms.ValidationError("This date and time is out of range.", code="invalid") from None
        return parsed


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class UserFilter(django_filters.FilterSet):
    team = IdFilter(field_name="teams__id", label="Member of this team (id)")
    agents = django_filters.BooleanFilter(method="filter_agents", label="Only agents (users with an agent profile)")
    search = django_filters.CharFilter(method="filter_search", label="Username or name contains")

    class Meta:
        model = User
        fields: list[str] = []

    def filter_agents(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(agent_profile__isnull=not value)

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        term = value.strip()[:100]
        if not term:
            return queryset
        return queryset.filter(
            Q(username__icontains=term)
            | Q(display_name__icontains=term)
            | Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
        )
