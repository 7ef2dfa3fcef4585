"""REST API: global search, ticket suggestions, articles and their workflow (staff only)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import scope
from contact_center.api import Pagination
from knowledge_base import services
from knowledge_base.models import Article, Category, DocKind, Status
from knowledge_base.search import is_staff_member, search_global, ticket_article_suggestions

TYPES = {"articles": DocKind.ARTICLE, "tickets": DocKind.TICKET, "customers": DocKind.CUSTOMER}


class IsStaffMember(permissions.BasePermission):
    def has_permission(self, request, view):
        return is_staff_member(request.user)


class SearchResultSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["article", "ticket", "customer"])
    id = serializers.IntegerField()
    title = serializers.CharField()
    title_highlights = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="[start, end) character offsets into `title`",
    )
    snippet = serializers.CharField()
    highlights = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="[start, end) character offsets into `snippet`",
    )
    url = serializers.CharField()
    language = serializers.CharField()
    score = serializers.FloatField()


class SearchResponseSerializer(serializers.Serializer):
    query = serializers.CharField()
    type = serializers.CharField()
    results = SearchResultSerializer(many=True)


class SearchView(APIView):
    """Global search as the caller sees it: tickets and customers through record scope, internal
    articles for staff only. Snippets carry highlight offsets (build marks with textContent)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                required=True,
                description="words, a ticket number, or digits of a phone number (4 or more)",
            ),
            OpenApiParameter("type", OpenApiTypes.STR, enum=list(TYPES), description="default: articles"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1–50, default 10"),
        ],
        responses=SearchResponseSerializer,
    )
    def get(self, request):
        query = request.query_params.get("q", "").strip()
        kind = request.query_params.get("type", "articles")
        errors = {}
        if not query:
            errors["q"] = ["Enter something to search for."]
        elif len(query) > 200:
            errors["q"] = ["At most 200 characters."]
        if kind not in TYPES:
            errors["type"] = [f"One of: {', '.join(TYPES)}."]
        try:
            limit = max(1, min(int(request.query_params.get("limit", 10)), 50))
        except ValueError:
            errors["limit"] = ["A whole number."]
        if errors:
            raise ValidationError(errors)
        results = search_global(request.user, query, kind=TYPES[kind], limit=limit)
        return Response({"query": query, "type": kind, "results": results})


class SuggestionsView(APIView):
    """Articles for a ticket, from its subject and latest customer messages (404 outside scope)."""

    permission_classes = [IsStaffMember]

    @extend_schema(
        parameters=[OpenApiParameter("ticket", OpenApiTypes.INT, required=True)],
        responses=SearchResponseSerializer,
    )
    def get(self, request):
        raw = request.query_params.get("ticket", "")
        if not raw.isdigit():
            raise ValidationError({"ticket": ["A ticket id is required."]})
        ticket = get_object_or_404(scope.visible(request.user, "ticketing.Ticket"), pk=int(raw))
        results = ticket_article_suggestions(ticket)
        return Response({"query": ticket.subject, "type": "articles", "results": results})


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "parent", "slug", "name_zh", "name_en", "description_zh", "description_en", "position"]


class ArticleSerializer(serializers.ModelSerializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, write_only=True)
    tag_names = serializers.SerializerMethodField()
    translation_of = serializers.PrimaryKeyRelatedField(
        queryset=Article.objects.all(), required=False, write_only=True, allow_null=True
    )
    translations = serializers.SerializerMethodField()
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Article
        fields = [
            "id",
            "language",
            "category",
            "title",
            "slug",
            "summary",
            "body",
            "status",
            "visibility",
            "tags",
            "tag_names",
            "translation_of",
            "translations",
            "url",
            "view_count",
            "helpful_yes",
            "helpful_no",
            "created_at",
            "updated_at",
            "published_at",
        ]
        read_only_fields = [
            "slug",
            "status",
            "view_count",
            "helpful_yes",
            "helpful_no",
            "created_at",
            "updated_at",
            "published_at",
        ]

    def get_translations(self, obj) -> dict[str, int]:
        return {a.language: a.pk for a in obj.translations()}

    def get_tag_names(self, obj) -> list[str]:
        return [tag.name for tag in obj.tags.all()]


class VersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    author = serializers.CharField(source="author.username", default="")


class DiffSerializer(serializers.Serializer):
    diff = serializers.CharField()


class RestoreSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)


class CategoryViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsStaffMember]
    serializer_class = CategorySerializer
    queryset = Category.objects.all()
    http_method_names = ["get", "post", "patch"]


class ArticleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Articles for staff. Text edits make versions; status moves through submit / publish / unpublish
    (publishing needs a supervisor or admin)."""

    permission_classes = [IsStaffMember]
    serializer_class = ArticleSerializer
    pagination_class = Pagination
    http_method_names = ["get", "post", "patch", "delete"]

    def get_queryset(self):
        qs = Article.objects.select_related("category").prefetch_related("tags").order_by("-updated_at", "id")
        params = self.request.query_params
        for field in ("language", "status", "visibility", "category"):
            if params.get(field):
                qs = qs.filter(**{field: params[field]})
        return qs

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.article_create(by=self.request.user, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("language", None)
        data.pop("translation_of", None)
        serializer.instance = services.article_update(article=serializer.instance, by=self.request.user, **data)

    def _moved(self, request, status):
        article = self.get_object()
        publishing = Status.PUBLISHED in {status, article.status}
        if publishing and not scope.grant_for(request.user).sees_all:
            self.permission_denied(request, message="Only supervisors and admins publish or unpublish.")
        article = services.article_change_status(article=article, by=request.user, status=status)
        return Response(ArticleSerializer(article).data)

    @extend_schema(request=None, responses=ArticleSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._moved(request, Status.REVIEW)

    @extend_schema(request=None, responses=ArticleSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._moved(request, Status.PUBLISHED)

    @extend_schema(request=None, responses=ArticleSerializer)
    @action(detail=True, methods=["post"])
    def unpublish(self, request, pk=None):
        return self._moved(request, Status.DRAFT)

    @extend_schema(responses=VersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        article = self.get_object()
        return Response(VersionSerializer(article.versions.select_related("author"), many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.INT, required=True),
            OpenApiParameter("to", OpenApiTypes.INT),
        ],
        responses=DiffSerializer,
    )
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        article = self.get_object()
        try:
            old = int(request.query_params.get("from", ""))
            new = int(request.query_params["to"]) if request.query_params.get("to") else None
        except ValueError:
            raise ValidationError({"from": ["Version numbers are whole numbers."]}) from None
        return Response({"diff": services.article_version_diff(article=article, old=old, new=new)})

    @extend_schema(request=RestoreSerializer, responses=ArticleSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        article = self.get_object()
        body = RestoreSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        article = services.article_version_restore(
            article=article, by=request.user, number=body.validated_data["version"]
        )
        return Response(ArticleSerializer(article).data)
