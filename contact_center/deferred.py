"""Rows written in one bulk INSERT per model at the end of a worker's batch transaction, instead of one
INSERT each as they come (the mail poller: a search-queue row and two timeline lines per message).

`inserts_deferred()` is entered inside the batch's `transaction.atomic()`; `insert_or_defer` saves at
once outside it. A row deferred inside a savepoint that rolls back is dropped with it: Django forgets
the savepoint's on_commit callbacks, and each deferred row is paired with such a callback (a no-op).
The rows get their post_save signal (created=True) after the bulk insert, still in the transaction."""

from __future__ import annotations

import contextvars
import weakref
from contextlib import contextmanager

from django.db import transaction
from django.db.models.signals import post_save

from contact_center.scoped import scoped_value

_current = contextvars.ContextVar("deferred_inserts", default=None)


class _Marker:
    def __call__(self) -> None:
        pass


def commit_marker() -> _Marker:
    """A no-op on_commit callback, registered now. Django drops a rolled-back savepoint's callbacks, so
    while the marker is among `live_markers()` what was written alongside it has not been rolled back."""
    marker = _Marker()
    transaction.on_commit(marker)
    return marker


# Per connection: [its on_commit list, the ids of the callbacks in it, how many of them are in the set].
_known: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def live_markers() -> set[int]:
    """The ids of the on_commit callbacks the open transaction still holds (read it at once: the set grows).
    Django appends a callback to the list and replaces the list when a savepoint rolls back or the transaction
    ends, so the set is extended while the list is the same one, not rebuilt at each of a batch's calls."""
    connection = transaction.get_connection()
    callbacks = connection.run_on_commit
    known = _known.get(connection)
    if known is None or known[0] is not callbacks or known[2] > len(callbacks):
        known = _known[connection] = [callbacks, set(), 0]  # holding the list: its id cannot be reused meanwhile
    known[1].update(id(func) for _sids, func, _robust in callbacks[known[2] :])
    known[2] = len(callbacks)
    return known[1]


def insert_or_defer(objects: list) -> None:
    """Insert these new rows of one model now (one: saved, with its signals; several: in bulk, without), or
    at the end of the batch when one is open."""
    pending = _current.get()
    if pending is None or not transaction.get_connection().in_atomic_block:
        if len(objects) == 1:
            objects[0].save(force_insert=True)
        elif objects:
            type(objects[0]).objects.bulk_create(objects)
        return
    pending.append((commit_marker(), objects))


@contextmanager
def inserts_deferred():
    with scoped_value(_current, list) as pending:
        yield
        if pending is not None:  # the outermost block: written before its transaction commits
            _flush(pending)


def _flush(pending: list) -> None:
    alive = live_markers()
    by_model: dict = {}
    for marker, objects in pending:
        if id(marker) in alive:
            for obj in objects:
                by_model.setdefault(type(obj), []).append(obj)
    for model, objects in by_model.items():
        model.objects.bulk_create(objects)
        for obj in objects:
            post_save.send(sender=model, instance=obj, created=True, update_fields=None, raw=False, using="default")
