"""Create the settlement tracker's django-celery-beat schedule once; admins own it afterwards.

get_or_create, like 0002, so a later deploy never reverts an admin's edits. The literals are
frozen here on purpose (a migration must not change with the code); a test checks them equal to
payments/schedules.py.
"""

import json

from django.db import migrations

TASK_NAME = "payments: track settlement"
INTERVAL_SECONDS = 300
KWARGS = {"limit": 1000, "batch_size": 100}


def create_settlement_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=INTERVAL_SECONDS, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "payments.tasks.track_settlement_task",
            "interval": every,
            "kwargs": json.dumps(KWARGS),
            "queue": "maintenance",
            "expire_seconds": INTERVAL_SECONDS,
            "description": "Record settled / settlement_declined sales of paid orders (payments.services.settlement).",
        },
    )


def delete_settlement_task(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0010_after_refunds_webhooks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_settlement_task, delete_settlement_task)]
