"""Routing API: configuration (supervisors and admins), the caller's offers, explain and queue stats."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import AgentSkill, Skill
from accounts.scope import visible
from routing import selectors, services
from routing.api import serializers as s
from routing.models import Offer, OfferStatus, QueueRouting, RoutingStep
from ticketing.api.serializers import TicketDetailSerializer
from ticketing.models import Ticket

SUPERVISES = "ticketing.assign_any_ticket"
NOT_FOUND = OpenApiResponse(description="Not found, or not visible to you.")


class ConfiguresRouting(permissions.BasePermission):
    """Supervisors (who may assign any ticket) and holders of the model permissions; reading too."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.has_perm(SUPERVISES):
            return True
        model = view.queryset.model
        verb = {"GET": "view", "HEAD": "view", "OPTIONS": "view", "POST": "add", "DELETE": "delete"}.get(
            request.method, "change"
        )
        return user.has_perm(f"{model._meta.app_label}.{verb}_{model._meta.model_name}")


class _Config(viewsets.ModelViewSet):
    permission_classes = [ConfiguresRouting]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]


class SkillViewSet(_Config):
    serializer_class = s.SkillSerializer
    queryset = Skill.objects.order_by("code")


class AgentSkillViewSet(_Config):
    serializer_class = s.AgentSkillSerializer
    queryset = AgentSkill.objects.select_related("skill", "agent").order_by("agent_id", "skill__code")
    filterset_fields = ["agent", "skill"]


class QueueRoutingViewSet(_Config):
    serializer_class = s.QueueRoutingSerializer
    queryset = QueueRouting.objects.select_related("queue").prefetch_related("steps", "companies").order_by("id")


class RoutingStepViewSet(_Config):
    serializer_class = s.RoutingStepSerializer
    queryset = RoutingStep.objects.order_by("rule_id", "after_seconds", "position")
    filterset_fields = ["rule"]


class OfferViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's pending offers; accept or decline one of them."""

    serializer_class = s.OfferSerializer
    permission_classes = [permissions.IsAuthenticated]
    queryset = Offer.objects.none()
    pagination_class = None

    def get_queryset(self):
        mine = Offer.objects.filter(agent=self.request.user).select_related("ticket")
        if self.action == "list":
            return mine.filter(status=OfferStatus.PENDING).order_by("expires_at")
        return mine

    def _offer(self, pk) -> Offer:
        if not str(pk).isdigit():
            raise exceptions.NotFound()
        return get_object_or_404(self.get_queryset(), pk=int(pk))

    @extend_schema(request=None, responses={200: TicketDetailSerializer, 400: OpenApiResponse(), 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Take the offered ticket; 400 when it expired, was decided or you are at capacity."""
        ticket = services.offer_accept(offer=self._offer(pk), agent=request.user)
        ticket = Ticket.objects.select_related("customer", "queue", "assignee", "team").get(pk=ticket.pk)
        return Response(TicketDetailSerializer(ticket, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={200: s.OfferSerializer, 400: OpenApiResponse(), 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        offer = services.offer_decline(offer=self._offer(pk), agent=request.user)
        return Response(s.OfferSerializer(Offer.objects.select_related("ticket").get(pk=offer.pk)).data)


class TicketExplainView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(summary="Why a ticket went where it went", responses={200: s.ExplainSerializer, 404: NOT_FOUND})
    def get(self, request, ticket_id: int):
        ticket = get_object_or_404(visible(request.user, Ticket).select_related("queue"), pk=ticket_id)
        return Response(s.ExplainSerializer(selectors.ticket_explain(ticket)).data)


class TicketTransferView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Transfer a ticket to a queue (routed again) or to an agent (offered to them)",
        request=s.TransferSerializer,
        responses={200: TicketDetailSerializer, 400: OpenApiResponse(), 403: OpenApiResponse(), 404: NOT_FOUND},
    )
    def post(self, request, ticket_id: int):
        ticket = get_object_or_404(visible(request.user, Ticket), pk=ticket_id)
        serializer = s.TransferSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ticket = services.ticket_transfer(ticket=ticket, by=request.user, **serializer.validated_data)
        ticket = Ticket.objects.select_related("customer", "queue", "assignee", "team").get(pk=ticket.pk)
        return Response(TicketDetailSerializer(ticket, context={"request": request}).data)


class QueueStatsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Per queue: waiting, longest wait, offers and average speed of answer",
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="Count offers from here (default: 24 h)")
        ],
        responses={200: s.QueueStatsSerializer(many=True)},
    )
    def get(self, request):
        if not (request.user.has_perm(SUPERVISES) or request.user.has_perm("routing.view_queuerouting")):
            raise exceptions.PermissionDenied()
        since = None
        if request.query_params.get("since"):
            try:
                since = parse_datetime(request.query_params["since"])
            except ValueError:
                since = None
            if since is None:
                raise exceptions.ValidationError({"since": ["Expected an ISO 8601 date and time."]})
        return Response(s.QueueStatsSerializer(selectors.queue_stats(since=since), many=True).data)
