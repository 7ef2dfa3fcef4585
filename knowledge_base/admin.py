"""Admin for the knowledge base: articles go through the services, so edits make versions and
status changes follow draft → review → published."""

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from knowledge_base import services
from knowledge_base.models import (
    Article,
    ArticleAttachment,
    ArticleFeedback,
    ArticleTag,
    ArticleVersion,
    Category,
    IndexLease,
    PendingIndex,
    Status,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "slug", "parent", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name_en"]}


@admin.register(ArticleTag)
class ArticleTagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class AttachmentInline(admin.TabularInline):
    model = ArticleAttachment
    extra = 0
    fields = ["file", "filename", "content_type", "size"]


class VersionInline(admin.TabularInline):
    model = ArticleVersion
    extra = 0
    fields = ["number", "title", "note", "author", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "language", "category", "status", "visibility", "view_count", "helpful", "updated_at"]
    list_filter = ["language", "status", "visibility", "category"]
    search_fields = ["title", "body", "slug"]
    autocomplete_fields = ["tags"]
    readonly_fields = [
        "slug",
        "status",
        "view_count",
        "helpful_yes",
        "helpful_no",
        "published_at",
        "translation_key",
        "public_link",
    ]
    fields = [
        "language",
        "category",
        "title",
        "summary",
        "body",
        "visibility",
        "tags",
        "position",
        "status",
        "slug",
        "public_link",
        "translation_key",
        "view_count",
        "helpful_yes",
        "helpful_no",
        "published_at",
    ]
    inlines = [AttachmentInline, VersionInline]
    actions = ["submit_for_review", "publish", "unpublish"]

    @admin.display(description=_("helpful"))
    def helpful(self, obj):
        return f"{obj.helpful_yes} / {obj.helpful_no}"

    @admin.display(description=_("public page"))
    def public_link(self, obj):
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), obj.get_absolute_url()) if obj.pk else ""

    def save_model(self, request, obj, form, change):
        if change:
            data = {f: form.cleaned_data[f] for f in ("title", "summary", "body", "category", "visibility", "position")}
            services.article_update(article=obj, by=request.user, **data)
            obj.refresh_from_db()
        else:
            created = services.article_create(
                by=request.user,
                category=obj.category,
                title=obj.title,
                body=obj.body,
                language=obj.language,
                summary=obj.summary,
                visibility=obj.visibility,
            )
            obj.pk = created.pk
            obj.refresh_from_db()

    def _move(self, request, queryset, status):
        for article in queryset:
            try:
                services.article_change_status(article=article, by=request.user, status=status)
            except Exception as error:
                self.message_user(request, f"{article}: {error}", messages.ERROR)

    @admin.action(description=_("Submit for review"))
    def submit_for_review(self, request, queryset):
        self._move(request, queryset, Status.REVIEW)

    @admin.action(description=_("Publish"))
    def publish(self, request, queryset):
        self._move(request, queryset, Status.PUBLISHED)

    @admin.action(description=_("Back to draft (unpublish)"))
    def unpublish(self, request, queryset):
        self._move(request, queryset, Status.DRAFT)


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(admin.ModelAdmin):
    list_display = ["article", "helpful", "comment", "created_at"]
    list_filter = ["helpful"]


@admin.register(PendingIndex)
class PendingIndexAdmin(admin.ModelAdmin):
    """The search index's queue (drained every second by the worker): to look at, never to edit."""

    list_display = ["kind", "object_id"]
    list_filter = ["kind"]
    search_fields = ["kind"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IndexLease)
class IndexLeaseAdmin(admin.ModelAdmin):
    """Which worker drains the search queue now: to look at, never to edit."""

    list_display = ["lease_owner", "lease_until"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
