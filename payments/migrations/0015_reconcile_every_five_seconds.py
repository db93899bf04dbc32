"""The reconciler runs every 5 s instead of every 60 s, unless an admin changed its schedule.

A claim whose worker died now lapses within seconds (its holder renews a short lease,
payments/core/leases.py), and on Redis the reconciler is what re-sends such an order: its interval
bounds the order's wait (docs/decisions/0007-claim-lease-heartbeat.md). Only the row 0002 created,
still on its interval of 60 s with an expiry of 60 s, is moved: a schedule an admin edited is left
as it is. The literals are frozen here on purpose; a test checks them equal to
payments/core/schedules.py.
"""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "payments: reconcile stuck orders"
PREVIOUS_INTERVAL_SECONDS = 60
INTERVAL_SECONDS = 5


def _move(apps, frm, to):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    task = PeriodicTask.objects.filter(
        name=TASK_NAME, interval__every=frm, interval__period="seconds", expire_seconds=frm
    ).first()
    if task is None:
        return
    task.interval, _ = IntervalSchedule.objects.get_or_create(every=to, period="seconds")
    task.expire_seconds = to
    task.save()
    # Running beats read the change at once: django-celery-beat's change marker, which its
    # signals would set on the real model (historical models send none).
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def every_five_seconds(apps, schema_editor):
    _move(apps, PREVIOUS_INTERVAL_SECONDS, INTERVAL_SECONDS)


def every_minute(apps, schema_editor):
    _move(apps, INTERVAL_SECONDS, PREVIOUS_INTERVAL_SECONDS)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0014_security_hash_existing_tokens"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(every_five_seconds, every_minute)]
