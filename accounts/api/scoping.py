"""Pieces every REST viewset shares: record scope, per-action permissions, safe ids.

A record the caller may not see answers 404 exactly like one that does not exist,
so an id never leaks whether it exists. Permissions are Django model permissions,
named per action by each viewset (`action_perms`); an action that names none is refused.
"""

from __future__ import annotations

import re

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import BasePermission

# Primary keys are positive 64-bit integers; anything else cannot name a record.
_ID = re.compile(r"[0-9]{1,18}")


def parse_id(value) -> int | None:
    """The integer id in `value`, or None when it cannot be one (garbage, overflow)."""
    text = str(value)
    if not _ID.fullmatch(text):
        return None
    number = int(text)
    return number if number > 0 else None


class ActionPermissions(BasePermission):
    """Django model permissions per viewset action, e.g. `{"list": ["crm.view_person"]}`.

    OPTIONS (`metadata`) needs what `list` needs. A method the viewset does not
    route has no action; it is let through so the caller gets a clear 405.
    """

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        action = getattr(view, "action", None)
        if action is None:
            return True
        perms_by_action: dict[str, list[str]] = view.action_perms
        if action == "metadata":
            action = "list" if "list" in perms_by_action else "retrieve"
        perms = perms_by_action.get(action)
        if perms is None:
            return False
        return user.has_perms(perms)


class AnyOfPermissions(BasePermission):
    """At least one of the view's `any_of_perms` (lookups used by several roles)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return any(user.has_perm(perm) for perm in view.any_of_perms)


class ScopedObjectMixin:
    """`get_object()` that answers 404 for a malformed id, a missing record and one out of scope."""

    def get_object(self):
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        pk = parse_id(self.kwargs.get(lookup_url_kwarg, ""))
        if pk is None:
            raise exceptions.NotFound()
        # Unlike DRF's get_object, list filters (?status=...) do not apply: a visible record is always found.
        obj = self.get_queryset().filter(pk=pk).first()
        if obj is None:
            raise exceptions.NotFound()
        self.check_object_permissions(self.request, obj)
        return obj


class StableOrderingFilter(OrderingFilter):
    """`?ordering=` with the id as the last key, so pages never repeat or skip a row."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if not any(key.lstrip("-") in {"id", "pk"} for key in ordering):
            last_descending = bool(ordering) and ordering[-1].startswith("-")
            ordering.append("-id" if last_descending else "id")
        return ordering


# `?search=` is a filter-set field calling the app's selector (one search for the API and
# the console), so DRF's SearchFilter is left out.
FILTER_BACKENDS = [DjangoFilterBackend, StableOrderingFilter]
