"""`manage.py setup_periodic_tasks`: create the reconciler's beat schedule if it is missing. Idempotent.

get_or_create by name (like migration 0002), so an admin's later edits (interval, thresholds,
disabled) survive every deploy that runs this command.
"""

import json

from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from payments.core.schedules import (
    RECONCILE_INTERVAL_SECONDS,
    RECONCILE_KWARGS,
    RECONCILE_QUEUE,
    RECONCILE_TASK,
    RECONCILE_TASK_NAME,
    SETTLEMENT_INTERVAL_SECONDS,
    SETTLEMENT_KWARGS,
    SETTLEMENT_QUEUE,
    SETTLEMENT_TASK,
    SETTLEMENT_TASK_NAME,
)


def _periodic_task_ensure(*, name, task, every, kwargs, queue, description):
    """A PeriodicTask by name, created with these defaults if missing; an existing one is left alone."""
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.get_or_create(
        name=name,
        defaults={
            "task": task,
            "interval": interval,
            "kwargs": json.dumps(kwargs),
            "queue": queue,
            # A run beat could not deliver within one interval is dropped: the next one covers it.
            "expire_seconds": every,
            "description": description,
        },
    )


def reconcile_periodic_task_ensure():
    """The reconciler's PeriodicTask, created with the payments/core/schedules.py defaults if missing."""
    return _periodic_task_ensure(
        name=RECONCILE_TASK_NAME,
        task=RECONCILE_TASK,
        every=RECONCILE_INTERVAL_SECONDS,
        kwargs=RECONCILE_KWARGS,
        queue=RECONCILE_QUEUE,
        description="Re-dispatch orders stuck in pending or processing (see payments.orders.services.orders_reconcile).",
    )


def settlement_periodic_task_ensure():
    """The settlement tracker's PeriodicTask, created with the payments/core/schedules.py defaults if missing."""
    return _periodic_task_ensure(
        name=SETTLEMENT_TASK_NAME,
        task=SETTLEMENT_TASK,
        every=SETTLEMENT_INTERVAL_SECONDS,
        kwargs=SETTLEMENT_KWARGS,
        queue=SETTLEMENT_QUEUE,
        description="Record settled / settlement_declined sales of paid orders (payments.webhooks.settlement).",
    )


class Command(BaseCommand):
    help = "Create the payments periodic tasks (django-celery-beat) that are missing; never changes existing ones."

    def handle(self, *args, **options):
        for ensure in (reconcile_periodic_task_ensure, settlement_periodic_task_ensure):
            task, created = ensure()
            state = "created" if created else "exists, left as it is"
            self.stdout.write(f"{task.name}: {state} (every {task.interval}, enabled={task.enabled})")
