"""The periodic task's "Last run" in the admin follows a running beat (CELERY_BEAT_SYNC_EVERY=1)."""

import pytest
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule

from devtools.polling import wait_until
from tests.core.test_integration_beat_admin import admin_client, beat_stack, reconcile_schedule, reconcile_task, sends

__all__ = ["admin_client", "beat_stack", "reconcile_schedule"]

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def every_two_seconds(reconcile_schedule):
    """The reconciler every 2 s, set before beat starts."""
    interval, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    reconcile_schedule.interval = interval
    reconcile_schedule.save()
    return reconcile_schedule


def test_last_run_and_run_count_are_written_while_beat_runs(every_two_seconds, beat_stack, admin_client):
    # given beat running the reconciler every 2 s, on a task that had never run
    assert every_two_seconds.last_run_at is None and every_two_seconds.total_run_count == 0
    # when it has sent the task twice (the default sync would wait 3 minutes to write it)
    wait_until(lambda: sends(beat_stack) >= 2, timeout=30, desc="beat sent the reconciler twice")
    # then the row says so while beat is still up, and the admin shows a time, not "-"
    wait_until(lambda: (reconcile_task().total_run_count or 0) >= 2, timeout=10, desc="run count written")
    task = reconcile_task()
    assert task.last_run_at is not None
    page = admin_client.get(reverse("admin:django_celery_beat_periodictask_changelist")).content.decode()
    assert task.name in page
