"""Incremental index updates: every save or delete of an article, ticket, message, customer,
identity or company queues the affected records (a PendingIndex row, in the same transaction);
the worker's `search_index` duty (duties.py) indexes the queue in bulk every second. The saving
process pays one INSERT instead of building and writing the documents, and a crash between the
commit and the indexing loses nothing."""

import logging
import time
import weakref
from contextlib import contextmanager

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from contact_center.deferred import commit_marker, insert_or_defer, live_markers
from contact_center.leases import lease_owner, lease_release, lease_take
from knowledge_base.models import DocKind, IndexLease, PendingIndex

logger = logging.getLogger(__name__)

BATCH = 200  # records per bulk update: on SQLite each batch is one short write transaction
MAX_BATCHES = 20  # per call: the duty returns to the worker's other duties at least this often
LEASE_SECONDS = 60  # far longer than a call takes; a worker killed mid-call delays indexing by this


# Per connection: (kind, id) → the on_commit marker registered when its row was queued in the open transaction.
_queued: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def index_after_commit(kind: str, object_ids) -> None:
    """Queue these records for reindexing; visible to the worker once the transaction commits
    (and never, with it, when it rolls back). A record already queued in the open transaction is
    not queued again (a new ticket's save and its first message's: one row), unless the savepoint
    that queued it was rolled back."""
    ids = list(dict.fromkeys(i for i in object_ids if i))
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        if ids:
            PendingIndex.objects.bulk_create([PendingIndex(kind=kind, object_id=i) for i in ids])
        return
    queued = _queued.setdefault(connection, {})
    alive = live_markers()  # a record's marker still there: its queue row was not rolled back either
    if not alive or len(queued) > 10_000:
        queued.clear()  # markers of earlier transactions
    ids = [i for i in ids if id(queued.get((kind, i))) not in alive]
    if not ids:
        return
    insert_or_defer([PendingIndex(kind=kind, object_id=i) for i in ids])  # in a worker's batch: at its end
    marker = commit_marker()
    for i in ids:
        queued[(kind, i)] = marker


def queued_forget() -> None:
    """Queue rows were deleted (drained or covered by a rebuild), perhaps rows this transaction queued:
    from now on queue every record again."""
    _queued.pop(transaction.get_connection(), None)


def _lease(owner: str) -> bool:
    IndexLease.objects.get_or_create(pk=1)
    return lease_take(IndexLease.objects.filter(pk=1), owner=owner, seconds=LEASE_SECONDS)


def index_pending() -> int:
    """Index the queued records, oldest first, in batches; returns how many distinct records.
    One worker at a time, and none during a rebuild (they find the lease taken and return 0).
    A batch that fails stays queued and is retried on the next call."""
    owner = lease_owner()
    if not _lease(owner):
        return 0
    try:
        return _drain()
    finally:
        lease_release(IndexLease.objects.filter(pk=1), owner=owner)


@contextmanager
def rebuild_lease(wait: float = 120):
    """Hold the queue for a rebuild: the duty would otherwise index into the old index (Elasticsearch
    switches the alias at the end) and drop the queue rows of changes the rebuild may have missed.
    Yields `renew`, to call between batches; the lease runs out by itself if the rebuild dies."""
    owner = f"rebuild:{lease_owner()}"
    deadline = time.monotonic() + wait
    while not _lease(owner):
        if time.monotonic() > deadline:
            raise RuntimeError("The search queue is held by another process; try again in a minute.")
        time.sleep(0.5)
    try:
        yield lambda: _lease(owner)
    finally:
        lease_release(IndexLease.objects.filter(pk=1), owner=owner)


def _drain() -> int:
    from knowledge_base.search import index_records

    done = 0
    for _ in range(MAX_BATCHES):
        rows = list(PendingIndex.objects.order_by("pk").values_list("pk", "kind", "object_id")[:BATCH])
        if not rows:
            break
        records = {(kind, object_id) for _, kind, object_id in rows}
        try:
            index_records(records)
        except Exception:
            if not _one_by_one(records):  # the backend is down: keep the batch for the next round
                logger.exception("search index update failed for %d record(s); kept queued", len(records))
                break
        PendingIndex.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()
        queued_forget()
        done += len(records)
        if len(rows) < BATCH:
            break
    return done


def _one_by_one(records) -> bool:
    """After a failed batch: index each record alone. False when none could be (keep them all);
    otherwise the ones that fail are dropped with a log line, for search_reindex to repair,
    rather than block the queue."""
    from knowledge_base.search import index_records

    failed = []
    for record in records:
        try:
            index_records([record])
        except Exception:
            failed.append(record)
    if len(failed) == len(records):
        return False
    for kind, object_id in failed:
        logger.error("search index update failed for %s %s; dropped from the queue", kind, object_id)
    return True


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
