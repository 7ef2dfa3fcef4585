"""Record scope: which records a user may see. Decided here, applied everywhere.

`grant_for(user)` turns roles, department, subordinates, teams and shares into
a `Grant`. Each app registers how its scoped models are filtered by a grant
(`register`), and every list, detail, search, export, API endpoint and websocket
asks `visible(user, Model)` or `scoped(user, queryset)` — never filters by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import Model, QuerySet

from accounts.models import DataScope, Department, User

# Wider scopes first: a user with several roles gets the widest.
_SCOPE_ORDER = [
    DataScope.ALL,
    DataScope.DEPARTMENT_TREE,
    DataScope.DEPARTMENT,
    DataScope.OWN_AND_SUBORDINATES,
    DataScope.OWN,
]


@dataclass(frozen=True)
class Grant:
    user_id: int
    data_scope: str
    sees_all: bool
    # Users whose own records (customers they own, tickets assigned to them) are visible.
    user_ids: frozenset[int] = field(default_factory=frozenset)
    # Teams whose queues' tickets are visible.
    team_ids: frozenset[int] = field(default_factory=frozenset)


ScopeFilter = Callable[[Grant, QuerySet], QuerySet]
_filters: dict[str, ScopeFilter] = {}


def register(model_label: str, scope_filter: ScopeFilter) -> None:
    _filters[model_label.lower()] = scope_filter


def data_scope_of(user: User) -> str:
    if user.is_superuser:
        return DataScope.ALL
    scopes = set(user.groups.filter(role__isnull=False).values_list("role__data_scope", flat=True))
    for scope in _SCOPE_ORDER:
        if scope in scopes:
            return scope
    return DataScope.OWN


def _subordinate_ids(user_id: int) -> set[int]:
    found: set[int] = set()
    frontier = {user_id}
    while frontier:
        frontier = set(User.objects.filter(manager_id__in=frontier).values_list("id", flat=True)) - found - {user_id}
        found |= frontier
    return found


def _department_tree_ids(root_id: int) -> set[int]:
    found = {root_id}
    frontier = {root_id}
    while frontier:
        frontier = set(Department.objects.filter(parent_id__in=frontier).values_list("id", flat=True)) - found
        found |= frontier
    return found


def grant_for(user: User) -> Grant:
    if not user.is_authenticated or not user.is_active:
        return Grant(user_id=0, data_scope=DataScope.OWN, sees_all=False)
    cached = getattr(user, "_record_scope_grant", None)
    if cached is not None:
        return cached

    scope = data_scope_of(user)
    user_ids = {user.id}
    if scope == DataScope.OWN_AND_SUBORDINATES:
        user_ids |= _subordinate_ids(user.id)
    elif scope == DataScope.DEPARTMENT and user.department_id:
        user_ids |= set(User.objects.filter(department_id=user.department_id).values_list("id", flat=True))
    elif scope == DataScope.DEPARTMENT_TREE and user.department_id:
        departments = _department_tree_ids(user.department_id)
        user_ids |= set(User.objects.filter(department_id__in=departments).values_list("id", flat=True))
    team_ids = frozenset(user.teams.values_list("id", flat=True))

    grant = Grant(
        user_id=user.id,
        data_scope=scope,
        sees_all=scope == DataScope.ALL,
        user_ids=frozenset(user_ids),
        team_ids=team_ids,
    )
    user._record_scope_grant = grant  # per request/connection; the user object is rebuilt each time
    return grant


def scoped(user: User, queryset: QuerySet) -> QuerySet:
    """Narrow `queryset` to what `user` may see. Unregistered models are refused."""
    label = queryset.model._meta.label_lower
    try:
        scope_filter = _filters[label]
    except KeyError:
        raise LookupError(f"No record scope registered for {label}") from None
    grant = grant_for(user)
    if grant.user_id == 0:
        return queryset.none()
    if grant.sees_all:
        return queryset
    return scope_filter(grant, queryset)


def visible(user: User, model: type[Model] | str) -> QuerySet:
    if isinstance(model, str):
        model = apps.get_model(model)
    return scoped(user, model._default_manager.all())


def can_see(user: User, obj: Model) -> bool:
    return visible(user, type(obj)).filter(pk=obj.pk).exists()
