"""Create the reconciler's django-celery-beat schedule once; admins own it afterwards.

get_or_create (not update_or_create) so that a later deploy never reverts what an admin
changed: the interval, the thresholds in kwargs, or disabling it.
"""

import json

from django.db import migrations

TASK_NAME = "payments: reconcile stuck orders"
INTERVAL_SECONDS = 60
KWARGS = {
    "pending_after_seconds": 60,
    "processing_after_seconds": 60,
    "limit": 500,
    "review_window_seconds": 3600,
}


def create_reconcile_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=INTERVAL_SECONDS, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "payments.tasks.reconcile_orders_task",
            "interval": every_minute,
            "kwargs": json.dumps(KWARGS),
            "queue": "maintenance",
            # A run beat could not deliver within one interval is dropped: the next one covers it.
            "expire_seconds": INTERVAL_SECONDS,
            "description": "Re-dispatch orders stuck in pending or processing (see payments.services.orders_reconcile).",
        },
    )


def delete_reconcile_task(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_reconcile_task, delete_reconcile_task)]
