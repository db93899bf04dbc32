"""Test settings: real PostgreSQL and Redis on their own database name and Redis db number."""

from config.env import env

from .base import *  # noqa: F403
from .base import DATABASE_CONNECT_TIMEOUT_SECONDS, SIMULATOR_CREDENTIALS

SECRET_KEY = "test-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env.str("TEST_DB_NAME", default="payments_dev"),
        "USER": env.str("PGUSER", default="postgres"),
        "HOST": env.str("PGHOST", default="127.0.0.1"),
        "PORT": env.str("PGPORT", default="5432"),
        # pytest-django creates and drops "test_<NAME>" itself; nothing else is touched.
        "TEST": {"NAME": env.str("TEST_DB_NAME_TEST", default="test_payments_suite")},
        # Fresh connections unless asked (the suite's own process); the benchmarks and the chaos
        # harness pass production's values (devtools.settings.PRODUCTION_CONNECTIONS).
        "CONN_MAX_AGE": env.int("DATABASE_CONN_MAX_AGE", default=0),
        "CONN_HEALTH_CHECKS": env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True),
        "OPTIONS": {"connect_timeout": DATABASE_CONNECT_TIMEOUT_SECONDS},
    }
}
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/11")
BRAINTREE_MERCHANT_ID = env.str("BRAINTREE_MERCHANT_ID", default=SIMULATOR_CREDENTIALS["BRAINTREE_MERCHANT_ID"])
BRAINTREE_PUBLIC_KEY = env.str("BRAINTREE_PUBLIC_KEY", default=SIMULATOR_CREDENTIALS["BRAINTREE_PUBLIC_KEY"])
BRAINTREE_PRIVATE_KEY = env.str("BRAINTREE_PRIVATE_KEY", default=SIMULATOR_CREDENTIALS["BRAINTREE_PRIVATE_KEY"])
BRAINTREE_TIMEOUT_SECONDS = env.int("BRAINTREE_TIMEOUT_SECONDS", default=3)
# The suites and the benchmarks submit bursts from one user over real gunicorn processes, far past
# any sane production rate: no throttling unless a variable (or a test) asks for it.
API_ORDER_CREATE_RATE = env.str("API_ORDER_CREATE_RATE", default=None)
API_REFUND_CREATE_RATE = env.str("API_REFUND_CREATE_RATE", default=None)
API_READ_RATE = env.str("API_READ_RATE", default=None)
API_ANON_RATE = env.str("API_ANON_RATE", default=None)
API_HEALTH_RATE = env.str("API_HEALTH_RATE", default=None)
# A test that stops the broker expects the next /healthz to say so.
HEALTHZ_CACHE_SECONDS = env.float("HEALTHZ_CACHE_SECONDS", default=0)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A test compares the dashboard and /metrics with the rows it just wrote: no cached counts.
PAYMENTS_OPS_COUNTS_CACHE_SECONDS = env.int("PAYMENTS_OPS_COUNTS_CACHE_SECONDS", default=0)
