"""The settlement tracker's schedule: migration 0007's frozen literals match payments/core/schedules.py."""

import importlib
import json
from unittest import mock

from payments.core import schedules

migration = importlib.import_module("payments.migrations.0011_after_settlement_periodic_task")


def test_the_settlement_migration_constants_equal_the_schedule_defaults():
    assert migration.TASK_NAME == schedules.SETTLEMENT_TASK_NAME
    assert migration.INTERVAL_SECONDS == schedules.SETTLEMENT_INTERVAL_SECONDS
    assert migration.KWARGS == schedules.SETTLEMENT_KWARGS


def test_the_settlement_periodic_task_the_migration_creates_has_the_schedule_defaults():
    models = {"IntervalSchedule": mock.Mock(), "PeriodicTask": mock.Mock()}
    models["IntervalSchedule"].objects.get_or_create.return_value = ("interval", True)
    apps = mock.Mock(get_model=lambda app, name: models[name])
    migration.create_settlement_task(apps, None)
    [call] = models["PeriodicTask"].objects.get_or_create.call_args_list
    defaults = call.kwargs["defaults"]
    assert call.kwargs["name"] == schedules.SETTLEMENT_TASK_NAME
    assert (defaults["task"], defaults["queue"]) == (schedules.SETTLEMENT_TASK, schedules.SETTLEMENT_QUEUE)
    assert json.loads(defaults["kwargs"]) == schedules.SETTLEMENT_KWARGS
