"""REST API v1. Each app contributes its viewsets to the router."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts.api.auth import ObtainTokenView
from accounts.api.views import UserViewSet
from channels_app.api import MailboxViewSet
from crm.api.views import CompanyViewSet, CustomerViewSet
from ticketing.api.views import TicketMessageViewSet, TicketViewSet

router = DefaultRouter()
router.register("customers", CustomerViewSet, basename="customer")
router.register("companies", CompanyViewSet, basename="company")
router.register("tickets", TicketViewSet, basename="ticket")
# Nested: the ticket id is checked against record scope by the viewset (404 when out of scope).
router.register(r"tickets/(?P<ticket_pk>[^/.]+)/messages", TicketMessageViewSet, basename="ticket-message")
router.register("users", UserViewSet, basename="user")
router.register("mailboxes", MailboxViewSet, basename="mailbox")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    *router.urls,
    path("", include("routing.api_urls")),
    path("", include("knowledge_base.api_urls")),
    path("", include("channels_app.chat.api_urls")),
    path("", include("channels_app.twilio.api_urls")),
]
