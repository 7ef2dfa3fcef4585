"""Leases on database rows: which process may do a piece of work now (fetch a mailbox, drain the
search queue). Taken and renewed with one conditional UPDATE, so two processes never hold one at
once; the lease of a process that dies runs out. The model has `lease_owner` and `lease_until`."""

import os
import socket
import threading
from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone


def lease_owner() -> str:
    """This thread of this process on this host: host:pid:thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]


def lease_take(rows: QuerySet, *, owner: str, seconds: float) -> bool:
    """Take or renew the lease on these rows, unless another owner holds it and it has not run out."""
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    return bool(rows.filter(free).update(lease_owner=owner, lease_until=now + timedelta(seconds=seconds)))


def lease_release(rows: QuerySet, *, owner: str) -> None:
    rows.filter(lease_owner=owner).update(lease_owner="", lease_until=None)
