"""The Celery application: `celery -A celery_app worker -Q payments`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("payments_service")
# Every Celery setting lives in Django settings with a CELERY_ prefix (config/settings/base.py).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["consumer"].add("payments.liveness:WorkerLiveness")  # heartbeat for liveness probes: deploy/README.md
