"""Routing API: skills, queue rules, offers, explain, stats (issue 5)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from routing.api import views

router = SimpleRouter()
router.register("offers", views.OfferViewSet, basename="offer")
router.register("routing/skills", views.SkillViewSet, basename="routing-skill")
router.register("routing/agent-skills", views.AgentSkillViewSet, basename="routing-agent-skill")
router.register("routing/queues", views.QueueRoutingViewSet, basename="routing-queue")
router.register("routing/steps", views.RoutingStepViewSet, basename="routing-step")

urlpatterns = [
    path("routing/tickets/<int:ticket_id>/explain/", views.TicketExplainView.as_view(), name="routing-explain"),
    path("routing/tickets/<int:ticket_id>/transfer/", views.TicketTransferView.as_view(), name="routing-transfer"),
    path("routing/queues/stats/", views.QueueStatsView.as_view(), name="routing-queue-stats"),
    *router.urls,
]
