"""`manage.py setup_periodic_tasks` on the real database (no process started)."""

import json

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from payments.core import schedules

pytestmark = pytest.mark.django_db


def test_setup_creates_the_reconcile_task_with_the_schedule_defaults():
    # given: a database whose schedule was deleted
    PeriodicTask.objects.filter(name=schedules.RECONCILE_TASK_NAME).delete()
    # when
    call_command("setup_periodic_tasks")
    # then
    task = PeriodicTask.objects.get(name=schedules.RECONCILE_TASK_NAME)
    assert (task.task, task.queue, task.expire_seconds) == (
        schedules.RECONCILE_TASK,
        schedules.RECONCILE_QUEUE,
        schedules.RECONCILE_INTERVAL_SECONDS,
    )
    assert (task.interval.every, task.interval.period) == (schedules.RECONCILE_INTERVAL_SECONDS, "seconds")
    assert json.loads(task.kwargs) == schedules.RECONCILE_KWARGS


def test_setup_run_again_keeps_what_an_admin_changed(capsys):
    # given: an admin disabled the task and widened a threshold
    call_command("setup_periodic_tasks")
    task = PeriodicTask.objects.get(name=schedules.RECONCILE_TASK_NAME)
    task.enabled = False
    task.kwargs = json.dumps({**schedules.RECONCILE_KWARGS, "limit": 50})
    task.save()
    # when
    call_command("setup_periodic_tasks")
    # then
    task.refresh_from_db()
    assert task.enabled is False
    assert json.loads(task.kwargs)["limit"] == 50
    assert PeriodicTask.objects.filter(name=schedules.RECONCILE_TASK_NAME).count() == 1
    assert "left as it is" in capsys.readouterr().out


def test_setup_creates_the_settlement_tracker_task_with_the_schedule_defaults():
    # given
    PeriodicTask.objects.filter(name=schedules.SETTLEMENT_TASK_NAME).delete()
    # when
    call_command("setup_periodic_tasks")
    # then
    task = PeriodicTask.objects.get(name=schedules.SETTLEMENT_TASK_NAME)
    assert (task.task, task.queue, task.interval.every) == (
        schedules.SETTLEMENT_TASK,
        schedules.SETTLEMENT_QUEUE,
        schedules.SETTLEMENT_INTERVAL_SECONDS,
    )
    assert json.loads(task.kwargs) == schedules.SETTLEMENT_KWARGS


def test_the_migration_created_the_settlement_tracker_task():
    assert PeriodicTask.objects.filter(name=schedules.SETTLEMENT_TASK_NAME, task=schedules.SETTLEMENT_TASK).exists()
