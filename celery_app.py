"""The Celery application: `celery -A celery_app worker -Q payments`."""

import os

from celery import Celery

# A process started without DJANGO_SETTINGS_MODULE is a production process: production settings
# refuse to start on development fallbacks instead of silently running on them (the cookiecutter
# habit; manage.py alone defaults to local). `make run` and the harnesses set it explicitly.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("payments_service")
# Every Celery setting lives in Django settings with a CELERY_ prefix (config/settings/base.py).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["consumer"].add("payments.liveness:WorkerLiveness")  # heartbeat for liveness probes: deploy/README.md
