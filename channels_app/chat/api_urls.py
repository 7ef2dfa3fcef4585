"""Chat widget configuration API (issue 4)."""

urlpatterns: list = []
