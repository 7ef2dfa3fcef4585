"""One queue row per record and transaction: a new ticket's save and its first message's are one row,
unless the savepoint that queued it rolled back (then it is queued again)."""

import pytest
from django.db import transaction

from knowledge_base.indexing import index_after_commit
from knowledge_base.models import PendingIndex
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def rows(kind, object_id):
    return PendingIndex.objects.filter(kind=kind, object_id=object_id).count()


def test_a_new_ticket_with_its_message_is_queued_once(org):
    with transaction.atomic():
        ticket = factories.ticket(subject="Zebra lamp flickers", body_text="It flickers")
    assert ticket.messages.count() == 1
    assert rows("ticket", ticket.pk) == 1


def test_a_record_queued_in_a_rolled_back_savepoint_is_queued_again(org):
    with transaction.atomic():
        try:
            with transaction.atomic():
                index_after_commit("ticket", [424242])
                raise RuntimeError
        except RuntimeError:
            pass
        index_after_commit("ticket", [424242])
        index_after_commit("ticket", [424242])
    assert rows("ticket", 424242) == 1


def test_each_transaction_queues_its_own_row(org):
    for _ in range(2):
        with transaction.atomic():
            index_after_commit("ticket", [515151, 515151])
    assert rows("ticket", 515151) == 2
