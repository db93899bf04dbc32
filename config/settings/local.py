"""Development settings: `make run`."""

from .base import *  # noqa: F403
from .base import DATABASES, env

DEBUG = True
SECRET_KEY = env("DJANGO_SECRET_KEY", "local-development-only-not-a-secret")
BRAINTREE_MERCHANT_ID = env("BRAINTREE_MERCHANT_ID", "sim_merchant")
BRAINTREE_PUBLIC_KEY = env("BRAINTREE_PUBLIC_KEY", "sim_public_key")
BRAINTREE_PRIVATE_KEY = env("BRAINTREE_PRIVATE_KEY", "sim_private_key")

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run` puts web, two workers and beat on one SQLite file. Writers wait for the lock
    # (timeout) instead of failing at once; IMMEDIATE takes the write lock at BEGIN so a
    # read-then-write transaction cannot deadlock against another writer; WAL lets readers run
    # beside the writer. https://docs.djangoproject.com/en/5.2/ref/databases/#database-is-locked-errors
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL",
    }
