"""Articles, their categories, versions, attachments and feedback; the search table."""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    ZH = "zh", "简体中文"
    EN = "en", "English"


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REVIEW = "review", _("In review")
    PUBLISHED = "published", _("Published")


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal (agents only)")


class Category(models.Model):
    """A top-level category, or a section inside one (parent set)."""

    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="sections", verbose_name=_("category")
    )
    slug = models.SlugField(_("slug"), max_length=100, unique=True, allow_unicode=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    description_zh = models.CharField(_("description (Chinese)"), max_length=300, blank=True)
    description_en = models.CharField(_("description (English)"), max_length=300, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name_en or self.name_zh

    def name_in(self, language: str) -> str:
        return self.name_zh if language == Language.ZH else self.name_en

    def description_in(self, language: str) -> str:
        return self.description_zh if language == Language.ZH else self.description_en


class ArticleTag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("article tag")
        verbose_name_plural = _("article tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    """One language of an article; translations share `translation_key`."""

    translation_key = models.UUIDField(_("translation group"), default=uuid.uuid4, db_index=True)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.ZH)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="articles", verbose_name=_("category / section")
    )
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200, allow_unicode=True)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(
        _("body"),
        help_text=_(
            "Plain text; blank lines separate paragraphs, lines starting with '- ' become lists, '## ' a heading."
        ),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    visibility = models.CharField(_("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    tags = models.ManyToManyField(ArticleTag, blank=True, related_name="articles", verbose_name=_("tags"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    view_count = models.PositiveIntegerField(_("views"), default=0)
    helpful_yes = models.PositiveIntegerField(_("helpful"), default=0)
    helpful_no = models.PositiveIntegerField(_("not helpful"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["language", "slug"], name="kb_article_unique_slug"),
            models.UniqueConstraint(fields=["translation_key", "language"], name="kb_article_one_per_language"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("kb-article", kwargs={"language": self.language, "slug": self.slug})

    @property
    def is_public(self) -> bool:
        return self.status == Status.PUBLISHED and self.visibility == Visibility.PUBLIC

    def translations(self):
        return Article.objects.filter(translation_key=self.translation_key).exclude(pk=self.pk)


class ArticleVersion(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(_("body"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        ordering = ["article", "-number"]
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="kb_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.article} v{self.number}"


class ArticleAttachment(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="kb/%Y/%m/")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=150, default="application/octet-stream")
    size = models.PositiveIntegerField(_("size"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("article attachment")
        verbose_name_plural = _("article attachments")

    def __str__(self) -> str:
        return self.filename

    @property
    def is_image(self) -> bool:
        return self.content_type in {"image/png", "image/jpeg", "image/gif", "image/webp"}


class ArticleFeedback(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField(_("helpful"))
    comment = models.CharField(_("comment"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("article feedback")
        verbose_name_plural = _("article feedback")

    def __str__(self) -> str:
        return f"{self.article_id}: {'+' if self.helpful else '-'}"


class DocKind(models.TextChoices):
    ARTICLE = "article", _("Article")
    TICKET = "ticket", _("Ticket")
    CUSTOMER = "customer", _("Customer")


class SearchDocument(models.Model):
    """One searchable record for the database backend. `title_tokens`/`body_tokens` hold the
    segmented, normalized words (knowledge_base.text); the full-text index over them is an
    SQLite FTS5 table or a PostgreSQL tsvector column, created in migration 0002."""

    kind = models.CharField(max_length=10, choices=DocKind.choices)
    object_id = models.BigIntegerField()
    language = models.CharField(max_length=5, blank=True)
    public = models.BooleanField(default=False)  # articles: published and public
    staff = models.BooleanField(default=False)  # articles: published (public or internal)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    title_tokens = models.TextField(blank=True)
    body_tokens = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="kb_searchdoc_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"


class SearchTerm(models.Model):
    """Vocabulary of indexed English words, for typo correction of queries."""

    term = models.CharField(max_length=60, unique=True)
    length = models.PositiveSmallIntegerField(db_index=True)

    def __str__(self) -> str:
        return self.term


class PendingIndex(models.Model):
    """A record whose search document must be refreshed, written in the transaction that changed it
    (so a crash after the commit loses nothing); the worker's `search_index` duty drains it in bulk.
    Not unique: a change committed while its record is being indexed adds a row of its own."""

    kind = models.CharField(max_length=10, choices=DocKind.choices)
    object_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("pending search update")
        verbose_name_plural = _("pending search updates")

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"


class IndexLease(models.Model):
    """One row: which worker drains the PendingIndex queue now. Two workers at once could write a
    document built before a change over one built after it, and delete both queue rows."""

    lease_owner = models.CharField(max_length=120, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("search indexing lease")
        verbose_name_plural = _("search indexing leases")

    def __str__(self) -> str:
        return f"{self.lease_owner or '-'} until {self.lease_until}"
