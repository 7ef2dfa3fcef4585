"""Query-string filters for tickets. A bad value is a 400 naming the filter, never a 500."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

from accounts.api.filters import DateTimeFilter, IdFilter
from accounts.api.scoping import parse_id
from ticketing.models import Channel, Priority, Status, Ticket
from ticketing.selectors import UNSOLVED_STATUSES, ticket_search, tickets_unsolved


class TicketFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", label="Number, subject, or the customer's name, email or phone"
    )
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices)
    unsolved = django_filters.BooleanFilter(method="filter_unsolved", label="Only tickets not solved or closed")
    assignee = django_filters.CharFilter(method="filter_assignee", label="User id, “me” or “none” (unassigned)")
    queue = IdFilter(field_name="queue_id", label="Queue (id)")
    team = IdFilter(field_name="team_id", label="Team (id)")
    customer = IdFilter(field_name="customer_id", label="Customer (id)")
    company = IdFilter(field_name="company_id", label="Company (id)")
    tag = django_filters.CharFilter(field_name="tags__name", label="Has this tag (name)")
    updated_after = DateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = DateTimeFilter(field_name="updated_at", lookup_expr="lt")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Ticket
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return ticket_search(queryset, value)

    def filter_unsolved(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return tickets_unsolved(queryset) if value else queryset.exclude(status__in=UNSOLVED_STATUSES)

    def filter_assignee(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip().lower()
        if value == "me":
            return queryset.filter(assignee_id=self.request.user.pk)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        user_id = parse_id(value)
        if user_id is None:
            raise ValidationError({"assignee": ["Give a user id, “me” or “none”."]})
        return queryset.filter(assignee_id=user_id)
