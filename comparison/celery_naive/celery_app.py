"""`celery -A comparison.celery_naive.celery_app worker -Q payments`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comparison.celery_naive.settings")

app = Celery("celery_naive")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
