"""The public help center: browse, read, search, feedback. No sign-in needed; internal articles
and unpublished ones are shown to staff only."""

from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_POST

from knowledge_base.models import Article, ArticleAttachment, Category, Status, Visibility
from knowledge_base.render import body_html
from knowledge_base.search import articles_search, is_staff_member
from knowledge_base.services import article_feedback_record, article_view_record

UI_LANGUAGE = {"zh": "zh-hans", "en": "en"}


def _language(language: str) -> str:
    if language not in UI_LANGUAGE:
        raise Http404
    return language


def _articles(request):
    qs = Article.objects.select_related("category")
    if is_staff_member(request.user):
        return qs
    return qs.filter(status=Status.PUBLISHED, visibility=Visibility.PUBLIC)


def _page(request, language, template, context, switch_url=None):
    other = "en" if language == "zh" else "zh"
    context.update(
        {
            "kb_language": language,
            "other_language": other,
            "switch_url": switch_url or reverse("kb-home", kwargs={"language": other}),
            "categories": [(c, c.name_in(language)) for c in Category.objects.filter(parent__isnull=True)],
            "staff": is_staff_member(request.user),
        }
    )
    with translation.override(UI_LANGUAGE[language]):
        response = render(request, template, context)
    response["Content-Language"] = UI_LANGUAGE[language]
    return response


def help_home_redirect(request):
    language = "zh" if (translation.get_language() or "zh").startswith("zh") else "en"
    return redirect("kb-home", language=language)


def help_home(request, language):
    language = _language(language)
    articles = _articles(request).filter(language=language)
    sections = []
    for category in Category.objects.filter(parent__isnull=True):
        ids = [category.pk, *category.sections.values_list("pk", flat=True)]
        top = list(articles.filter(category_id__in=ids).order_by("position", "id")[:5])
        count = articles.filter(category_id__in=ids).count()
        if count:
            sections.append(
                {
                    "category": category,
                    "name": category.name_in(language),
                    "description": category.description_in(language),
                    "articles": top,
                    "count": count,
                }
            )
    popular = articles.order_by("-view_count", "position")[:6]
    return _page(request, language, "knowledge_base/home.html", {"sections": sections, "popular": popular})


def help_category(request, language, slug):
    language = _language(language)
    category = get_object_or_404(Category, slug=slug)
    articles = _articles(request).filter(language=language)
    groups = [(category.name_in(language), list(articles.filter(category=category)))]
    for section in category.sections.all():
        groups.append((section.name_in(language), list(articles.filter(category=section))))
    groups = [(name, items) for name, items in groups if items]
    switch = reverse("kb-category", kwargs={"language": "en" if language == "zh" else "zh", "slug": slug})
    return _page(
        request,
        language,
        "knowledge_base/category.html",
        {"category": category, "category_name": category.name_in(language), "groups": groups},
        switch,
    )


def help_article(request, language, slug):
    language = _language(language)
    article = _articles(request).filter(language=language, slug=slug).first()
    if article is None:
        raise Http404
    if article.is_public:
        article_view_record(article=article)
    translation_ = _articles(request).filter(translation_key=article.translation_key).exclude(pk=article.pk).first()
    related = (
        _articles(request)
        .filter(language=language, category=article.category)
        .exclude(pk=article.pk)
        .order_by("position", "id")[:5]
    )
    context = {
        "article": article,
        "body": body_html(article.body),
        "category_name": article.category.name_in(language),
        "translation": translation_,
        "related": related,
        "attachments": article.attachments.all(),
        "voted": request.session.get(f"kb-voted-{article.pk}"),
    }
    switch = translation_.get_absolute_url() if translation_ else None
    return _page(request, language, "knowledge_base/article.html", context, switch)


@require_POST
def help_feedback(request, language, slug):
    article = get_object_or_404(_articles(request), language=_language(language), slug=slug)
    key = f"kb-voted-{article.pk}"
    if not request.session.get(key):  # one vote per visitor session
        article_feedback_record(
            article=article, helpful=request.POST.get("helpful") == "yes", comment=request.POST.get("comment", "")
        )
        request.session[key] = (request.POST.get("helpful") == "yes" and "yes") or "no"
    return HttpResponseRedirect(article.get_absolute_url() + "#feedback")


def help_search(request, language):
    language = _language(language)
    query = request.GET.get("q", "").strip()[:200]
    results = []
    if query:
        results = articles_search(query, language=language, public_only=not is_staff_member(request.user), limit=20)
        # the index may lag a moment behind an unpublish: show only what the reader may open now
        allowed = set(_articles(request).filter(pk__in=[r["id"] for r in results]).values_list("pk", flat=True))
        results = [r for r in results if r["id"] in allowed]
        for r in results:
            r["snippet_parts"] = _parts(r["snippet"], r["highlights"])
            r["title_parts"] = _parts(r["title"], r["title_highlights"])
    switch = reverse("kb-search", kwargs={"language": "en" if language == "zh" else "zh"}) + (
        f"?{request.GET.urlencode()}" if query else ""
    )
    return _page(request, language, "knowledge_base/search.html", {"query": query, "results": results}, switch)


def _parts(text: str, spans: list[list[int]]) -> list[tuple[str, bool]]:
    """Text split into (piece, highlighted) for the template, which escapes every piece."""
    parts, at = [], 0
    for start, end in spans:
        if start > at:
            parts.append((text[at:start], False))
        parts.append((text[start:end], True))
        at = end
    parts.append((text[at:], False))
    return [p for p in parts if p[0]]


def attachment_download(request, pk):
    attachment = get_object_or_404(ArticleAttachment.objects.select_related("article"), pk=pk)
    if not _articles(request).filter(pk=attachment.article_id).exists():
        raise Http404
    inline = attachment.is_image
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=not inline,
        filename=attachment.filename,
        content_type=attachment.content_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def agent_tools(request):
    """Staff page with the console's knowledge-base panel and global search mounted (?ticket=<id>)."""
    if not is_staff_member(request.user):
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    ticket = request.GET.get("ticket", "")
    return render(request, "knowledge_base/agent_tools.html", {"ticket_id": ticket if ticket.isdigit() else ""})
