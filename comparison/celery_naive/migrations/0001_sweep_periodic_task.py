"""The sweeper's django-celery-beat schedule, at SWEEP_INTERVAL_SECONDS."""

from django.conf import settings
from django.db import migrations

TASK_NAME = "celery_naive: sweep unfinished orders"


def create_sweep_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=settings.SWEEP_INTERVAL_SECONDS, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "comparison.celery_naive.tasks.sweep_orders_task", "interval": every, "queue": "maintenance"},
    )


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_sweep_task, migrations.RunPython.noop)]
