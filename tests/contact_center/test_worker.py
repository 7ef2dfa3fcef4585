"""The worker runs persisted jobs and periodic duties; killing it loses nothing."""

import signal

import pytest
from django.core.management import call_command
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from contact_center.worker import Duty, Worker, registered_duties
from crm.models import Person
from tests.contact_center import jobs
from tests.processes import database_env, manage, wait_for
from ticketing.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def test_enqueued_job_runs_on_the_next_worker_pass():
    result = jobs.record.enqueue("王五")
    assert not Person.objects.filter(name="王五").exists()
    call_command("run_worker", "--once")
    assert Person.objects.filter(name="王五").count() == 1
    assert DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.SUCCESSFUL


def test_a_failing_job_is_recorded_and_the_worker_goes_on():
    bad = jobs.record.enqueue("")  # person_create refuses an empty name
    good = jobs.record.enqueue("赵六")
    call_command("run_worker", "--once")
    failed = DBTaskResult.objects.get(pk=bad.id)
    assert failed.status == TaskResultStatus.FAILED
    assert failed.exception_class_path == "django.core.exceptions.ValidationError"
    assert DBTaskResult.objects.get(pk=good.id).status == TaskResultStatus.SUCCESSFUL


def test_a_failing_duty_does_not_stop_the_others():
    ran = []

    def broken():
        raise RuntimeError("boom")

    worker = Worker(
        duties={
            "broken": Duty(name="broken", every=1, run=broken),
            "fine": Duty(name="fine", every=1, run=lambda: ran.append(1)),
        }
    )
    worker.run_once()
    assert ran == [1]


def test_duties_are_discovered_and_listed():
    assert "prune_finished_jobs" in registered_duties()


@pytest.mark.slow
def test_sigkill_mid_job_then_restart_stores_the_message_exactly_once(tmp_path):
    hold = tmp_path / "hold"
    hold.touch()
    result = jobs.ingest_after_hold.enqueue("<kill-test@example.com>", str(hold))
    env = dict(database_env(), WORKER_STALE_AFTER_SECONDS="2")

    first = manage("run_worker", env=env)
    try:
        wait_for(
            lambda: DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.RUNNING,
            what="the first worker to claim the job",
        )
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.RUNNING  # orphaned
    hold.unlink()

    second = manage("run_worker", env=env)
    try:
        wait_for(
            lambda: DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.SUCCESSFUL,
            timeout=30,
            what="the second worker to requeue and finish the job",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(10)
    assert Message.objects.filter(external_id="<kill-test@example.com>").count() == 1
    assert second.returncode == 0  # SIGTERM is a clean stop
