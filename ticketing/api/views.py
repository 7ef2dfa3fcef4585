"""/api/v1/tickets/ and /api/v1/tickets/<id>/messages/.

Every queryset starts from `accounts.scope.visible`: a ticket out of scope is a
404. Every change goes through ticketing.services (one path per action).
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.exporting import ExportActionMixin
from accounts.api.parsers import PARSER_CLASSES
from accounts.api.scoping import FILTER_BACKENDS, ActionPermissions, ScopedObjectMixin, parse_id
from accounts.scope import visible
from crm.models import Identity
from ticketing import services
from ticketing.api import serializers as s
from ticketing.api.filters import TicketFilter
from ticketing.exports import TicketExport
from ticketing.models import Direction, Message, SlaTimer, Ticket
from ticketing.selectors import ticket_list_related, ticket_messages

NOT_FOUND = OpenApiResponse(description="Not found, or not visible to you.")
FORBIDDEN = OpenApiResponse(description="Your role lacks the permission for this action.")
INVALID = OpenApiResponse(description='Invalid input: {"detail": "Invalid input.", "errors": {field: [messages]}}')
WORKS_TICKETS = "ticketing.add_message"


def sees_internal_notes(user) -> bool:
    """Internal notes are for whoever works tickets (agents, supervisors), not for sales roles."""
    return user.has_perm(WORKS_TICKETS)


def ticket_with_details(queryset: QuerySet) -> QuerySet:
    return (
        ticket_list_related(queryset)
        .select_related("team", "sla_policy")
        .prefetch_related(
            Prefetch("customer__identities", queryset=Identity.objects.order_by("kind", "id")),
            Prefetch("sla_timers", queryset=SlaTimer.objects.order_by("started_at", "id")),
        )
    )


@extend_schema_view(
    list=extend_schema(summary="Tickets visible to you (compact)"),
    retrieve=extend_schema(
        summary="One ticket, with a summary of its customer", responses={200: s.TicketDetailSerializer, 404: NOT_FOUND}
    ),
)
class TicketViewSet(
    ExportActionMixin, ScopedObjectMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = [ActionPermissions]
    parser_classes = PARSER_CLASSES
    action_perms = {
        "list": ["ticketing.view_ticket"],
        "retrieve": ["ticketing.view_ticket"],
        "create": ["ticketing.add_ticket"],
        "partial_update": ["ticketing.change_ticket"],
        "reply": ["ticketing.view_ticket", "ticketing.add_message"],
        "note": ["ticketing.view_ticket", "ticketing.add_message"],
        "assign": ["ticketing.change_ticket"],  # assigning to others needs assign_any_ticket (service)
        "change_status": ["ticketing.change_ticket"],
        "merge": ["ticketing.change_ticket"],  # merging needs merge_ticket (service)
        "export": ["ticketing.view_ticket"],  # ticketing.export_ticket is checked by records_export
    }
    export_resource = TicketExport
    export_permission = "ticketing.export_ticket"
    filter_backends = FILTER_BACKENDS
    filterset_class = TicketFilter
    ordering_fields = ["updated_at", "created_at", "number", "priority", "status", "id"]
    ordering = ["-updated_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        tickets = visible(self.request.user, Ticket)
        if self.action in ("list", "export"):
            return ticket_list_related(tickets).select_related("sla_policy")
        if self.action == "retrieve":
            return ticket_with_details(tickets)
        return tickets  # actions answer with _detail(), fetched after the change

    def get_serializer_class(self):
        return s.TicketListSerializer if self.action == "list" else s.TicketDetailSerializer

    def _input(self, serializer_class, request: Request, **kwargs) -> dict:
        serializer = serializer_class(data=request.data, context=self.get_serializer_context(), **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _detail(self, ticket: Ticket, *, code: int = status.HTTP_200_OK) -> Response:
        fresh = ticket_with_details(Ticket.objects.all()).get(pk=ticket.pk)
        return Response(s.TicketDetailSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        summary="Open a ticket for a customer visible to you",
        request=s.TicketCreateSerializer,
        responses={201: s.TicketDetailSerializer, 400: INVALID, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        data = self._input(s.TicketCreateSerializer, request)
        ticket = services.ticket_create(by=request.user, **data)
        return self._detail(ticket, code=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change subject, priority or tags",
        request=s.TicketUpdateSerializer,
        responses={200: s.TicketDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        ticket = self.get_object()
        data = self._input(s.TicketUpdateSerializer, request, partial=True)
        ticket = services.ticket_update(ticket=ticket, by=request.user, **data)
        return self._detail(ticket)

    @extend_schema(
        summary="Reply to the customer on the ticket's channel",
        request=s.ReplySerializer,
        responses={201: s.MessageSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def reply(self, request: Request, pk=None) -> Response:
        ticket = self.get_object()
        data = self._input(s.ReplySerializer, request)
        message = services.ticket_reply(ticket=ticket, by=request.user, **data)
        return _message_response(message)

    @extend_schema(
        summary="Add an internal note (never shown to the customer)",
        request=s.NoteSerializer,
        responses={201: s.MessageSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def note(self, request: Request, pk=None) -> Response:
        ticket = self.get_object()
        data = self._input(s.NoteSerializer, request)
        message = services.ticket_add_note(ticket=ticket, by=request.user, **data)
        return _message_response(message)

    @extend_schema(
        summary="Assign to an agent (null unassigns) and/or move to a queue",
        request=s.AssignSerializer,
        responses={200: s.TicketDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def assign(self, request: Request, pk=None) -> Response:
        ticket = self.get_object()
        data = self._input(s.AssignSerializer, request)
        agent = data.get("assignee", ticket.assignee)  # only a queue given: keep the assignee
        ticket = services.ticket_assign(ticket=ticket, agent=agent, by=request.user, queue=data.get("queue"))
        return self._detail(ticket)

    @extend_schema(
        summary="Change the status (only allowed transitions)",
        request=s.StatusSerializer,
        responses={200: s.TicketDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="status", filter_backends=[])
    def change_status(self, request: Request, pk=None) -> Response:
        ticket = self.get_object()
        data = self._input(s.StatusSerializer, request)
        ticket = services.ticket_change_status(ticket=ticket, status=data["status"], by=request.user)
        return self._detail(ticket)

    @extend_schema(
        summary="Merge this ticket into another; this one is closed, its messages move",
        request=s.MergeSerializer,
        responses={200: s.TicketDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def merge(self, request: Request, pk=None) -> Response:
        ticket = self.get_object()
        data = self._input(s.MergeSerializer, request)
        target = services.ticket_merge(source=ticket, target=data["into"], by=request.user)
        return self._detail(target)


def _message_response(message: Message) -> Response:
    fresh = Message.objects.select_related("author", "sender").prefetch_related("attachments").get(pk=message.pk)
    return Response(s.MessageSerializer(fresh).data, status=status.HTTP_201_CREATED)


TICKET_PK = OpenApiParameter("ticket_pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="Ticket id")


@extend_schema_view(
    list=extend_schema(
        summary="Messages of a ticket, oldest first (internal notes included for agents)",
        parameters=[TICKET_PK],
        responses={200: s.MessageSerializer(many=True), 404: NOT_FOUND},
    ),
    create=extend_schema(
        summary="Reply (direction “out”) or add an internal note (direction “note”)",
        parameters=[TICKET_PK],
        request=s.MessageCreateSerializer,
        responses={201: s.MessageSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class TicketMessageViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [ActionPermissions]
    parser_classes = PARSER_CLASSES
    action_perms = {
        "list": ["ticketing.view_ticket"],
        "create": ["ticketing.view_ticket", "ticketing.add_message"],
    }
    serializer_class = s.MessageSerializer
    filter_backends: list = []

    def ticket(self) -> Ticket:
        cached = getattr(self, "_ticket", None)
        if cached is None:
            pk = parse_id(self.kwargs.get("ticket_pk", ""))
            cached = visible(self.request.user, Ticket).filter(pk=pk).first() if pk is not None else None
            if cached is None:
                raise exceptions.NotFound()
            self._ticket = cached
        return cached

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Message.objects.none()
        return ticket_messages(self.ticket(), include_internal=sees_internal_notes(self.request.user))

    def create(self, request: Request, ticket_pk=None) -> Response:
        ticket = self.ticket()
        serializer = s.MessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.pop("direction") == Direction.INTERNAL:
            message = services.ticket_add_note(ticket=ticket, by=request.user, body_text=data["body_text"])
        else:
            message = services.ticket_reply(ticket=ticket, by=request.user, **data)
        return _message_response(message)
