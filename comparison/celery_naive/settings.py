"""The naive Celery port: the post's handler as a task with the design card's delivery settings.

acks_late, autoretry of transient gateway errors with backoff, a `payments` queue and the sweeper
as a django-celery-beat periodic task; none of the product's claim, lease, api_request_key or
search-before-resale. Everything else is Celery's default (visibility timeout 1 h, prefetch 4,
no task_reject_on_worker_lost).
"""

import os

from comparison.settings_common import *  # noqa: F403
from comparison.settings_common import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django_celery_beat", "comparison.celery_naive"]
ROOT_URLCONF = "comparison.celery_naive.urls"
WSGI_APPLICATION = "comparison.celery_naive.wsgi.application"
TIME_ZONE = "UTC"

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_TASK_ROUTES = {
    "comparison.celery_naive.tasks.braintree_process_task": {"queue": "payments"},
    "comparison.celery_naive.tasks.sweep_orders_task": {"queue": "maintenance"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# The sweeper's cadence (its migration creates the periodic task with it) and the retry policy.
SWEEP_INTERVAL_SECONDS = int(os.environ.get("CMP_SWEEP_INTERVAL_SECONDS", "300"))
RETRY_BACKOFF = int(os.environ.get("PAYMENTS_RETRY_BACKOFF", "2"))
RETRY_BACKOFF_MAX = int(os.environ.get("PAYMENTS_RETRY_BACKOFF_MAX", "60"))
MAX_RETRIES = int(os.environ.get("PAYMENTS_MAX_RETRIES", "6"))
