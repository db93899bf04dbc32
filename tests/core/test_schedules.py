"""The reconcile schedule's defaults: migrations 0002 and 0015's frozen literals match payments/core/schedules.py."""

import importlib
import json
from unittest import mock

import pytest
from django.apps import apps as django_apps
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from payments.core import schedules

migration = importlib.import_module("payments.migrations.0002_reconcile_periodic_task")
every_five_seconds = importlib.import_module("payments.migrations.0015_reconcile_every_five_seconds")


def test_migration_constants_equal_the_schedule_defaults():
    assert migration.TASK_NAME == every_five_seconds.TASK_NAME == schedules.RECONCILE_TASK_NAME
    assert migration.KWARGS == schedules.RECONCILE_KWARGS
    # 0002 created the row every minute; 0015 moves it to the current interval
    assert every_five_seconds.PREVIOUS_INTERVAL_SECONDS == migration.INTERVAL_SECONDS
    assert every_five_seconds.INTERVAL_SECONDS == schedules.RECONCILE_INTERVAL_SECONDS


def test_the_periodic_task_the_migration_creates_has_the_schedule_defaults():
    # given: historical models stubbed, so the migration's own code shows what it would create
    models = {"IntervalSchedule": mock.Mock(), "PeriodicTask": mock.Mock()}
    models["IntervalSchedule"].objects.get_or_create.return_value = ("interval", True)
    apps = mock.Mock(get_model=lambda app, name: models[name])
    # when
    migration.create_reconcile_task(apps, None)
    # then
    models["IntervalSchedule"].objects.get_or_create.assert_called_once_with(
        every=migration.INTERVAL_SECONDS, period="seconds"
    )
    [call] = models["PeriodicTask"].objects.get_or_create.call_args_list
    defaults = call.kwargs["defaults"]
    assert call.kwargs["name"] == schedules.RECONCILE_TASK_NAME
    assert (defaults["task"], defaults["queue"], defaults["interval"]) == (
        schedules.RECONCILE_TASK,
        schedules.RECONCILE_QUEUE,
        "interval",
    )
    assert json.loads(defaults["kwargs"]) == schedules.RECONCILE_KWARGS
    assert defaults["expire_seconds"] == migration.INTERVAL_SECONDS


def reconcile_row():
    row = PeriodicTask.objects.select_related("interval").get(name=schedules.RECONCILE_TASK_NAME)
    return row.interval.every, row.interval.period, row.expire_seconds


@pytest.mark.django_db
def test_0015_moves_the_schedule_0002_created_to_the_current_interval_and_back():
    # given the row as 0002 created it
    PeriodicTask.objects.filter(name=schedules.RECONCILE_TASK_NAME).delete()
    migration.create_reconcile_task(django_apps, None)

    # when
    every_five_seconds.every_five_seconds(django_apps, None)

    # then
    assert reconcile_row() == (schedules.RECONCILE_INTERVAL_SECONDS, "seconds", schedules.RECONCILE_INTERVAL_SECONDS)

    # and migrating back restores 0002's
    every_five_seconds.every_minute(django_apps, None)
    assert reconcile_row() == (migration.INTERVAL_SECONDS, "seconds", migration.INTERVAL_SECONDS)


@pytest.mark.django_db
def test_0015_leaves_a_schedule_an_admin_edited_alone():
    # given an admin moved the reconciler to every 30 s
    PeriodicTask.objects.filter(name=schedules.RECONCILE_TASK_NAME).delete()
    migration.create_reconcile_task(django_apps, None)
    every_30, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    PeriodicTask.objects.filter(name=schedules.RECONCILE_TASK_NAME).update(interval=every_30)

    # when
    every_five_seconds.every_five_seconds(django_apps, None)

    # then
    assert reconcile_row() == (30, "seconds", migration.INTERVAL_SECONDS)


def test_the_reconcile_task_signature_defaults_are_the_schedule_defaults():
    # given
    from payments.tasks import reconcile_orders_task

    # when
    signature = reconcile_orders_task.run.__defaults__
    # then
    assert signature == tuple(schedules.RECONCILE_KWARGS.values())
