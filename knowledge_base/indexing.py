"""Incremental index updates: every save or delete of an article, ticket, message, customer,
identity or company reindexes the affected records after the transaction commits."""

import logging
import threading

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from knowledge_base.models import DocKind

logger = logging.getLogger(__name__)


_pending = threading.local()


def _pending_set() -> set:
    if not hasattr(_pending, "records"):
        _pending.records = set()
    return _pending.records


def index_after_commit(kind: str, object_ids) -> None:
    """Reindex these records once the transaction commits. One ingested email saves its ticket
    three times and its message once: the first callback of the commit indexes every pending
    record once, the others find nothing left. (Records of a rolled-back savepoint stay pending
    and are indexed at a later commit: indexing reads the database, so that is harmless.)"""
    ids = [i for i in object_ids if i]
    if not ids:
        return
    _pending_set().update((kind, object_id) for object_id in ids)
    transaction.on_commit(_flush, robust=True)


def _flush() -> None:
    from knowledge_base.search import index_record

    records = _pending_set()
    while records:
        kind, object_id = records.pop()
        try:
            index_record(kind, object_id)
        except Exception:  # the search index must never break a save; search_reindex repairs it
            logger.exception("search index update failed for %s %s", kind, object_id)


def _article(sender, instance, **kwargs):
    index_after_commit(DocKind.ARTICLE, [instance.pk])


def _ticket(sender, instance, **kwargs):
    index_after_commit(DocKind.TICKET, [instance.pk])


def _message(sender, instance, **kwargs):
    index_after_commit(DocKind.TICKET, [instance.ticket_id])


def _person(sender, instance, **kwargs):
    index_after_commit(DocKind.CUSTOMER, [instance.pk])


def _identity(sender, instance, **kwargs):
    index_after_commit(DocKind.CUSTOMER, [instance.person_id])


def _person_company(sender, instance, **kwargs):
    index_after_commit(DocKind.CUSTOMER, [instance.person_id])


def _company(sender, instance, **kwargs):
    people = list(instance.person_links.values_list("person_id", flat=True)[:5000]) if instance.pk else []
    index_after_commit(DocKind.CUSTOMER, people)


def _article_tags(sender, instance, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"} and getattr(instance, "pk", None):
        from knowledge_base.models import Article

        if isinstance(instance, Article):
            index_after_commit(DocKind.ARTICLE, [instance.pk])


def connect() -> None:
    from crm.models import Company, Identity, Person, PersonCompany
    from knowledge_base.models import Article
    from ticketing.models import Message, Ticket

    for model, handler in (
        (Article, _article),
        (Ticket, _ticket),
        (Message, _message),
        (Person, _person),
        (Identity, _identity),
        (PersonCompany, _person_company),
        (Company, _company),
    ):
        uid = f"kb-search-{model._meta.label_lower}"
        post_save.connect(handler, sender=model, dispatch_uid=uid + "-save")
        post_delete.connect(handler, sender=model, dispatch_uid=uid + "-delete")
    m2m_changed.connect(_article_tags, sender=Article.tags.through, dispatch_uid="kb-search-article-tags")
