"""The Celery application: `celery -A celery_app worker -Q payments`."""

import os

from celery import Celery
from celery.signals import worker_ready

# A process started without DJANGO_SETTINGS_MODULE is a production process: production settings
# refuse to start on development fallbacks instead of silently running on them (the cookiecutter
# habit; manage.py alone defaults to local). `make run` and the harnesses set it explicitly.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("payments_service")
# Every Celery setting lives in Django settings with a CELERY_ prefix (config/settings/base.py).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["consumer"].add("payments.ops.liveness:WorkerLiveness")  # heartbeat for liveness probes: deploy/README.md
# Each worker's own /metrics on PAYMENTS_WORKER_METRICS_PORT: docs/how-to/metrics-and-alerts.md
app.steps["worker"].add("payments.ops.worker_metrics:WorkerMetrics")


@worker_ready.connect
def _declare_rabbitmq_dead_letter_queue(sender, **kwargs):
    # The dead-letter queue is consumed by no worker, so no worker would declare it: each worker
    # declares it once it is ready (payments/core/broker.py). A no-op on Redis.
    from payments.core.broker import declare_dead_letter_queue

    declare_dead_letter_queue(sender.app)
