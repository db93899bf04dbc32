"""The reconcile schedule's defaults: migration 0002's frozen literals match payments/core/schedules.py."""

import importlib
import json
from unittest import mock

from payments.core import schedules

migration = importlib.import_module("payments.migrations.0002_reconcile_periodic_task")


def test_migration_constants_equal_the_schedule_defaults():
    assert migration.TASK_NAME == schedules.RECONCILE_TASK_NAME
    assert migration.INTERVAL_SECONDS == schedules.RECONCILE_INTERVAL_SECONDS
    assert migration.KWARGS == schedules.RECONCILE_KWARGS


def test_the_periodic_task_the_migration_creates_has_the_schedule_defaults():
    # given: historical models stubbed, so the migration's own code shows what it would create
    models = {"IntervalSchedule": mock.Mock(), "PeriodicTask": mock.Mock()}
    models["IntervalSchedule"].objects.get_or_create.return_value = ("interval", True)
    apps = mock.Mock(get_model=lambda app, name: models[name])
    # when
    migration.create_reconcile_task(apps, None)
    # then
    models["IntervalSchedule"].objects.get_or_create.assert_called_once_with(
        every=schedules.RECONCILE_INTERVAL_SECONDS, period="seconds"
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
    assert defaults["expire_seconds"] == schedules.RECONCILE_INTERVAL_SECONDS


def test_the_reconcile_task_signature_defaults_are_the_schedule_defaults():
    # given
    from payments.tasks import reconcile_orders_task

    # when
    signature = reconcile_orders_task.run.__defaults__
    # then
    assert signature == tuple(schedules.RECONCILE_KWARGS.values())
