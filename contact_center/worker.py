"""The worker: one process that runs persisted jobs and the periodic duties.

Jobs are django-tasks `@task` functions enqueued with `.enqueue()` (best inside
`transaction.on_commit`) and stored by django-tasks-db in the database, so they
survive restarts. A job claimed by a worker that died (no heartbeat for
WORKER_STALE_AFTER_SECONDS) is put back and run again: jobs must be idempotent.

Duties are periodic sweeps (`@duty("name", every=seconds)` in an app's
`duties.py`): SLA timers, offer expiry, outbox delivery, mailbox polling. They
keep their state in the database (deadline columns claimed with conditional
UPDATEs), so they too lose nothing on restart and may run in several workers.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import OperationalError, close_old_connections
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger("contact_center.worker")

HEARTBEAT_EVERY = 5.0


@dataclass
class Duty:
    name: str
    every: float
    run: Callable[[], object]
    next_at: float = field(default=0.0)


_duties: dict[str, Duty] = {}
_running_forever = False


def running_forever() -> bool:
    """True inside a long-running worker, False for `--once`: duties that start
    background threads (IMAP IDLE watchers) only make sense in the former."""
    return _running_forever


def duty(name: str, *, every: float):
    """Register a periodic duty of the worker."""

    def register(func):
        _duties[name] = Duty(name=name, every=every, run=func)
        return func

    return register


def registered_duties() -> dict[str, Duty]:
    autodiscover_modules("duties")
    return dict(_duties)


def _heartbeat(worker_id: str) -> None:
    from contact_center.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"hostname": socket.gethostname()[:200], "pid": os.getpid(), "last_seen": timezone.now()},
    )


def requeue_orphaned_jobs() -> int:
    """Put back jobs claimed by workers that stopped beating (killed, crashed)."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from contact_center.models import WorkerHeartbeat

    alive = set(
        WorkerHeartbeat.objects.filter(
            last_seen__gte=timezone.now() - timedelta(seconds=settings.WORKER_STALE_AFTER_SECONDS)
        ).values_list("worker_id", flat=True)
    )
    orphaned = [
        job.pk
        for job in DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).only("pk", "worker_ids")
        if not job.worker_ids or job.worker_ids[-1] not in alive
    ]
    if not orphaned:
        return 0
    count = DBTaskResult.objects.filter(pk__in=orphaned, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.READY, started_at=None
    )
    logger.warning("Requeued %d job(s) of workers that stopped", count)
    return count


def run_ready_jobs(worker_id: str, *, limit: int | None = None) -> int:
    """Claim and run ready jobs one at a time until none is left (or `limit`)."""
    from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS
    from django_tasks_db.management.commands.db_worker import Worker as DbWorker
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

    runner = DbWorker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    done = 0
    while limit is None or done < limit:
        ready = DBTaskResult.objects.ready().filter(backend_name=DEFAULT_TASK_BACKEND_ALIAS)
        try:
            with exclusive_transaction(ready.db):
                job = ready.get_locked()
                if job is not None:
                    job.claim(worker_id)
        except OperationalError as exc:
            if is_locked_database_exception(exc):
                return done
            raise
        if job is None:
            return done
        runner.run_task(job)  # records success or failure on the job; never raises
        done += 1
    return done


class Worker:
    def __init__(self, *, duties: dict[str, Duty], worker_id: str | None = None, poll_interval: float = 0.5):
        self.duties = duties
        self.worker_id = worker_id or f"{socket.gethostname()[:20]}-{os.getpid()}-{get_random_string(8)}"
        self.poll_interval = poll_interval
        self.running = True
        self._next_heartbeat = 0.0

    def stop(self, *_args) -> None:
        self.running = False

    def _run_duty(self, duty: Duty) -> None:
        try:
            duty.run()
        except Exception:  # a failing duty is logged and retried next round; the worker goes on
            logger.exception("Duty %s failed", duty.name)
        finally:
            close_old_connections()

    def _beat(self, now: float) -> None:
        if now < self._next_heartbeat:
            return
        try:
            _heartbeat(self.worker_id)
            requeue_orphaned_jobs()
        except Exception:
            logger.exception("Heartbeat failed")
        self._next_heartbeat = now + HEARTBEAT_EVERY

    def _run_jobs(self) -> int:
        try:
            return run_ready_jobs(self.worker_id, limit=50)
        except Exception:
            logger.exception("Running jobs failed")
            return 0
        finally:
            close_old_connections()

    def run_once(self) -> None:
        """Every duty once and every ready job: for tests and cron-style use."""
        self._beat(time.monotonic())
        for duty in self.duties.values():
            self._run_duty(duty)
        while self._run_jobs():
            pass

    def run_forever(self) -> None:
        global _running_forever
        _running_forever = True
        logger.info("Worker %s started with duties: %s", self.worker_id, ", ".join(self.duties) or "(none)")
        while self.running:
            now = time.monotonic()
            self._beat(now)
            for duty in self.duties.values():
                if not self.running:
                    break
                if now >= duty.next_at:
                    self._run_duty(duty)
                    duty.next_at = time.monotonic() + duty.every
            ran = self._run_jobs() if self.running else 0
            if self.running and not ran:
                next_duty = min((d.next_at for d in self.duties.values()), default=now + self.poll_interval)
                time.sleep(max(0.05, min(self.poll_interval, next_duty - time.monotonic())))
        logger.info("Worker %s stopped", self.worker_id)
