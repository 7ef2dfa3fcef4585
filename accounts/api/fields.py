"""Serializer fields the API shares: references by id (scoped or not) and named enums.

A reference to a record outside the caller's scope reads exactly like one that
does not exist, so a request body never leaks whether an id exists.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.scoping import parse_id
from accounts.scope import visible


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference to a record the requesting user may see; any other id reads as unknown."""

    def __init__(self, model: type[Model], **kwargs):
        self.scoped_model = model
        kwargs.setdefault(
            "error_messages",
            {"does_not_exist": _("No record #{pk_value} is visible to you."), "incorrect_type": _("Expected an id.")},
        )
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None:
            return self.scoped_model._default_manager.none()
        return visible(user, self.scoped_model)

    def to_internal_value(self, data):
        if isinstance(data, bool) or parse_id(data) is None:
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(parse_id(data))


@extend_schema_field(OpenApiTypes.INT)
class ReferenceField(serializers.PrimaryKeyRelatedField):
    """A reference to an unscoped record (user, queue) by id; garbage ids are a 400, not a 500."""

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {"incorrect_type": _("Expected an id.")})
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or parse_id(data) is None:
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(parse_id(data))


# `?search=` is a filter-set field calling the app's selector (one search for API and
# console), so DRF's SearchFilter is left out.


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose OpenAPI enum has an explicit name (e.g. TicketStatusEnum):
    several models have a `status`, and the schema must not guess between them."""

    def __init__(self, *, enum_name: str, **kwargs):
        self.enum_name = enum_name
        super().__init__(**kwargs)


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        values = [value for value in self.target.choices if value not in ("", None)]
        component = ResolvedComponent(
            name=self.target.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=self.target.enum_name,
            schema={"type": "string", "enum": values},
        )
        auto_schema.registry.register_on_missing(component)
        if self.target.allow_blank:
            return {"oneOf": [component.ref, {"type": "string", "enum": [""]}]}
        return component.ref
