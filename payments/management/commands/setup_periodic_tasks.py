"""`manage.py setup_periodic_tasks`: create the reconciler's beat schedule if it is missing. Idempotent.

get_or_create by name (like migration 0002), so an admin's later edits (interval, thresholds,
disabled) survive every deploy that runs this command.
"""

import json

from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from payments.schedules import (
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


def reconcile_periodic_task_ensure():
    """The reconciler's PeriodicTask, created with the payments/schedules.py defaults if missing."""
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=RECONCILE_INTERVAL_SECONDS, period=IntervalSchedule.SECONDS
    )
    return PeriodicTask.objects.get_or_create(
        name=RECONCILE_TASK_NAME,
        defaults={
            "task": RECONCILE_TASK,
            "interval": interval,
            "kwargs": json.dumps(RECONCILE_KWARGS),
            "queue": RECONCILE_QUEUE,
            # A run beat could not deliver within one interval is dropped: the next one covers it.
            "expire_seconds": RECONCILE_INTERVAL_SECONDS,
            "description": (
                "Re-dispatch orders stuck in pending or processing (see payments.services.orders_reconcile)."
            ),
        },
    )


def settlement_periodic_task_ensure():
    """The settlement tracker's PeriodicTask, created with the payments/schedules.py defaults if missing."""
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=SETTLEMENT_INTERVAL_SECONDS, period=IntervalSchedule.SECONDS
    )
    return PeriodicTask.objects.get_or_create(
        name=SETTLEMENT_TASK_NAME,
        defaults={
            "task": SETTLEMENT_TASK,
            "interval": interval,
            "kwargs": json.dumps(SETTLEMENT_KWARGS),
            "queue": SETTLEMENT_QUEUE,
            "expire_seconds": SETTLEMENT_INTERVAL_SECONDS,
            "description": (
                "Record settled / settlement_declined sales of paid orders (payments.services.settlement)."
            ),
        },
    )


class Command(BaseCommand):
    help = "Create the payments periodic tasks (django-celery-beat) that are missing; never changes existing ones."

    def handle(self, *args, **options):
        for ensure in (reconcile_periodic_task_ensure, settlement_periodic_task_ensure):
            task, created = ensure()
            state = "created" if created else "exists, left as it is"
            self.stdout.write(f"{task.name}: {state} (every {task.interval}, enabled={task.enabled})")
