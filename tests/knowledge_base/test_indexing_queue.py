"""Index updates are queued in the transaction that makes the change and indexed in bulk by the
worker's search_index duty: nothing is lost between a commit and the indexing."""

import pytest
from django.db import transaction

from contact_center.worker import registered_duties
from knowledge_base import search
from knowledge_base.indexing import index_pending
from knowledge_base.models import PendingIndex
from knowledge_base.search import search_global, search_reindex
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_backend(settings):
    settings.ELASTICSEARCH_URL = ""
    search._backend_for.cache_clear()
    yield
    search._backend_for.cache_clear()


def ids(results):
    return [r["id"] for r in results]


def test_a_new_ticket_is_searchable_after_the_worker_round(org, database_backend, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = factories.ticket(subject="Zebra lamp flickers", queue_=factories.queue(team_=org.tech_team))
    assert search_global(org.supervisor, "zebra", kind="ticket") == []
    queued = set(PendingIndex.objects.values_list("kind", "object_id"))
    assert ("ticket", ticket.pk) in queued  # with its new customer; its several saves count once
    assert registered_duties()["search_index"].run() == len(queued)
    assert ids(search_global(org.supervisor, "zebra", kind="ticket")) == [ticket.pk]
    assert not PendingIndex.objects.exists()


def test_a_rolled_back_change_leaves_nothing_queued(org, database_backend):
    before = PendingIndex.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.ticket(subject="Never happened", queue_=factories.queue(team_=org.tech_team))
        raise RuntimeError
    assert PendingIndex.objects.count() == before


def test_a_failed_round_keeps_the_queue_for_the_next(org, database_backend, monkeypatch):
    ticket = factories.ticket(subject="Zebra lamp flickers", queue_=factories.queue(team_=org.tech_team))

    def down(records):
        raise ConnectionError("search backend down")

    monkeypatch.setattr(search, "index_records", down)
    assert index_pending() == 0
    monkeypatch.undo()
    queued = set(PendingIndex.objects.values_list("kind", "object_id"))
    assert ("ticket", ticket.pk) in queued
    assert index_pending() == len(queued)
    assert ids(search_global(org.supervisor, "zebra", kind="ticket")) == [ticket.pk]


def test_a_record_that_cannot_be_indexed_does_not_block_the_others(org, database_backend, monkeypatch):
    broken = factories.ticket(subject="Zebra crossing", queue_=factories.queue(team_=org.tech_team))
    fine = factories.ticket(subject="Zebra lamp flickers", queue_=factories.queue(team_=org.tech_team))
    index_records = search.index_records

    def fails_on_broken(records):
        if ("ticket", broken.pk) in set(records):
            raise ValueError("cannot build this document")
        index_records(records)

    monkeypatch.setattr(search, "index_records", fails_on_broken)
    assert index_pending() > 0
    assert not PendingIndex.objects.exists()
    assert ids(search_global(org.supervisor, "zebra", kind="ticket")) == [fine.pk]


def test_a_deleted_ticket_leaves_the_index_on_the_next_round(org, database_backend):
    ticket = factories.ticket(subject="Zebra lamp flickers", queue_=factories.queue(team_=org.tech_team))
    index_pending()
    pk = ticket.pk
    ticket.delete()
    assert ids(search_global(org.supervisor, "zebra", kind="ticket")) == [pk]
    index_pending()
    assert search_global(org.supervisor, "zebra", kind="ticket") == []


def test_a_reindex_empties_the_queue_of_what_it_covered(org, database_backend):
    ticket = factories.ticket(subject="Zebra lamp flickers", queue_=factories.queue(team_=org.tech_team))
    search_reindex()
    assert not PendingIndex.objects.exists()
    assert ids(search_global(org.supervisor, "zebra", kind="ticket")) == [ticket.pk]


def test_one_worker_at_a_time_drains_the_queue_and_a_dead_ones_lease_runs_out(org, database_backend):
    from datetime import timedelta

    from django.utils import timezone

    from knowledge_base.models import IndexLease

    ticket = factories.ticket(subject="Zebra lamp flickers", queue_=factories.queue(team_=org.tech_team))
    # Another worker is draining: two at once could write a stale document over a fresh one.
    IndexLease.objects.update_or_create(
        pk=1, defaults={"lease_owner": "other-host:1:1", "lease_until": timezone.now() + timedelta(seconds=30)}
    )
    assert index_pending() == 0
    assert PendingIndex.objects.filter(kind="ticket", object_id=ticket.pk).exists()
    # That worker was killed mid-round: its lease runs out and the queue is drained.
    IndexLease.objects.filter(pk=1).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert index_pending() >= 1
    assert ids(search_global(org.supervisor, "zebra", kind="ticket")) == [ticket.pk]
    assert IndexLease.objects.get(pk=1).lease_until is None  # released for the next round, whoever runs it


def test_a_change_made_during_a_rebuild_stays_queued_and_the_duty_waits_for_the_rebuild(
    org, database_backend, monkeypatch
):
    queue = factories.queue(team_=org.tech_team)
    before = factories.ticket(subject="Zebra lamp flickers", queue_=queue)
    during = {}
    batches = search._batches

    def rebuilding(renew=lambda: None):
        # The rebuild has read the queue; a ticket changes and the worker's duty comes round.
        during["ticket"] = factories.ticket(subject="Walrus fan rattles", queue_=queue)
        during["duty"] = index_pending()
        yield from batches(renew)

    monkeypatch.setattr(search, "_batches", rebuilding)
    search_reindex()

    assert during["duty"] == 0  # it would have indexed into what the rebuild replaces
    assert not PendingIndex.objects.filter(kind="ticket", object_id=before.pk).exists()
    assert PendingIndex.objects.filter(kind="ticket", object_id=during["ticket"].pk).exists()
    index_pending()
    assert ids(search_global(org.supervisor, "walrus", kind="ticket")) == [during["ticket"].pk]
