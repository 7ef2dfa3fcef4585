"""/api/v1/customers/ and /api/v1/companies/.

Reads come from `accounts.scope.visible`; writes go through crm.services, whose
ValidationError becomes a 400 with field messages (contact_center.api).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.exporting import ExportActionMixin
from accounts.api.parsers import PARSER_CLASSES
from accounts.api.scoping import FILTER_BACKENDS, ActionPermissions, ScopedObjectMixin
from accounts.audit import client_ip
from accounts.scope import visible
from crm import services
from crm.api import serializers as s
from crm.api.filters import CompanyFilter, PersonFilter
from crm.exports import CompanyExport, PersonExport
from crm.models import Company, Person
from crm.selectors import change_history, person_with_details, timeline_for

NOT_FOUND = OpenApiResponse(description="Not found, or not visible to you.")
FORBIDDEN = OpenApiResponse(description="Your role lacks the permission for this action.")
INVALID = OpenApiResponse(description='Invalid input: {"detail": "Invalid input.", "errors": {field: [messages]}}')


@extend_schema_view(
    list=extend_schema(summary="Customers visible to you"),
    retrieve=extend_schema(
        summary="One customer, with the latest timeline entries",
        responses={200: s.CustomerDetailSerializer, 404: NOT_FOUND},
    ),
)
class CustomerViewSet(
    ExportActionMixin, ScopedObjectMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Customers (people). The resident ID number is masked; reveal it with `reveal-id-number`."""

    permission_classes = [ActionPermissions]
    parser_classes = PARSER_CLASSES
    action_perms = {
        "list": ["crm.view_person"],
        "retrieve": ["crm.view_person"],
        "create": ["crm.add_person"],
        "partial_update": ["crm.change_person"],
        "history": ["crm.view_person"],
        "timeline": ["crm.view_person"],
        # crm.reveal_id_number is checked (and every reveal audited) by the service.
        "reveal_id_number": ["crm.view_person"],
        "share": ["crm.view_person", "crm.add_customershare"],
        "identities": ["crm.view_person", "crm.add_identity"],
        "export": ["crm.view_person"],  # crm.export_person is checked by records_export
    }
    export_resource = PersonExport
    export_permission = "crm.export_person"
    filter_backends = FILTER_BACKENDS
    filterset_class = PersonFilter
    ordering_fields = ["name", "created_at", "updated_at", "id"]
    ordering = ["-updated_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        people = visible(self.request.user, Person)
        # Actions load the customer only to act on it; their answers are built by _detail().
        return person_with_details(people) if self.action in ("list", "retrieve", "export") else people

    def get_serializer_class(self):
        return s.CustomerDetailSerializer if self.action == "retrieve" else s.CustomerSerializer

    def _detail(self, person: Person) -> dict:
        fresh = person_with_details(Person.objects.all()).get(pk=person.pk)
        return s.CustomerDetailSerializer(fresh, context=self.get_serializer_context()).data

    def _input(self, serializer_class, request: Request, **kwargs) -> dict:
        serializer = serializer_class(data=request.data, context=self.get_serializer_context(), **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @extend_schema(
        summary="Create a customer with their emails and phones",
        request=s.CustomerCreateSerializer,
        responses={201: s.CustomerDetailSerializer, 400: INVALID, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        data = self._input(s.CustomerCreateSerializer, request)
        data.setdefault("owner", request.user)
        person = services.person_create(by=request.user, **data)
        return Response(self._detail(person), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change fields of a customer (each change is kept in its history)",
        request=s.CustomerUpdateSerializer,
        responses={200: s.CustomerDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        person = self.get_object()
        data = self._input(s.CustomerUpdateSerializer, request, partial=True)
        services.person_update(person=person, by=request.user, **data)
        return Response(self._detail(person))

    @extend_schema(
        summary="The clear resident ID number (needs crm.reveal_id_number; audited)",
        request=None,
        responses={200: s.RevealedIdNumberSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="reveal-id-number", filter_backends=[])
    def reveal_id_number(self, request: Request, pk=None) -> Response:
        person = self.get_object()
        number = services.person_reveal_id_number(person=person, by=request.user, ip=client_ip(request))
        return Response({"id_number": number})

    @extend_schema(
        summary="Share this customer with a colleague, who then sees it whatever their scope",
        request=s.ShareRequestSerializer,
        responses={201: s.ShareSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def share(self, request: Request, pk=None) -> Response:
        person = self.get_object()
        data = self._input(s.ShareRequestSerializer, request)
        share = services.customer_share(person=person, user=data["user"], by=request.user)
        return Response(s.ShareSerializer(share).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Add an email, phone or chat identity to this customer",
        request=s.IdentityAddSerializer,
        responses={201: s.IdentitySerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def identities(self, request: Request, pk=None) -> Response:
        person = self.get_object()
        data = self._input(s.IdentityAddSerializer, request)
        identity = services.identity_add(person=person, kind=data["kind"], value=data["value"], by=request.user)
        return Response(s.IdentitySerializer(identity).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Field changes of this customer, newest first",
        responses={200: s.ChangeRecordSerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], filter_backends=[], serializer_class=s.ChangeRecordSerializer)
    def history(self, request: Request, pk=None) -> Response:
        person = self.get_object()
        return self._page(change_history(person), s.ChangeRecordSerializer)

    @extend_schema(
        summary="Everything that happened with this customer, on any channel, newest first",
        responses={200: s.TimelineEntrySerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], filter_backends=[], serializer_class=s.TimelineEntrySerializer)
    def timeline(self, request: Request, pk=None) -> Response:
        person = self.get_object()
        return self._page(
            timeline_for(user=request.user, person=person).order_by("-at", "-id"), s.TimelineEntrySerializer
        )

    def _page(self, queryset, serializer_class) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Companies visible to you"),
    retrieve=extend_schema(summary="One company", responses={200: s.CompanySerializer, 404: NOT_FOUND}),
)
class CompanyViewSet(
    ExportActionMixin, ScopedObjectMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = [ActionPermissions]
    parser_classes = PARSER_CLASSES
    action_perms = {
        "list": ["crm.view_company"],
        "retrieve": ["crm.view_company"],
        "create": ["crm.add_company"],
        "partial_update": ["crm.change_company"],
        "export": ["crm.view_company"],  # crm.export_company is checked by records_export
    }
    export_resource = CompanyExport
    export_permission = "crm.export_company"
    serializer_class = s.CompanySerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = CompanyFilter
    ordering_fields = ["name", "created_at", "updated_at", "id"]
    ordering = ["name", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return visible(self.request.user, Company).select_related("owner").prefetch_related("tags")

    def _detail(self, company: Company) -> dict:
        fresh = Company.objects.select_related("owner").prefetch_related("tags").get(pk=company.pk)
        return s.CompanySerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(
        summary="Create a company",
        request=s.CompanyWriteSerializer,
        responses={201: s.CompanySerializer, 400: INVALID, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        serializer = s.CompanyWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.setdefault("owner", request.user)
        company = services.company_create(by=request.user, **data)
        return Response(self._detail(company), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change fields of a company",
        request=s.CompanyUpdateSerializer,
        responses={200: s.CompanySerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        company = self.get_object()
        serializer = s.CompanyUpdateSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        services.company_update(company=company, by=request.user, **serializer.validated_data)
        return Response(self._detail(company))
