"""Settings shared by every environment. Values come from the environment (see .env.example)."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name, default=None):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    value = os.environ.get(name)
    try:
        return int(value) if value not in (None, "") else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


SECRET_KEY = env("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in env("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "payments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite is only the zero-setup default of `make run`; tests and production use PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Reject oversized request bodies before DRF parses them (the API answers 413).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("API_MAX_BODY_BYTES", 16 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "payments.exceptions.api_exception_handler",
    # Money is a string on the wire; never let a float round-trip through JSON.
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Payments API",
    "DESCRIPTION": "Submit orders carrying a Braintree payment nonce; workers charge them in the background.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Serve Swagger UI's assets from the sidecar package, so /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Payments -----------------------------------------------------------------------------------

PAYMENTS_MAX_AMOUNT = env("PAYMENTS_MAX_AMOUNT", "10000.00")
PAYMENTS_CURRENCIES = [c.strip() for c in env("PAYMENTS_CURRENCIES", "USD,EUR,GBP").split(",") if c.strip()]
# A claimed order whose worker has not reported back within the lease may be claimed again
# (after searching the gateway first). It must exceed the task hard time limit.
PAYMENTS_CLAIM_LEASE_SECONDS = env_int("PAYMENTS_CLAIM_LEASE_SECONDS", 120)
# Claims of one order before it is parked in needs_review: stops a poison order (e.g. one whose
# worker is OOM-killed every time) from looping forever under task_reject_on_worker_lost.
PAYMENTS_MAX_CLAIMS = env_int("PAYMENTS_MAX_CLAIMS", 8)

# Which payments.gateways backend the services call: "braintree" (the SDK, against Braintree or
# braintree_sim) or "fake" (in-process sandbox rules, for service tests without any process).
PAYMENTS_GATEWAY = env("PAYMENTS_GATEWAY", "braintree")
BRAINTREE_ENVIRONMENT = env("BRAINTREE_ENVIRONMENT", "simulator")
BRAINTREE_MERCHANT_ID = env("BRAINTREE_MERCHANT_ID", "")
BRAINTREE_PUBLIC_KEY = env("BRAINTREE_PUBLIC_KEY", "")
BRAINTREE_PRIVATE_KEY = env("BRAINTREE_PRIVATE_KEY", "")
BRAINTREE_SIMULATOR_URL = env("BRAINTREE_SIMULATOR_URL", "http://127.0.0.1:8600")
# Must stay well below CELERY_TASK_SOFT_TIME_LIMIT so a hung gateway surfaces as a retryable
# timeout, not as a killed task.
BRAINTREE_TIMEOUT_SECONDS = env_int("BRAINTREE_TIMEOUT_SECONDS", 10)

# --- Celery (https://docs.celeryq.dev/en/stable/userguide/configuration.html) -------------------

CELERY_BROKER_URL = env("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
# Results are never read: the order row is the record of truth.
CELERY_TASK_IGNORE_RESULT = True

CELERY_TASK_DEFAULT_QUEUE = "default"
# Routing lives here, not in @task(queue=...): an unrouted payment task would sit in a queue that
# no payments worker consumes.
CELERY_TASK_ROUTES = {
    "payments.tasks.charge_order_task": {"queue": "payments"},
    "payments.tasks.verify_order_task": {"queue": "payments"},
    "payments.tasks.reconcile_orders_task": {"queue": "maintenance"},
}

# At-least-once delivery: ack after the task body returns, and requeue when the pool child dies
# mid-task (SIGKILL, OOM). Duplicates are made harmless by the order claim, not by the broker.
# https://docs.celeryq.dev/en/stable/userguide/tasks.html#Task.acks_late
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message per pool process: nothing waits in worker memory while the visibility clock runs.
# https://docs.celeryq.dev/en/stable/userguide/optimizing.html#prefetch-limits
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 45)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 60)

# Retry policy of transient gateway errors (payments/tasks.py): exponential backoff with full
# jitter, capped, then the order goes to needs_review.
PAYMENTS_RETRY_BACKOFF = env_int("PAYMENTS_RETRY_BACKOFF", 2)
PAYMENTS_RETRY_BACKOFF_MAX = env_int("PAYMENTS_RETRY_BACKOFF_MAX", 60)
PAYMENTS_MAX_RETRIES = env_int("PAYMENTS_MAX_RETRIES", 6)
# Full jitter spreads a burst of retries after an outage; switched off only where exact delays
# must be observable (the retry-timing integration test, or when debugging an incident).
PAYMENTS_RETRY_JITTER = env_bool("PAYMENTS_RETRY_JITTER", True)

# Redis has no real acks: a message held longer than this since it was fetched is redelivered.
# It must exceed the longest retry countdown plus the task time limit, or retries run twice.
# Set in every place kombu reads it; the shortest value on a broker wins.
# https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # Bounded socket waits so a dead broker fails a publish fast instead of hanging a request.
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
    "max_retries": 2,
}
# A publish from the API must never hold the request hostage: give up after ~0.5 s; the
# reconciler dispatches what was not published.
# https://docs.celeryq.dev/en/stable/userguide/calling.html#message-sending-retry
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep reconnecting through a long broker outage instead of exiting after 100 attempts.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# On a lost broker connection, stop running acks_late tasks: their message is redelivered anyway.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Warm shutdown (deploys): let in-flight sales finish, then restore unacked messages.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = float(env_int("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", 20))
CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE = True
CELERY_WORKER_MAX_TASKS_PER_CHILD = 1000
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# One beat, schedules in the database, editable in admin without a restart.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"braintree": {"level": "WARNING"}},
}
