"""Housekeeping duties of the worker itself."""

from datetime import timedelta

from django.utils import timezone

from contact_center.worker import duty

FINISHED_JOBS_KEPT = timedelta(days=14)


@duty("prune_finished_jobs", every=3600)
def prune_finished_jobs() -> int:
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from contact_center.models import WorkerHeartbeat

    WorkerHeartbeat.objects.filter(last_seen__lt=timezone.now() - timedelta(days=1)).delete()
    deleted, _ = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
        finished_at__lt=timezone.now() - FINISHED_JOBS_KEPT,
    ).delete()
    return deleted
