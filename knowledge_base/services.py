"""Article workflow: one function per action (draft → review → published, versions, feedback)."""

import difflib

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from knowledge_base.models import Article, ArticleFeedback, ArticleTag, ArticleVersion, Category, Status, Visibility

_NEXT = {
    Status.DRAFT: {Status.REVIEW, Status.PUBLISHED},
    Status.REVIEW: {Status.DRAFT, Status.PUBLISHED},
    Status.PUBLISHED: {Status.DRAFT},
}


def _unique_slug(title: str, language: str, exclude_pk=None) -> str:
    base = slugify(title, allow_unicode=True)[:180] or "article"
    slug, n = base, 2
    while Article.objects.filter(language=language, slug=slug).exclude(pk=exclude_pk).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _clean(title: str, body: str, language: str) -> None:
    errors = {}
    if not (title or "").strip():
        errors["title"] = [_("A title is required.")]
    if not (body or "").strip():
        errors["body"] = [_("The article needs a body.")]
    if language not in {"zh", "en"}:
        errors["language"] = [_("Choose zh or en.")]
    if errors:
        raise ValidationError(errors)


def _version_save(article: Article, by, note: str = "") -> ArticleVersion:
    number = (article.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    return ArticleVersion.objects.create(
        article=article,
        number=number,
        title=article.title,
        summary=article.summary,
        body=article.body,
        author=by,
        note=note,
    )


def _tags_set(article: Article, tags) -> None:
    names = [t.strip()[:50] for t in tags if t and t.strip()]
    article.tags.set([ArticleTag.objects.get_or_create(name=n)[0] for n in names])


@transaction.atomic
def article_create(
    *,
    by,
    category: Category,
    title: str,
    body: str,
    language: str = "zh",
    summary: str = "",
    visibility: str = Visibility.PUBLIC,
    tags=(),
    translation_of: Article | None = None,
    slug: str = "",
    status: str = Status.DRAFT,
) -> Article:
    _clean(title, body, language)
    if (translation_of and translation_of.translations().filter(language=language).exists()) or (
        translation_of and translation_of.language == language
    ):
        raise ValidationError({"language": [_("This article already has a translation in that language.")]})
    article = Article(
        category=category,
        title=title.strip()[:200],
        body=body,
        language=language,
        summary=summary[:300],
        visibility=visibility,
        author=by,
        slug=_unique_slug(slug or title, language),
    )
    if translation_of:
        article.translation_key = translation_of.translation_key
    if status == Status.PUBLISHED:
        article.status, article.published_at = Status.PUBLISHED, timezone.now()
    article.save()
    _tags_set(article, tags)
    _version_save(article, by, note=_("Created"))
    return article


@transaction.atomic
def article_update(*, article: Article, by, note: str = "", **changes) -> Article:
    """Edit title/summary/body/category/visibility/tags; text changes make a new version."""
    article = Article.objects.select_for_update().get(pk=article.pk)
    tags = changes.pop("tags", None)
    text_changed = any(k in changes and changes[k] != getattr(article, k) for k in ("title", "summary", "body"))
    for field in ("title", "summary", "body", "category", "visibility", "position"):
        if field in changes:
            setattr(article, field, changes[field])
    _clean(article.title, article.body, article.language)
    article.updated_at = timezone.now()
    article.save()
    if tags is not None:
        _tags_set(article, tags)
    if text_changed:
        _version_save(article, by, note=note)
    return article


@transaction.atomic
def article_change_status(*, article: Article, by, status: str) -> Article:
    article = Article.objects.select_for_update().get(pk=article.pk)
    if status == article.status:
        return article
    if status not in _NEXT.get(article.status, set()):
        raise ValidationError(
            {"status": [_("An article cannot go from %(old)s to %(new)s.") % {"old": article.status, "new": status}]}
        )
    article.status = status
    if status == Status.PUBLISHED:
        article.published_at = timezone.now()
    article.updated_at = timezone.now()
    article.save()
    return article


def article_submit(*, article: Article, by) -> Article:
    return article_change_status(article=article, by=by, status=Status.REVIEW)


def article_publish(*, article: Article, by) -> Article:
    return article_change_status(article=article, by=by, status=Status.PUBLISHED)


def article_version_restore(*, article: Article, by, number: int) -> Article:
    version = article.versions.filter(number=number).first()
    if version is None:
        raise ValidationError({"version": [_("No such version.")]})
    return article_update(
        article=article,
        by=by,
        title=version.title,
        summary=version.summary,
        body=version.body,
        note=_("Restored version %(number)s") % {"number": number},
    )


def article_version_diff(*, article: Article, old: int, new: int | None = None) -> str:
    """A unified diff between two versions (the newest when `new` is omitted)."""
    versions = {v.number: v for v in article.versions.all()}
    new = new or max(versions, default=0)
    if old not in versions or new not in versions:
        raise ValidationError({"version": [_("No such version.")]})
    a, b = versions[old], versions[new]
    return "".join(
        difflib.unified_diff(
            f"{a.title}\n\n{a.body}\n".splitlines(keepends=True),
            f"{b.title}\n\n{b.body}\n".splitlines(keepends=True),
            fromfile=f"v{old}",
            tofile=f"v{new}",
        )
    )


def article_feedback_record(*, article: Article, helpful: bool, comment: str = "") -> ArticleFeedback:
    field = "helpful_yes" if helpful else "helpful_no"
    Article.objects.filter(pk=article.pk).update(**{field: F(field) + 1})
    return ArticleFeedback.objects.create(article=article, helpful=helpful, comment=(comment or "")[:1000])


def article_view_record(*, article: Article) -> None:
    # A queryset update: no signal, so a page view does not reindex the article.
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
