"""Beat's scheduler keeps going when its database cannot be reached (payments/core/beat.py)."""

from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django_celery_beat import schedulers

from celery_app import app as celery_app
from payments.core.beat import DatabaseScheduler
from payments.management.commands.setup_periodic_tasks import reconcile_periodic_task_ensure

# Committed rows and autocommit, as in beat: its scheduler closes stale connections around reads.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def reconcile_schedule():
    # A transactional test elsewhere may have flushed the migration's row.
    return reconcile_periodic_task_ensure()[0]

REFUSED = OperationalError("connection failed: database is not currently accepting connections")


def database_down():
    return mock.patch.object(schedulers.DatabaseScheduler, "all_as_schedule", side_effect=REFUSED)


def test_a_start_during_an_outage_reads_the_schedule_again_on_the_next_tick():
    # given beat starting while the database refuses connections
    scheduler = DatabaseScheduler(app=celery_app, lazy=True)

    # when it reads its schedule
    with database_down():
        schedule = scheduler.schedule

    # then it does not exit: nothing is due yet, and the next tick reads again
    assert schedule == {}
    assert scheduler._initial_read is True
    read_again = scheduler.schedule
    assert "payments: reconcile stuck orders" in read_again


def test_the_five_minute_full_read_during_an_outage_keeps_the_last_schedule():
    # given beat running with its schedule read, at the moment of its forced full read
    scheduler = DatabaseScheduler(app=celery_app, lazy=True)
    known = dict(scheduler.schedule)
    assert "payments: reconcile stuck orders" in known
    scheduler._last_full_sync = datetime.now() - timedelta(seconds=schedulers.SCHEDULE_SYNC_MAX_INTERVAL + 1)

    # when the database refuses the read
    with database_down():
        schedule = scheduler.schedule

    # then beat keeps sending what it knows, and reads again on the next tick
    assert schedule.keys() == known.keys()
    assert (datetime.now() - scheduler._last_full_sync).total_seconds() >= schedulers.SCHEDULE_SYNC_MAX_INTERVAL
