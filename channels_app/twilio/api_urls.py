"""Phone API under /api/v1/phone/ (issue 8)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from channels_app.twilio.api import CallViewSet, MyPhoneView, PhoneLineViewSet, VoiceTokenView

router = SimpleRouter()
router.register("phone/lines", PhoneLineViewSet, basename="phone-line")
router.register("phone/calls", CallViewSet, basename="phone-call")

urlpatterns = [
    path("phone/me/", MyPhoneView.as_view(), name="phone-me"),
    path("phone/token/", VoiceTokenView.as_view(), name="phone-token"),
    *router.urls,
]
