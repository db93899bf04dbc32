"""Test settings: real PostgreSQL and Redis on their own database name and Redis db number."""

from .base import *  # noqa: F403
from .base import env, env_int

SECRET_KEY = "test-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env("TEST_DB_NAME", "payments_dev"),
        "USER": env("PGUSER", "postgres"),
        "HOST": env("PGHOST", "127.0.0.1"),
        "PORT": env("PGPORT", "5432"),
        # pytest-django creates and drops "test_<NAME>" itself; nothing else is touched.
        "TEST": {"NAME": env("TEST_DB_NAME_TEST", "test_payments_suite")},
    }
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "redis://127.0.0.1:6379/11")
BRAINTREE_MERCHANT_ID = env("BRAINTREE_MERCHANT_ID", "sim_merchant")
BRAINTREE_PUBLIC_KEY = env("BRAINTREE_PUBLIC_KEY", "sim_public_key")
BRAINTREE_PRIVATE_KEY = env("BRAINTREE_PRIVATE_KEY", "sim_private_key")
BRAINTREE_TIMEOUT_SECONDS = env_int("BRAINTREE_TIMEOUT_SECONDS", 3)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
