"""Search: one interface over the built-in database backend and Elasticsearch (ELASTICSEARCH_URL).

- `search_global(user, query, kind)` — the console's global search, scoped to the user.
- `article_suggestions(query, language, limit)` — public articles (widget deflection).
- `ticket_article_suggestions(user, ticket)` — articles for an open ticket (agents).
- `index_record(kind, id)` / `search_reindex()` — keep the index in step (see indexing.py).
"""

import logging
from functools import lru_cache

from django.conf import settings

from knowledge_base import documents, text
from knowledge_base.backends.base import Filters, Hit, SearchBackend
from knowledge_base.highlight import snippet
from knowledge_base.models import DocKind

logger = logging.getLogger(__name__)

BATCH = 500


@lru_cache(maxsize=4)
def _backend_for(url: str) -> SearchBackend:
    if url:
        from knowledge_base.backends.elastic import ElasticsearchBackend

        return ElasticsearchBackend(url, index=getattr(settings, "ELASTICSEARCH_INDEX", "contact-center-search"))
    from knowledge_base.backends.database import DatabaseBackend

    return DatabaseBackend()


def backend() -> SearchBackend:
    return _backend_for(settings.ELASTICSEARCH_URL or "")


def search_backend_ready() -> str:
    """For /readyz: a short status, raising when the backend does not answer."""
    return backend().ready()


def is_staff_member(user) -> bool:
    """Agents and every other role-holding user see internal articles; the public does not."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or user.is_staff or user.groups.filter(role__isnull=False).exists()


def _terms(query: str, be: SearchBackend) -> list[str]:
    terms = text.query_terms(query)
    return terms + [t for t in be.correct(terms) if t not in terms]


def _results(hits: list[Hit], query: str, terms: list[str]) -> list[dict]:
    out = []
    for hit in hits:
        title, title_marks = snippet(hit.title, query, terms, width=300)
        body, body_marks = snippet(hit.body, query, terms)
        out.append(
            {
                "type": hit.kind,
                "id": hit.object_id,
                "title": title,
                "title_highlights": title_marks,
                "snippet": body,
                "highlights": body_marks,
                "url": hit.url,
                "language": hit.language,
                "score": round(hit.score, 4),
            }
        )
    return out


def _scope_filter(user, kind: str) -> Filters:
    from accounts import scope
    from knowledge_base.backends.database import DatabaseBackend

    grant = scope.grant_for(user)
    if grant.sees_all:
        return Filters(public_only=False)
    # unordered: SQLite otherwise walks the tickets in recency order to build the list (4x slower)
    queryset = scope.visible(user, "ticketing.Ticket" if kind == DocKind.TICKET else "crm.Person").order_by()
    queryset = queryset.values("pk")
    if isinstance(backend(), DatabaseBackend):
        return Filters(public_only=False, scope_sql=queryset.query.sql_with_params())
    return Filters(public_only=False, scope_ids=list(queryset.values_list("pk", flat=True)[:65_000]))


def search_global(user, query: str, kind: str = DocKind.ARTICLE, limit: int = 10, language: str = "") -> list[dict]:
    """Search one kind of record as `user` sees it: tickets and customers through record scope,
    internal articles only for staff."""
    query = (query or "").strip()[:200]
    if not query or not getattr(user, "is_authenticated", False):
        return []
    be = backend()
    terms = _terms(query, be)
    if kind == DocKind.ARTICLE:
        filters = Filters(public_only=not is_staff_member(user))
    else:
        filters = _scope_filter(user, kind)
    filters.language = language or ("zh" if text.is_chinese(query) else "en")
    return _results(be.search(terms, kind, filters, limit), query, terms)


def articles_search(query: str, *, language: str = "", public_only: bool = True, limit: int = 10) -> list[dict]:
    query = (query or "").strip()[:500]
    if not query:
        return []
    be = backend()
    terms = _terms(query, be)
    filters = Filters(public_only=public_only, language=language or ("zh" if text.is_chinese(query) else "en"))
    return _results(be.search(terms, DocKind.ARTICLE, filters, limit), query, terms)


def article_suggestions(query: str, language: str, limit: int = 5) -> list[dict]:
    """Public articles for a visitor's question (chat widget deflection): title, url, snippet."""
    try:
        results = articles_search(query, language=language, public_only=True, limit=max(1, min(limit, 20)))
    except Exception:  # deflection is a nicety: never break the widget
        logger.exception("article suggestions failed")
        return []
    return [{"title": r["title"], "url": r["url"], "snippet": r["snippet"]} for r in results]


def ticket_article_suggestions(ticket, limit: int = 5) -> list[dict]:
    """Articles for an open ticket: its subject weighs most, then the latest customer messages."""
    from ticketing.models import Direction

    messages = ticket.messages.filter(direction=Direction.INBOUND).order_by("-created_at")
    texts = [ticket.subject, ticket.subject, *list(messages.values_list("body_text", flat=True)[:3])]
    query = " ".join(t[:300] for t in texts if t)
    language = ticket.language or ("zh" if text.is_chinese(query) else "en")
    return articles_search(query, language=language, public_only=False, limit=limit)


def index_record(kind: str, object_id: int) -> None:
    index_records([(kind, object_id)])


def index_records(records) -> None:
    """Bring these (kind, id) records' documents up to date in one bulk write per backend call."""
    found, gone = [], {}
    for kind, object_id in records:
        document = documents.document_for(kind, object_id)
        if document is None:
            gone.setdefault(kind, []).append(object_id)
        else:
            found.append(document)
    be = backend()
    be.index(found)
    for kind, object_ids in gone.items():
        be.delete(kind, object_ids)


def _batches(renew=lambda: None):
    for kind in (DocKind.ARTICLE, DocKind.TICKET, DocKind.CUSTOMER):
        ids = list(documents.all_ids(kind))
        for start in range(0, len(ids), BATCH):
            renew()
            yield [d for d in (documents.document_for(kind, i) for i in ids[start : start + BATCH]) if d]


def search_reindex() -> int:
    """Rebuild the whole index (Elasticsearch: a new index behind the alias; database: the table).
    Records queued before the rebuild started are in it: exactly those queue rows go (a row whose
    transaction commits during the rebuild may describe a change the rebuild read too early)."""
    from knowledge_base.indexing import queued_forget, rebuild_lease
    from knowledge_base.models import PendingIndex

    with rebuild_lease() as renew:
        queued = list(PendingIndex.objects.values_list("pk", flat=True))
        count = backend().rebuild(_batches(renew))
        for start in range(0, len(queued), 1000):
            PendingIndex.objects.filter(pk__in=queued[start : start + 1000]).delete()
        queued_forget()
    return count
