"""Knowledge-base and search API (mounted under /api/v1/)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from knowledge_base.api import ArticleViewSet, CategoryViewSet, SearchView, SuggestionsView

router = SimpleRouter()
router.register("kb/articles", ArticleViewSet, basename="kb-article-api")
router.register("kb/categories", CategoryViewSet, basename="kb-category-api")

urlpatterns = [
    path("search/", SearchView.as_view(), name="api-search"),
    path("kb/suggestions/", SuggestionsView.as_view(), name="api-kb-suggestions"),
    *router.urls,
]
