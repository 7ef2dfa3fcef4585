"""`live_markers`: what a batch's savepoints rolled back is gone from it, what came after is in it."""

import pytest
from django.db import transaction

from contact_center.deferred import commit_marker, live_markers


@pytest.mark.django_db
def test_markers_follow_savepoint_rollbacks_and_later_registrations():
    with transaction.atomic():
        kept = commit_marker()
        assert id(kept) in live_markers()
        try:
            with transaction.atomic():
                dropped = commit_marker()
                assert {id(kept), id(dropped)} <= live_markers()
                raise RuntimeError
        except RuntimeError:
            pass
        alive = live_markers()
        assert id(kept) in alive and id(dropped) not in alive
        later = commit_marker()
        assert {id(kept), id(later)} <= live_markers()
        assert id(dropped) not in live_markers()
